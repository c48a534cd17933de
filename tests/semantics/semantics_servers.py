"""Real servers on 127.0.0.1 (port 0) and clients that see exactly what goes on the wire.

HTTP/1.1 requests go out on a fresh socket with ``Connection: close`` and the
whole reply is read to the end, so a body after a HEAD, 204 or 304 — or a
Content-Length that lies — shows. HTTP/2 goes to hypercorn with prior
knowledge (h2c: the connection preface on a cleartext socket, which hypercorn
recognises), driven by the ``h2`` library frame by frame: httpx speaks HTTP/2
only over TLS.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tests.support.http_servers import hypercorn_serving, uvicorn_serving, waitress_serving

__all__ = ["Reply", "http1", "http2", "uvicorn_serving", "hypercorn_serving", "waitress_serving", "gunicorn_serving"]

TIMEOUT = 10.0
ROOT = pathlib.Path(__file__).resolve().parents[2]


@dataclass
class Reply:
    """One response as it arrived: header names lower-cased, several field lines joined by ``, ``."""

    status: int
    headers: dict[str, str]
    body: bytes  # the payload, de-chunked
    wire: bytes = b""  # what followed the header section on the wire (HTTP/1.1)
    chunked: bool = False
    trailers: dict[str, str] = field(default_factory=dict)
    data_frames: int = 0  # HTTP/2: how many DATA frames carried payload

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def _fields(lines: Iterable[tuple[str, str]]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in lines:
        name = name.strip().lower()
        fields[name] = f"{fields[name]}, {value.strip()}" if name in fields else value.strip()
    return fields


def _dechunk(data: bytes) -> tuple[bytes, dict[str, str]]:
    body = bytearray()
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            section, _, _ = data.partition(b"\r\n\r\n")
            lines = [line.split(":", 1) for line in section.decode("latin-1").split("\r\n") if line]
            return bytes(body), _fields((name, value) for name, value in lines)
        body += data[:size]
        assert data[size : size + 2] == b"\r\n", "a chunk not followed by CRLF"
        data = data[size + 2 :]


def http1(port: int, method: str = "GET", path: str = "/", headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """One HTTP/1.1 request on a fresh connection, read to the server's close."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *(f"{k}: {v}" for k, v in headers)]
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        received = bytearray()
        deadline = time.monotonic() + TIMEOUT
        with contextlib.suppress(ConnectionResetError):
            while (chunk := sock.recv(65536)) and time.monotonic() < deadline:
                received += chunk
    head, separator, wire = bytes(received).partition(b"\r\n\r\n")
    assert separator, f"no complete response head: {bytes(received)!r}"
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    fields = _fields(tuple(line.split(":", 1)) for line in header_lines)  # type: ignore[misc]
    chunked = "chunked" in fields.get("transfer-encoding", "").lower()
    body, trailers = _dechunk(wire) if chunked and wire else (wire, {})
    return Reply(int(status_line.split()[1]), fields, body, wire, chunked, trailers)


def _text(headers: Any) -> list[tuple[str, str]]:
    """h2's header pairs (text, with a ``header_encoding``) as ``str`` pairs."""

    def text(item: str | bytes) -> str:
        return item if isinstance(item, str) else item.decode("latin-1")

    return [(text(name), text(value)) for name, value in headers]


def http2(port: int, method: str = "GET", path: str = "/", headers: Iterable[tuple[str, str]] = ()) -> Reply:
    """One HTTP/2 request with prior knowledge (h2c), read until its stream ends."""
    import h2.config
    import h2.connection
    import h2.events

    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="latin-1"))
    connection.initiate_connection()
    request = [(":method", method), (":path", path), (":scheme", "http"), (":authority", "127.0.0.1")]
    request += [(name.lower(), value) for name, value in headers]
    connection.send_headers(1, request, end_stream=True)
    status, fields, trailers, body, frames = 0, {}, {}, bytearray(), 0
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        sock.sendall(connection.data_to_send())
        deadline = time.monotonic() + TIMEOUT
        ended = False
        while not ended and time.monotonic() < deadline:
            data = sock.recv(65536)
            if not data:
                break
            for event in connection.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    received = _text(event.headers)
                    status = int(dict(received)[":status"])
                    fields = _fields((k, v) for k, v in received if not k.startswith(":"))
                elif isinstance(event, h2.events.DataReceived):
                    if event.data:
                        frames += 1
                        body += event.data
                    connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, h2.events.TrailersReceived):
                    trailers = _fields(_text(event.headers))
                elif isinstance(event, h2.events.StreamEnded):
                    ended = True
                elif isinstance(event, h2.events.StreamReset):
                    raise AssertionError(f"the server reset the stream: {event.error_code!r}")
            sock.sendall(connection.data_to_send())
        assert ended, "the stream never ended"
        connection.close_connection()
        with contextlib.suppress(OSError):
            sock.sendall(connection.data_to_send())
    return Reply(status, fields, bytes(body), trailers=trailers, data_frames=frames)


@contextlib.contextmanager
def gunicorn_serving(static: pathlib.Path) -> Iterator[int]:
    """gunicorn (one sync worker) serving the WSGI semantics site over ``static``; yields the port.

    It listens on a socket bound here (``fd://``), so clients wait in the
    backlog until the worker runs; it is stopped with SIGTERM, killed if it lingers.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.set_inheritable(True)
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "SEMANTICS_STATIC": str(static), "PYTHONPATH": path}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"fd://{sock.fileno()}",
            "--workers",
            "1",
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
            "tests.semantics.semantics_sites:wsgi_site_from_env()",
        ],
        cwd=ROOT,
        env=env,
        pass_fds=[sock.fileno()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield sock.getsockname()[1]
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        assert process.stderr is not None
        process.stderr.close()
        sock.close()


def serving(server: str, app: Any, static: pathlib.Path) -> contextlib.AbstractContextManager[int]:
    """The server named ``server`` serving ``app`` (gunicorn imports its own copy of the WSGI site)."""
    if server == "uvicorn":
        return uvicorn_serving(app)
    if server.startswith("hypercorn"):
        return hypercorn_serving(app)
    if server == "waitress":
        return waitress_serving(app)
    if server == "gunicorn":
        return gunicorn_serving(static)
    raise ValueError(server)
