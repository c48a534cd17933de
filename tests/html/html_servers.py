"""A raw client for the tests that read the wire (the servers are tests.support.servers)."""

from __future__ import annotations

import socket

from tests.support.servers import uvicorn_serving, wsgiref_serving  # noqa: F401 - the folder's tests import them from here


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
