"""The apps ``servers.py`` has real servers import: one body, one variant, chosen by environment variables.

``BENCH_BODY`` is ``html`` (20 KB of HTML, which every filter takes) or ``png``
(a 20 KB PNG image, which every filter passes through); ``BENCH_VARIANT`` is
``none`` (the bare app), ``hand`` (a hand-written minimal middleware doing the
same work), ``dualfilter``, or ``context`` (the same filter written the common
way: WebOb's ``wsgify`` under WSGI, Starlette's ``BaseHTTPMiddleware`` under
ASGI). ``wsgi_app`` and ``asgi_app`` are the app for each interface; the
filter is the in-process benchmarks' ``transform`` (a small edit before
``</body>``), so the middleware's own cost is what differs. With
``BENCH_APP_CPU`` set to a path prefix, each process also adds up the thread
CPU time its requests spend inside the app (``servers.py --in-app``).
"""

from __future__ import annotations

import os
import random
import struct
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_asgi import EditFilter, EditMiddleware, HandWrittenFilter  # noqa: E402
from bench_wsgi import hand_written, transform, webob_middleware  # noqa: E402

__all__ = ["BODIES", "EditFilter", "asgi_app", "transform", "wsgi_app"]

SIZE = 20 * 1024
FILTERED = "text/html"


def html(size: int) -> bytes:
    """An HTML page of exactly ``size`` bytes, ending in ``</body></html>``."""
    head, tail = b"<html><head><title>bench</title></head><body>\n", b"</body></html>\n"
    paragraph = b"<p>lorem ipsum dolor sit amet, consectetur adipiscing elit</p>\n"
    filling = paragraph * (size // len(paragraph) + 1)
    return head + filling[: size - len(head) - len(tail)] + tail


def png(size: int) -> bytes:
    """A valid PNG image of about ``size`` bytes (random RGB pixels, which do not compress)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    width = 80
    height = max(1, size // (width * 3 + 1))
    pixels = random.Random(0).randbytes(height * width * 3)
    rows = b"".join(b"\0" + pixels[y * width * 3 : (y + 1) * width * 3] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


BODIES: dict[str, tuple[str, bytes]] = {
    "html": ("text/html; charset=utf-8", html(SIZE)),
    "png": ("image/png", png(SIZE)),
}


def bare_wsgi(content_type: str, body: bytes) -> Any:
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", list(headers))
        return [body]

    return app


def bare_asgi(content_type: str, body: bytes) -> Any:
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": body})

    return app


def build(interface: str, body: str, variant: str) -> Any:
    """The app for ``interface`` (``wsgi`` or ``asgi``) serving ``body`` through ``variant``."""
    content_type, data = BODIES[body]
    if interface == "wsgi":
        app = bare_wsgi(content_type, data)
        wrappers = {
            "none": lambda app: app,
            "hand": lambda app: hand_written(app, (FILTERED,)),
            "dualfilter": lambda app: EditFilter.wsgi(app, filter_content_types=(FILTERED,)),
            "context": lambda app: webob_middleware(app, (FILTERED,)),
        }
    else:
        app = bare_asgi(content_type, data)
        wrappers = {
            "none": lambda app: app,
            "hand": lambda app: HandWrittenFilter(app, (FILTERED.encode(),)),
            "dualfilter": lambda app: EditFilter.asgi(app, filter_content_types=(FILTERED,)),
            "context": lambda app: EditMiddleware(app, (FILTERED.encode(),)),
        }
    return wrappers[variant](app)


class CpuRecord:
    """Thread CPU time spent inside the app, added up per process and written to
    ``<prefix>.<pid>`` (``requests nanoseconds``) every ``EVERY`` requests."""

    EVERY = 64

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.lock = threading.Lock()
        self.requests = 0
        self.nanoseconds = 0

    def add(self, nanoseconds: int) -> None:
        with self.lock:  # the server's threads add up, and write, one at a time
            self.requests += 1
            self.nanoseconds += nanoseconds
            if self.requests % self.EVERY == 0:
                path = f"{self.prefix}.{os.getpid()}"
                with open(path + ".tmp", "w") as file:
                    file.write(f"{self.requests} {self.nanoseconds}")
                os.replace(path + ".tmp", path)  # a reader never sees half a line


def recorded(interface: str, app: Any, record: CpuRecord) -> Any:
    """``app`` with the thread CPU time of each HTTP request's call (WSGI: until it
    returns its iterable; ASGI: until the response is sent) added to ``record``."""
    clock = time.thread_time_ns
    if interface == "wsgi":

        def wsgi(environ: dict[str, Any], start_response: Any) -> Any:
            started = clock()
            result = app(environ, start_response)
            record.add(clock() - started)
            return result

        return wsgi

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        started = clock()
        await app(scope, receive, send)
        record.add(clock() - started)

    return asgi


_BODY = os.environ.get("BENCH_BODY", "html")
_VARIANT = os.environ.get("BENCH_VARIANT", "none")
wsgi_app = build("wsgi", _BODY, _VARIANT)
asgi_app = build("asgi", _BODY, _VARIANT)
if os.environ.get("BENCH_APP_CPU"):  # servers.py --in-app: the apps' own CPU time, recorded
    _record = CpuRecord(os.environ["BENCH_APP_CPU"])
    wsgi_app = recorded("wsgi", wsgi_app, _record)
    asgi_app = recorded("asgi", asgi_app, _record)
