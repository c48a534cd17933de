"""The site ``dualfilter serve --demo`` runs: a tiny ASGI app and the filters that visibly change it.

The app writes ``UNFILTERED`` into its HTML page, its JSON, its text file and
its 404 page. ``Replace`` turns that into ``FILTERED`` in 200 responses of
type HTML and JSON only, and ``Inject`` adds a banner to the HTML page; the
text file, the image and the 404 page go out as the app wrote them.

Its front page, ``/``, shows the HTML page side by side as the app wrote it
and as it arrives through the filters, with the source of the filters below.
"""

from __future__ import annotations

import html
import inspect
import json
import struct
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from .filter import Filter
from .filters.inject import Inject
from .filters.replace import Replace

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: The word the app writes and ``Replace`` changes.
MARK = "UNFILTERED"

BANNER = (
    '<div id="dualfilter-banner" style="position:fixed;left:0;right:0;bottom:0;padding:.7em 1em;'
    'background:#14532d;color:#fff;font:15px/1.4 system-ui,sans-serif">'
    "Filtered by <b>dualfilter</b>: the <code>inject</code> filter added this banner, and "
    "<code>replace</code> turned the app&#39;s &ldquo;UNFILTERED&rdquo; into &ldquo;FILTERED&rdquo;.</div>"
)

PAGE = f"""\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dualfilter demo</title>
<style>
body {{ font: 17px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto 6rem; padding: 0 1rem; }}
.status {{ font-size: 1.4rem; font-weight: bold; color: #14532d; }}
</style>
</head>
<body>
<h1><img src="/logo.png" alt="" width="32" height="32"> dualfilter demo</h1>
<p class="status">This page is {MARK}.</p>
<p>A small ASGI app serves this site; output filters change its responses on the way out.
Only 200 responses of the types a filter takes are changed:</p>
<ul>
<li><a href="/api/status.json">/api/status.json</a>: JSON, filtered by <code>replace</code></li>
<li><a href="/notes.txt">/notes.txt</a>: plain text, left alone</li>
<li><a href="/logo.png">/logo.png</a>: an image, left alone</li>
<li><a href="/missing">/missing</a>: a 404 page, left alone</li>
</ul>
<p><a href="/" target="_top">Back to the comparison</a></p>
</body>
</html>
"""

NOT_FOUND = f"""\
<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Not found</title></head>
<body><h1>Not found</h1><p>This 404 page is {MARK}: filters take 200 responses only.</p>
<p><a href="/">Back to the demo</a></p></body>
</html>
"""

NOTES = f"""\
This text file is {MARK}: the demo's filters take text/html and application/json only.
"""


def _png(width: int, height: int, pixel: Callable[[int, int], tuple[int, int, int]]) -> bytes:
    """An RGB PNG image whose pixel (x, y) has the colour ``pixel(x, y)``."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(width)) for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _logo_pixel(x: int, y: int) -> tuple[int, int, int]:
    """Two interlocking squares: one app, two hosts."""
    first = 4 <= x < 20 and 4 <= y < 20
    second = 12 <= x < 28 and 12 <= y < 28
    if first and second:
        return (255, 255, 255)
    if first:
        return (20, 83, 45)
    if second:
        return (34, 197, 94)
    return (240, 253, 244)


#: The demo's image, served as is.
LOGO = _png(32, 32, _logo_pixel)


def _status() -> bytes:
    document = {"status": MARK, "site": "dualfilter demo", "filters": ["replace", "inject"]}
    return json.dumps(document, indent=2).encode() + b"\n"


#: Where the app serves ``PAGE``.
PAGE_PATH = "/page.html"


def _out_of_reach(text: str) -> str:
    """``text`` for an HTML attribute or element with every letter written as a character
    reference: the front page goes through the filters too (the demo's and any added
    with ``--filter``), and none of them can match words it cannot read. Browsers
    decode the references, so what they show is ``text`` exactly."""
    return "".join(f"&#{ord(c)};" if c.isalpha() else html.escape(c, quote=True) for c in text)


def compare_page() -> str:
    """The front page: ``PAGE`` before and after the filters, side by side, and the filters' source."""
    before = _out_of_reach(PAGE)
    source = _out_of_reach(inspect.getsource(filters))
    return f"""\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>dualfilter demo: before and after</title>
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; margin: 1.5rem auto 5rem; padding: 0 1rem; max-width: 80rem; color: #1f2937; }}
h1 {{ font-size: 1.5rem; margin: 0 0 .25rem; }}
.panes {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin: 1rem 0; }}
.pane h2 {{ font-size: 1rem; margin: 0 0 .4rem; }}
iframe {{ width: 100%; height: 26rem; border: 1px solid #cbd5e1; border-radius: 6px; background: #fff; }}
pre {{ background: #0f172a; color: #e2e8f0; padding: 1rem; border-radius: 6px; overflow-x: auto; font-size: 14px; }}
</style>
</head>
<body>
<h1>dualfilter: one output filter, any Python web app</h1>
<p>The app below serves <a href="{PAGE_PATH}" target="_blank">{PAGE_PATH}</a>. Left, the page as the app wrote it;
right, the same request through the filters, as your browser gets it.</p>
<div class="panes">
<section class="pane"><h2>Before: what the app sends</h2>
<iframe id="before" title="before the filters" srcdoc="{before}"></iframe></section>
<section class="pane"><h2>After: what the client gets</h2>
<iframe id="after" title="after the filters" src="{PAGE_PATH}"></iframe></section>
</div>
<h2>The filters</h2>
<p>Two built-in filters, configured in <code>dualfilter/demo.py</code>; the first one filters first.
Wrapping any WSGI or ASGI app in them is <code>Inject(Replace(app, ...), html=...)</code>,
and a filter of your own is a <code>Filter</code> subclass with a <code>filter()</code> method.</p>
<pre><code>{source}</code></pre>
</body>
</html>
"""


#: path -> (status, Content-Type, body); ``/``, the comparison page, is built per request.
ROUTES: dict[str, tuple[int, str, bytes]] = {
    PAGE_PATH: (200, "text/html; charset=utf-8", PAGE.encode()),
    "/api/status.json": (200, "application/json", _status()),
    "/notes.txt": (200, "text/plain; charset=utf-8", NOTES.encode()),
    "/logo.png": (200, "image/png", LOGO),
}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """The demo site, a plain ASGI 3 app: GET and HEAD on ``/`` and the paths of ``ROUTES``, 404 elsewhere."""
    if scope["type"] == "lifespan":
        await receive()  # lifespan.startup
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["type"] != "http":
        return
    if scope["path"] == "/":
        status, content_type, body = 200, "text/html; charset=utf-8", compare_page().encode()
    else:
        status, content_type, body = ROUTES.get(scope["path"], (404, "text/html; charset=utf-8", NOT_FOUND.encode()))
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
    if scope["method"] not in ("GET", "HEAD"):
        status, body = 405, b"Method Not Allowed\n"
        headers = [(b"content-type", b"text/plain"), (b"content-length", b"19"), (b"allow", b"GET, HEAD")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def filters() -> list[tuple[str, Filter]]:
    """The demo's filters, ``(label, filter)``, innermost first: ``replace`` then ``inject``."""
    return [
        ("replace", Replace(pattern="UNFILTERED", repl="FILTERED", filter_content_types=("text/html", "application/json"))),
        ("inject", Inject(html=BANNER)),  # BANNER: the green bar at the foot of the page
    ]
