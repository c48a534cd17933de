"""Memory: a filtered-type response far larger than ``max_buffer_size`` is never held whole.

A 200 MB HTML page, generated lazily in 64 KiB chunks, goes through a filter
with a 1 MiB limit under WSGI and ASGI. With ``oversize='error'`` the client
gets a 502; with ``'pass'`` every byte, unfiltered. Python's allocations are
traced meanwhile (tracemalloc): the peak stays near the limit plus a few
chunks, whatever the size of the body. So does a gzip bomb that decodes to
200 MB.
"""

from __future__ import annotations

import gzip
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import pytest

from dualfilter.asgi import FilterMiddleware as ASGIMiddleware
from dualfilter.wsgi import FilterMiddleware as WSGIMiddleware
from tests.support.asgi_harness import make_scope
from tests.support.hardening_hosts import HTML, Redact

TOTAL = 200 * 1000 * 1000
CHUNK = 64 * 1024
COUNT = TOTAL // CHUNK + 1
LIMIT = 1024 * 1024
#: The limit, a few chunks in flight, and the interpreter's own small change.
BOUND = LIMIT + 8 * CHUNK


def chunk(index: int) -> bytes:
    """A fresh 64 KiB chunk of HTML, different for every index (made, not reused)."""
    line = b"<p>%09d</p>\n" % index
    return line * (CHUNK // len(line)) + b" " * (CHUNK % len(line))


def peak_of(run: Callable[[], Any]) -> tuple[Any, int]:
    """``run()``'s result and the peak of Python allocations made while it ran."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        result = run()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


class Counted:
    """What a client would count of the body: bytes and chunks, nothing kept."""

    def __init__(self) -> None:
        self.size = 0
        self.status = 0
        self.first = b""

    def add(self, data: bytes) -> None:
        if not self.first:
            self.first = data[:64]
        self.size += len(data)


@pytest.fixture(scope="module", autouse=True)
def warm_up():
    """Run each path once over the limit first, so what the first run imports is not measured."""
    small = LIMIT // CHUNK + 2
    for oversize in ("error", "pass"):
        stream_wsgi(oversize, BigPage(small))
        stream_asgi(oversize, big_asgi_page(small))


# -- WSGI --------------------------------------------------------------------------------------


class BigPage:
    """A WSGI app streaming the 200 MB page; records how far it was read and that it was closed."""

    def __init__(self, count: int = COUNT) -> None:
        self.count = count
        self.served = 0
        self.closed = False

    def __call__(self, environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        return self.body()

    def body(self) -> Iterator[bytes]:
        try:
            for index in range(self.count):
                self.served += 1
                yield chunk(index)
        finally:
            self.closed = True


def stream_wsgi(oversize: str, app: Any) -> Counted:
    counted = Counted()

    def start_response(status, headers, exc_info=None):
        counted.status = int(status.split()[0])
        return counted.add

    middleware = WSGIMiddleware(Redact(max_buffer_size=LIMIT, oversize=oversize), app)
    result = middleware({"REQUEST_METHOD": "GET", "PATH_INFO": "/big"}, start_response)
    try:
        for data in result:
            counted.add(data)
    finally:
        getattr(result, "close", lambda: None)()
    return counted


def test_wsgi_oversize_error_answers_502_within_the_memory_bound():
    app = BigPage()
    counted, peak = peak_of(lambda: stream_wsgi("error", app))
    assert counted.status == 502 and app.closed
    assert peak < BOUND, f"peak {peak} bytes"


def test_wsgi_oversize_error_stops_reading_the_app_soon_after_the_limit():
    app = BigPage()
    stream_wsgi("error", app)
    assert app.served <= LIMIT // CHUNK + 2


def test_wsgi_oversize_pass_sends_all_200_mb_unfiltered_within_the_memory_bound():
    app = BigPage()
    counted, peak = peak_of(lambda: stream_wsgi("pass", app))
    assert (counted.status, counted.size, counted.first) == (200, COUNT * CHUNK, chunk(0)[:64])
    assert peak < BOUND, f"peak {peak} bytes"


# -- ASGI --------------------------------------------------------------------------------------


def big_asgi_page(count: int = COUNT):
    """An ASGI app streaming the 200 MB page (or ``count`` chunks of it)."""

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", HTML.encode())]})
        for index in range(count):
            await send({"type": "http.response.body", "body": chunk(index), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


def stream_asgi(oversize: str, app: Any = None) -> Counted:
    counted = Counted()

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        if message["type"] == "http.response.start":
            counted.status = message["status"]
        elif message["type"] == "http.response.body":
            counted.add(message.get("body", b""))

    middleware = ASGIMiddleware(Redact(max_buffer_size=LIMIT, oversize=oversize), app or big_asgi_page())
    anyio.run(middleware, make_scope("/big"), receive, send)
    return counted


def test_asgi_oversize_error_answers_502_within_the_memory_bound():
    counted, peak = peak_of(lambda: stream_asgi("error"))
    assert counted.status == 502 and b"too large" in counted.first
    assert peak < BOUND, f"peak {peak} bytes"


def test_asgi_oversize_pass_sends_all_200_mb_unfiltered_within_the_memory_bound():
    counted, peak = peak_of(lambda: stream_asgi("pass"))
    assert (counted.status, counted.size, counted.first) == (200, COUNT * CHUNK, chunk(0)[:64])
    assert peak < BOUND, f"peak {peak} bytes"


# -- a compressed body that decodes to 200 MB ----------------------------------------------------


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """About 200 KB of gzip that decodes to 200 MB of HTML: 200 members of 1 MB each, back to back."""
    member = gzip.compress(b"<p>" + b" " * (1000 * 1000 - 7) + b"</p>", 9)
    return member * (TOTAL // (1000 * 1000))


GZIP_HTML = [("Content-Type", HTML), ("Content-Encoding", "gzip")]


def gzipped_wsgi_page(body: bytes) -> Any:
    def app(environ, start_response):
        start_response("200 OK", GZIP_HTML)
        return [body]

    return app


def gzipped_asgi_page(body: bytes) -> Any:
    async def app(scope, receive, send):
        raw = [(k.lower().encode(), v.encode()) for k, v in GZIP_HTML]
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    return app


BOMB_THROUGH = {
    "wsgi": lambda bomb: stream_wsgi("error", gzipped_wsgi_page(bomb)),
    "asgi": lambda bomb: stream_asgi("error", gzipped_asgi_page(bomb)),
}


@pytest.mark.parametrize("host", list(BOMB_THROUGH))
def test_a_gzip_bomb_gets_a_502_without_being_decoded_whole(host, gzip_bomb):
    counted, peak = peak_of(lambda: BOMB_THROUGH[host](gzip_bomb))
    assert counted.status == 502
    # Decoding holds at most the limit, and for a moment a second copy as zlib hands it over.
    assert peak < 2 * LIMIT + len(gzip_bomb) + 8 * CHUNK, f"peak {peak} bytes"
