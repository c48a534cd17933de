"""Real servers on 127.0.0.1 (port 0) for the tests that need the wire, and a raw client."""

from __future__ import annotations

import contextlib
import socket
import threading
import wsgiref.simple_server
from collections.abc import Iterator
from typing import Any


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def wsgiref_serving(app: Any) -> Iterator[tuple[str, int]]:
    """A wsgiref server for ``app`` on a free port of 127.0.0.1, shut down after."""
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="wsgiref", kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@contextlib.contextmanager
def uvicorn_serving(app: Any) -> Iterator[tuple[str, int]]:
    """uvicorn serving ``app`` on a free port of 127.0.0.1, shut down after."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="critical"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn")
    thread.start()
    try:
        for _ in range(500):  # up to 5 s for the server to start
            if server.started:
                break
            threading.Event().wait(0.01)
        yield sock.getsockname()[:2]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class RawClient:
    """One HTTP/1.0 GET on a socket, read as it arrives."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=5)
        self.sock.sendall(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        self.data = b""

    def read_until(self, marker: bytes) -> bytes:
        """Read until ``marker`` has arrived (or the connection ends); all read so far."""
        for _ in range(1000):
            if marker in self.data:
                break
            piece = self.sock.recv(65536)
            if not piece:
                break
            self.data += piece
        return self.data

    def read_all(self) -> bytes:
        for _ in range(10000):
            piece = self.sock.recv(65536)
            if not piece:
                break
            self.data += piece
        self.sock.close()
        return self.data


def body_of(raw: bytes) -> bytes:
    """The body of a raw response, de-chunked when it came chunked (as far as it came)."""
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return body
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, body = out + rest[:size], rest[size + 2 :]
    return out
