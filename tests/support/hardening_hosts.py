"""One request through a filter on any host, in-process, and what the hardening tests share.

A test names a host (``'wsgi'``, ``'asgi'``, ``'isapi'``) and gets back what
the client received as a conformance ``Received`` (status, headers with names
lower-cased and sorted, body), so one assertion holds on every host.
Host-neutral app behaviour is a conformance ``Inner``, served by a native app
of each host; a WSGI framework app (Django, WebOb) runs on every host too: as
it is, under a2wsgi (ASGI) and under ``WSGIExtension`` (ISAPI).
"""

from __future__ import annotations

import contextlib
import functools
import socket
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from wsgiref.validate import validator

import anyio
from a2wsgi import WSGIMiddleware

from dualfilter import Filter, hosts
from dualfilter.isapi import WSGIExtension
from dualfilter.isapi.testing import FakeECB, call_extension
from dualfilter.testing import make_environ
from tests.support.asgi_harness import Exchange, make_scope
from tests.support.hosts import Inner, Received, SyncExtension, asgi_app, received

__all__ = [
    "HOSTS",
    "HTML",
    "WSGI_MODES",
    "Inner",
    "Received",
    "Redact",
    "redact",
    "received",
    "header",
    "wrap",
    "request",
    "fetch",
    "native_app",
    "wsgi_app_for",
    "from_wsgi_app",
    "fetch_wsgi_app",
    "django_app",
    "uvicorn_serving",
    "waitress_serving",
]

HOSTS = ("wsgi", "asgi", "isapi")
HTML = "text/html; charset=utf-8"
#: The ways a WSGI app can hand over its body (PEP 3333).
WSGI_MODES = ("list", "generator", "write", "write-then-iterable", "lazy-start")

RequestHeaders = Iterable[tuple[str, str]]


def redact(body: bytes) -> bytes:
    """What :class:`Redact` makes of a body: every ``secret`` hidden, a mark at the end."""
    return body.replace(b"secret", b"[redacted]") + b"<!-- filtered -->"


class Redact(Filter):
    """The filter a client must not be able to skip: it hides a word and marks the page."""

    def filter(self, environ, headers, data):
        return redact(data)


def header(response: Received, name: str) -> str | None:
    """The first value of header ``name`` (lower-case) in a received response, or None."""
    return next((value for key, value in response.headers if key == name), None)


def wrap(host: str, flt: Filter, app: Any) -> Any:
    """``app`` (native to ``host``) wrapped in the configured filter ``flt``."""
    return hosts.wrap(flt, app, host)


# -- one request on each host -----------------------------------------------------------


def request_wsgi(
    app: Any, method: str = "GET", path: str = "/", headers: RequestHeaders = (), *, validate: bool = True
) -> Received:
    """Call a WSGI app as a server does (checked by wsgiref's validator unless told not to)."""
    extra: dict[str, Any] = {"QUERY_STRING": "", "SCRIPT_NAME": ""}
    for name, value in headers:
        extra["HTTP_" + name.upper().replace("-", "_")] = value
    environ = make_environ(method, path, extra)
    started: list[tuple[str, list[tuple[str, str]]]] = []
    written: list[bytes] = []

    def start_response(status, response_headers, exc_info=None):
        started.append((status, list(response_headers)))
        return written.append

    result = (validator(app) if validate else app)(environ, start_response)
    try:
        for chunk in result:
            written.append(chunk)
    finally:
        getattr(result, "close", lambda: None)()
    status, response_headers = started[-1]
    return received(int(status.split()[0]), response_headers, b"".join(written))


async def request_asgi(app: Any, method: str = "GET", path: str = "/", headers: RequestHeaders = ()) -> Received:
    """Call an ASGI app as a server does; the recorder refuses messages after the response ends."""
    pairs = [(b"host", b"localhost"), *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers)]
    exchange = Exchange()
    await app(make_scope(path, method=method, headers=pairs), exchange.receive, exchange.send)
    assert exchange.complete.is_set(), f"the response never ended: {exchange.types}"
    raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in exchange.start["headers"]]
    return received(exchange.status, raw, exchange.body)


def request_isapi(extension: Any, method: str = "GET", path: str = "/", headers: RequestHeaders = ()) -> Received:
    """Call an ISAPI extension as IIS does (the fake ECB records what the client gets)."""
    response = call_extension(extension, FakeECB(method, path, headers=list(headers)))
    assert response.status is not None
    return received(response.status, response.headers, response.body)


def request(host: str, app: Any, method: str = "GET", path: str = "/", headers: RequestHeaders = (), **options: Any) -> Received:
    """One request to ``app``, native to ``host``; ASGI apps run in an event loop of their own."""
    if host == "wsgi":
        return request_wsgi(app, method, path, headers, **options)
    if host == "asgi":
        return anyio.run(functools.partial(request_asgi, app, method, path, headers))
    return request_isapi(app, method, path, headers)


# -- apps that serve an Inner -----------------------------------------------------------


def wsgi_app_for(inner: Inner, mode: str = "generator") -> Callable[..., Iterable[bytes]]:
    """A WSGI app serving ``inner``, handing its body over in one of ``WSGI_MODES``."""
    if mode not in WSGI_MODES:
        raise ValueError(mode)

    def app(environ, start_response):
        answer = inner.seen(environ.get("HTTP_RANGE"))
        if mode == "lazy-start":
            return _lazy(answer, lambda: start_response(answer.status_line, answer.headers))
        write = start_response(answer.status_line, answer.headers)
        if mode == "list":
            return list(answer.chunks)
        if mode == "generator":
            return iter(list(answer.chunks))
        if mode == "write":
            for chunk in answer.chunks:
                write(chunk)
            return []
        half = len(answer.chunks) // 2
        for chunk in answer.chunks[:half]:
            write(chunk)
        return iter(answer.chunks[half:])

    return app


def _lazy(inner: Inner, start: Callable[[], Any]) -> Iterator[bytes]:
    """A body whose ``start_response`` comes with its first chunk, as PEP 3333 allows."""
    start()
    yield from inner.chunks


def native_app(host: str, inner: Inner, mode: str = "generator") -> Any:
    """The app of ``host`` that serves ``inner`` (``mode`` is how a WSGI app hands over its body)."""
    if host == "wsgi":
        return wsgi_app_for(inner, mode)
    if host == "asgi":
        return asgi_app(inner)
    return SyncExtension(inner)


def fetch(host: str, flt: Filter, inner: Inner, mode: str = "generator", **options: Any) -> Received:
    """``inner`` served on ``host`` behind ``flt``, for the request ``inner`` describes."""
    options.setdefault("method", inner.method)
    options.setdefault("headers", inner.request_headers)
    return request(host, wrap(host, flt, native_app(host, inner, mode)), **options)


# -- WSGI framework apps on every host ---------------------------------------------------


def from_wsgi_app(host: str, app: Any) -> Any:
    """A WSGI app as a native app of ``host``: itself, under a2wsgi, or in a WSGIExtension."""
    if host == "wsgi":
        return app
    if host == "asgi":
        return WSGIMiddleware(app)
    return WSGIExtension(app, workers=0)


def fetch_wsgi_app(host: str, flt: Filter, app: Any, **options: Any) -> Received:
    """One request to the WSGI app ``app`` served on ``host`` behind ``flt``."""
    return request(host, wrap(host, flt, from_wsgi_app(host, app)), **options)


# -- Django, with middleware of its own ----------------------------------------------------


def django_app(host: str, *middleware: str) -> Any:
    """The test Django project (``tests/support/django_project.py``) with ``middleware``, native to ``host``:
    Django's own ASGI handler under ASGI, its WSGI handler on the other hosts."""
    from django.test import override_settings

    from tests.support.django_project import setup_django

    setup_django()
    with override_settings(MIDDLEWARE=list(middleware)):  # read once, as the handler is built
        if host == "asgi":
            from django.core.asgi import get_asgi_application

            return get_asgi_application()
        from django.core.wsgi import get_wsgi_application

        return from_wsgi_app(host, get_wsgi_application())


# -- real servers on 127.0.0.1 ---------------------------------------------------------------


@contextlib.contextmanager
def uvicorn_serving(app: Any) -> Iterator[str]:
    """uvicorn serving ``app`` on a free port of 127.0.0.1; yields the base URL, shuts down after.

    The socket listens before the server runs, with room for many clients to
    wait in the backlog until it accepts them. It is made with ``IPPROTO_TCP``
    so that asyncio sets TCP_NODELAY on the connections (it checks the
    protocol number): without it each response waits out the client's delayed ACK.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn")
    thread.start()
    try:
        host, port = sock.getsockname()[:2]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join()
        sock.close()


@contextlib.contextmanager
def waitress_serving(app: Any, threads: int) -> Iterator[str]:
    """waitress serving ``app`` with ``threads`` worker threads on 127.0.0.1; yields the base URL."""
    from webtest.http import StopableWSGIServer

    server = StopableWSGIServer.create(app, host="127.0.0.1", port=0, threads=threads)
    try:
        yield f"http://127.0.0.1:{server.effective_port}"
    finally:
        server.shutdown()
        server.runner.join(5)
