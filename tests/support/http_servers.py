"""Real servers on 127.0.0.1, port 0, for one test module each; all stop by themselves."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

ASGI_SERVERS = ("uvicorn", "hypercorn")
WSGI_SERVERS = ("waitress", "wsgiref")


def listening() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def listening_port(process: subprocess.Popen[bytes], timeout: float = 20) -> int:
    """The port a server started as ``process`` (or one of its workers) listens on at
    127.0.0.1: granian binds port 0 and does not say which port it got. Fails if the
    process ends or ``timeout`` seconds pass first."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(psutil.Error):
            parent = psutil.Process(process.pid)
            for child in [parent, *parent.children(recursive=True)]:
                for connection in child.net_connections(kind="tcp"):
                    if connection.status == psutil.CONN_LISTEN and connection.laddr.ip == "127.0.0.1":
                        return int(connection.laddr.port)
        time.sleep(0.05)
    raise AssertionError("the server did not listen on 127.0.0.1 in time")


@contextlib.contextmanager
def uvicorn_serving(app: Any, lifespan: str = "off") -> Iterator[int]:
    """uvicorn with its h11 protocol (not httptools), serving ``app``; yields the port.
    ``lifespan="on"`` runs the app's lifespan (Sanic and Litestar set up there)."""
    import uvicorn

    sock = listening()
    config = uvicorn.Config(app, http="h11", lifespan=lifespan, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn")
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    assert not thread.is_alive()


@contextlib.contextmanager
def hypercorn_serving(app: Any) -> Iterator[int]:
    """hypercorn (HTTP/1.1 through h11) serving ``app``; yields the port."""
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    sock = listening()
    config = Config()
    config.bind = [f"fd://{os.dup(sock.fileno())}"]  # hypercorn closes the fd it is given
    config.loglevel = "WARNING"
    config.accesslog = None
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(serve(app, config, shutdown_trigger=stop.wait),), name="hypercorn"
    )
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
        sock.close()
    assert not thread.is_alive()


@contextlib.contextmanager
def waitress_serving(app: Any) -> Iterator[int]:
    from webtest.http import StopableWSGIServer

    server = StopableWSGIServer.create(app, host="127.0.0.1", port=0, threads=2)
    try:
        yield server.effective_port
    finally:
        server.shutdown()
        server.runner.join(10)
    assert not server.runner.is_alive()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def wsgiref_serving(app: Any) -> Iterator[int]:
    server = make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert not thread.is_alive()


SERVING = {"uvicorn": uvicorn_serving, "hypercorn": hypercorn_serving, "waitress": waitress_serving, "wsgiref": wsgiref_serving}


def wire_get(port: int, path: str) -> tuple[int | None, dict[str, str], bytes]:
    """GET on a fresh connection with ``Connection: close``: status (None if the server
    sent nothing), headers (names lower-cased) and body, exactly as sent."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        received = bytearray()
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                received += chunk
    if not received:
        return None, {}, b""
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body
