"""Raw HTTP/1 on sockets for the ``serve`` and ``proxy`` wire tests: a client that reads
until the server closes, one-shot raw upstreams, and the two request parsers uvicorn may use.

Everything listens on 127.0.0.1 at a free port and is bounded in time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.cli_servers import listening_socket

#: Seconds a test waits on a socket before taking it as silent.
PATIENCE = 5.0

#: A module that shadows httptools in the directory a command runs in, so that uvicorn
#: falls back to h11 as it does where httptools is not installed (``pip install 'dualfilter[serve]'``).
_NO_HTTPTOOLS = 'raise ImportError("httptools is not installed here")\n'


def parser_directory(tmp_path: Path, parser: str) -> Path:
    """A directory to run a command in whose uvicorn reads requests with ``parser``
    (``'httptools'``, as where it is installed, or ``'h11'``, as where it is not)."""
    if parser == "httptools" and importlib.util.find_spec("httptools") is None:
        pytest.skip("httptools is not installed")
    if parser == "h11":
        (tmp_path / "httptools.py").write_text(_NO_HTTPTOOLS)
    return tmp_path


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@contextlib.contextmanager
def connection(url: str) -> Iterator[socket.socket]:
    """A client connection to the server at ``url``."""
    with socket.create_connection(("127.0.0.1", port_of(url)), timeout=PATIENCE) as sock:
        yield sock


def read_until_closed(sock: socket.socket, limit: float = PATIENCE) -> tuple[bytes, bool]:
    """What the server sends until it closes the connection, and whether it did close it
    (False: it was still open after ``limit`` seconds)."""
    sock.settimeout(0.2)
    received = b""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            piece = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received, True
        if not piece:
            return received, True
        received += piece
    return received, False


def exchange(url: str, data: bytes, limit: float = PATIENCE) -> tuple[bytes, bool]:
    """Send ``data`` on a new connection to ``url``; what comes back until the server
    closes it, and whether it closed it within ``limit`` seconds."""
    with connection(url) as sock:
        sock.sendall(data)
        return read_until_closed(sock, limit)


@contextlib.contextmanager
def raw_upstream(answer: Callable[[socket.socket, bytes], None], connections: int = 1) -> Iterator[str]:
    """An upstream that reads each request's head and lets ``answer(connection, head)``
    write what it likes, for at most ``connections`` connections; yields its URL."""
    sock = listening_socket()
    sock.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        served = 0
        deadline = time.monotonic() + 30
        while served < connections and not stop.is_set() and time.monotonic() < deadline:
            try:
                client, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            served += 1
            with client:
                client.settimeout(PATIENCE)
                head = b""
                while b"\r\n\r\n" not in head and len(head) < 65536:
                    piece = client.recv(4096)
                    if not piece:
                        break
                    head += piece
                answer(client, head)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(PATIENCE)
        sock.close()


def split_response(received: bytes) -> tuple[bytes, dict[bytes, bytes], bytes]:
    """The status line, the header fields (names lowercased) and the body of one HTTP/1.1
    response as received, its chunks joined when it is chunked (an incomplete chunk kept as it came)."""
    head, _, body = received.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    fields = {name.strip().lower(): value.strip() for name, _, value in (line.partition(b":") for line in lines)}
    if fields.get(b"transfer-encoding", b"").lower() != b"chunked":
        return status, fields, body
    joined = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        joined, body = joined + rest[:size], rest[size + 2 :]
    return status, fields, joined
