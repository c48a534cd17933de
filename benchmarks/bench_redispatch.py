"""What a redispatch costs: a 304 revalidation of a static file the filter does not filter.

A static server's 304 need not say its type (Starlette's StaticFiles and
whitenoise send none), so the filter cannot tell it from the 304 of a page it
would filter: on WSGI and ASGI it asks the app again for the full response,
sees the type, and lets the app's 304 stand. This script measures that cost
in-process (no network), per request, three variants side by side:

- ``bare``: the static app alone;
- ``filter``: behind a filter (the 304 is redispatched);
- ``skip-static``: behind the same filter with ``should_filter_request``
  returning False for ``/static/`` (the request goes to the app untouched).

Apps: whitenoise (WSGI) and Starlette's StaticFiles (ASGI) serving a 20 KB
stylesheet. Rounds interleave the variants; each round times ``--requests``
requests per variant; the table shows the median per-request time with the
min–max over rounds, and the ratio of medians against ``bare``.

    python benchmarks/bench_redispatch.py [--rounds N] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from whitenoise import WhiteNoise

from dualfilter import Filter

STYLE = b"".join(b"p.rule%d { color: #%06x }\n" % (n, n) for n in range(800))[: 20 * 1024]
PATH = "/static/style.css"


class Mark(Filter):
    """A filter of HTML pages: the stylesheet is never filtered."""

    def filter(self, environ, headers, data):
        return data.replace(b"</body>", b"<!-- filtered --></body>", 1)


class MarkPages(Mark):
    """:class:`Mark` with the static files excluded before the app is called."""

    def should_filter_request(self, environ):
        return not environ.get("PATH_INFO", "").startswith("/static/")


# -- WSGI --------------------------------------------------------------------------------------


def wsgi_apps(directory: Path, calls: list[int] | None = None) -> dict[str, Callable[..., Iterable[bytes]]]:
    """The three variants; with ``calls``, each call of the static app is counted there."""

    def not_found(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b""]

    def static() -> Any:
        app = WhiteNoise(not_found, root=str(directory), prefix="static/")
        if calls is None:
            return app

        def counted(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            calls.append(1)
            return app(environ, start_response)  # type: ignore[no-any-return]

        return counted

    return {"bare": static(), "filter": Mark.wsgi(static()), "skip-static": MarkPages.wsgi(static())}


def wsgi_etag(app: Callable[..., Iterable[bytes]]) -> str:
    status, headers = wsgi_request(app, None)
    assert status.startswith("200"), status
    return dict((k.lower(), v) for k, v in headers)["etag"]


def wsgi_request(app: Callable[..., Iterable[bytes]], etag: str | None) -> tuple[str, list[tuple[str, str]]]:
    environ: dict[str, Any] = {"PATH_INFO": PATH, "REQUEST_METHOD": "GET"}
    if etag is not None:
        environ["HTTP_IF_NONE_MATCH"] = etag
    setup_testing_defaults(environ)
    started: list[Any] = []
    result = app(environ, lambda status, headers, exc_info=None: started.append((status, headers)))
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return started[-1]


def time_wsgi(app: Callable[..., Iterable[bytes]], etag: str, requests: int) -> float:
    began = time.perf_counter()
    for _ in range(requests):
        wsgi_request(app, etag)
    return (time.perf_counter() - began) / requests


# -- ASGI --------------------------------------------------------------------------------------


def asgi_apps(directory: Path, calls: list[int] | None = None) -> dict[str, Any]:
    """The three variants; with ``calls``, each call of the static app is counted there."""

    def static() -> Any:
        app = Starlette(routes=[Mount("/static", StaticFiles(directory=directory))])
        if calls is None:
            return app

        async def counted(scope: Any, receive: Any, send: Any) -> None:
            calls.append(1)
            await app(scope, receive, send)

        return counted

    return {"bare": static(), "filter": Mark.asgi(static()), "skip-static": MarkPages.asgi(static())}


async def asgi_request(app: Any, etag: str | None) -> tuple[int, dict[bytes, bytes]]:
    headers = [(b"host", b"localhost")]
    if etag is not None:
        headers.append((b"if-none-match", etag.encode("latin-1")))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }
    start: dict[str, Any] = {}
    asked: list[bool] = []

    async def receive() -> dict[str, Any]:
        if asked:
            return {"type": "http.disconnect"}
        asked.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)

    await app(scope, receive, send)
    return start["status"], dict(start["headers"])


async def time_asgi(app: Any, etag: str, requests: int) -> float:
    began = time.perf_counter()
    for _ in range(requests):
        await asgi_request(app, etag)
    return (time.perf_counter() - began) / requests


# -- measuring ---------------------------------------------------------------------------------


def report(title: str, samples: dict[str, list[float]], calls: dict[str, int]) -> None:
    bare = statistics.median(samples["bare"])
    print(f"\n{title}")
    print(f"{'variant':<14} {'app calls':>9} {'median µs':>10} {'min–max µs':>18} {'vs bare':>8}")
    for name, times in samples.items():
        median = statistics.median(times)
        spread = f"{min(times) * 1e6:.1f}–{max(times) * 1e6:.1f}"
        print(f"{name:<14} {calls[name]:>9} {median * 1e6:>10.1f} {spread:>18} {median / bare:>7.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (each gives one sample per variant)")
    parser.add_argument("--requests", type=int, default=300, help="requests per variant per round")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "style.css").write_bytes(STYLE)
        os.utime(directory / "style.css", (1_700_000_000, 1_700_000_000))

        wsgi = wsgi_apps(directory)
        etag = wsgi_etag(wsgi["bare"])
        wsgi_calls: dict[str, int] = {}
        counted: list[int] = []
        for name, app in wsgi_apps(directory, counted).items():  # each answers with the app's 304
            counted.clear()
            assert wsgi_request(app, etag)[0].startswith("304"), name
            wsgi_calls[name] = len(counted)
        wsgi_samples: dict[str, list[float]] = {name: [] for name in wsgi}
        for _ in range(args.rounds):
            for name, app in wsgi.items():
                wsgi_samples[name].append(time_wsgi(app, etag, args.requests))

        asgi = asgi_apps(directory)

        asgi_calls: dict[str, int] = {}

        async def measure() -> dict[str, list[float]]:
            _, headers = await asgi_request(asgi["bare"], None)
            tag = headers[b"etag"].decode("latin-1")
            for name, app in asgi_apps(directory, counted).items():
                counted.clear()
                assert (await asgi_request(app, tag))[0] == 304, name
                asgi_calls[name] = len(counted)
            samples: dict[str, list[float]] = {name: [] for name in asgi}
            for _ in range(args.rounds):
                for name, app in asgi.items():
                    samples[name].append(await time_asgi(app, tag, args.requests))
            return samples

        asgi_samples = asyncio.run(measure())
    print("304 revalidation (If-None-Match of its own ETag) of a 20 KB stylesheet the filter does not filter")
    print(f"{args.rounds} interleaved rounds of {args.requests} requests per variant; Python {sys.version.split()[0]}")
    report("WSGI (whitenoise)", wsgi_samples, wsgi_calls)
    report("ASGI (Starlette StaticFiles)", asgi_samples, asgi_calls)


if __name__ == "__main__":
    main()
