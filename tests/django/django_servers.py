"""A raw client for the Django middleware tests on real servers (waitress and uvicorn, from tests.support.http_servers)."""

from __future__ import annotations

import socket

from tests.support.http_servers import uvicorn_serving, waitress_serving, wsgiref_serving  # noqa: F401 - the folder's tests import them from here

#: Seconds any one socket operation may take before a test fails.
TIMEOUT = 10


class Wire:
    """One ``GET`` with ``Connection: close`` on a raw socket, read as it arrives."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        self.received = bytearray()

    def read_until(self, marker: bytes, limit: int = 1000) -> bool:
        """Read until ``marker`` has arrived (True) or the server closed (False)."""
        for _ in range(limit):
            if marker in self.received:
                return True
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self.received += chunk
        raise AssertionError(f"{marker!r} did not arrive in {limit} reads")

    def read_all(self) -> tuple[int, dict[str, str], bytes]:
        """Everything until the server closes: status, headers (lower-case names), raw body."""
        while chunk := self.sock.recv(65536):
            self.received += chunk
        self.sock.close()
        head, _, body = bytes(self.received).partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
        return int(status.split(" ")[1]), headers, body


def exchange(
    port: int, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request with ``Connection: close``: the status, every header field line
    (names lower-case, in order, several of one name kept apart) and the raw body."""
    fields = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{fields}\r\n".encode())
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    return int(status.split(" ")[1]), [(name.lower(), value) for name, value in (line.split(": ", 1) for line in lines)], body


def dechunk(data: bytes) -> tuple[bytes, bool]:
    """The payload of a chunked body, and whether it ended with the last (zero) chunk."""
    payload = []
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return b"".join(payload), True
        payload.append(data[:size])
        data = data[size + 2 :]
    return b"".join(payload), False
