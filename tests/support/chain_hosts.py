"""Small drivers for the host tests: a WSGI call, and real servers on 127.0.0.1."""

from __future__ import annotations

import contextlib
import socket
import threading
import wsgiref.simple_server
from collections.abc import Iterator
from typing import Any
from wsgiref.validate import validator

from dualfilter.testing import make_environ


def wsgi_get(app: Any, method: str = "GET") -> tuple[str, list[tuple[str, str]], bytes]:
    """One request through ``app`` (checked by wsgiref's validator): status, headers, body."""
    started: list[tuple[str, list[tuple[str, str]]]] = []
    written: list[bytes] = []

    def start_response(status, headers, exc_info=None):
        started.append((status, headers))
        return written.append

    environ = make_environ(method, environ={"QUERY_STRING": "", "SCRIPT_NAME": ""})
    result = validator(app)(environ, start_response)
    try:
        for chunk in result:
            written.append(chunk)
    finally:
        result.close()
    status, headers = started[-1]
    return status, headers, b"".join(written)


class _QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def wsgiref_serving(app: Any) -> Iterator[tuple[str, int]]:
    """A wsgiref server for ``app`` on a free port of 127.0.0.1, shut down after."""
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, app, handler_class=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="wsgiref")
    thread.start()
    try:
        yield server.server_address[:2]
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


@contextlib.contextmanager
def uvicorn_serving(app: Any) -> Iterator[tuple[str, int]]:
    """uvicorn serving ``app`` on a free port of 127.0.0.1, shut down after."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn")
    thread.start()
    try:
        yield sock.getsockname()[:2]
    finally:
        server.should_exit = True
        thread.join()
        sock.close()
