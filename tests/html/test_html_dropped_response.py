"""A response dropped half way (the client went away) lets go of its engine and the
engine's thread as the host drops it, on WSGI and ASGI servers, with the garbage collector
off: nothing of the response waits for it (docs/html.md, "Threads")."""

from __future__ import annotations

import gc
import socket
import struct
import threading
import time

import pytest

from dualfilter.html import Rewriter, on, worker
from tests.support.http_servers import uvicorn_serving, wsgiref_serving

PIECE = b"<p>" + b"x" * 2000 + b"</p>\n"


class Classes(Rewriter):
    @on("p")
    def p(self, element, environ):
        element.set_attribute("class", "x")


def leased() -> int:
    """Engine threads working for a response (not idle in the pool)."""
    return sum(1 for thread in threading.enumerate() if thread.name == "dualfilter-html") - worker.idle_count()


def wsgi_site(ended):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])

        def body():
            try:
                for _ in range(2000):  # bounded: about 4 MB, far more than the client reads
                    yield PIECE
                    time.sleep(0.001)
            finally:
                ended.set()

        return body()

    return app


def asgi_site(ended):
    import anyio

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        try:
            for _ in range(2000):
                await send({"type": "http.response.body", "body": PIECE, "more_body": True})
                await anyio.sleep(0.001)
            await send({"type": "http.response.body", "body": b""})
        finally:
            ended.set()

    return app


def read_then_leave(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got = b""
        while len(got) < 20000:
            piece = sock.recv(65536)
            if not piece:
                break
            got += piece
        assert b'class="x"' in got
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # a reset, as a closed tab


@pytest.mark.parametrize(
    ("serving", "site"), [(wsgiref_serving, wsgi_site), (uvicorn_serving, asgi_site)], ids=["wsgiref", "uvicorn"]
)
def test_a_dropped_response_frees_its_engine_thread_without_the_garbage_collector(serving, site):
    enabled = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        ended = threading.Event()
        flt = Classes()
        host = flt.wsgi if serving is wsgiref_serving else flt.asgi
        with serving(host(site(ended))) as port:
            read_then_leave(port)
            assert ended.wait(10), "the app went on after the client left"
            deadline = time.monotonic() + 5
            while leased() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert leased() == 0
    finally:
        if enabled:
            gc.enable()
