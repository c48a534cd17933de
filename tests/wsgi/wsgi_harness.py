"""Driving WSGI apps in-process: a real server handler on byte buffers, and recorders.

``serve`` runs the app under wsgiref's own PEP 3333 server handler, writing the
HTTP response to memory; ``call`` invokes the app directly with a recording
``start_response``. ``wrap`` puts ``wsgiref.validate.validator`` on both sides
of the middleware, so every test checks the adapter's conformance too.
"""

from __future__ import annotations

import io
import sys
import wsgiref.handlers
import wsgiref.util
from dataclasses import dataclass, field
from typing import Any
from wsgiref.validate import validator

from dualfilter import Filter
from tests.support.filters import Upper as UpperFilter  # noqa: F401 - the folder's tests import it from here

HTML = "text/html; charset=utf-8"
TEXT = "text/plain; charset=utf-8"


def wrap(filter_class: type[Filter], app: Any, **options: Any) -> Any:
    """``app`` in ``filter_class``, with a validator on each side of the middleware."""
    return validator(filter_class.wsgi(validator(app), **options))


def make_environ(method: str = "GET", path: str = "/", **extra: Any) -> dict[str, Any]:
    """A complete environ for one request."""
    environ: dict[str, Any] = {"REQUEST_METHOD": method, "SCRIPT_NAME": "", "PATH_INFO": path, "QUERY_STRING": ""}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update(extra)
    return environ


def simple_app(body: list[bytes], content_type: str | None = HTML, status: str = "200 OK", headers=()):
    """An app that starts at once and returns ``body`` as a list."""

    def app(environ, start_response):
        response_headers = [] if content_type is None else [("Content-Type", content_type)]
        start_response(status, response_headers + list(headers))
        return body

    return app


class TrackingIterable:
    """An app_iter that counts how often it is closed and how far it was read."""

    def __init__(self, chunks: list[bytes], start=None) -> None:
        self.chunks = list(chunks)
        self.start = start  # called before the first chunk (a lazy start_response)
        self.closes = 0
        self.served = 0

    def __iter__(self):
        if self.start is not None:
            self.start()
        for chunk in self.chunks:
            self.served += 1
            yield chunk

    def close(self) -> None:
        self.closes += 1


def tracking_app(iterable: TrackingIterable, content_type: str | None = HTML, status: str = "200 OK"):
    """An app that starts at once and returns ``iterable``."""

    def app(environ, start_response):
        start_response(status, [] if content_type is None else [("Content-Type", content_type)])
        return iterable

    return app


@dataclass
class Response:
    """What reached the client: status, headers and body, parsed from the wire bytes."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
    errors: str

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class _Handler(wsgiref.handlers.SimpleHandler):
    os_environ: dict[str, str] = {}  # requests carry no process environment


def serve(app: Any, environ: dict[str, Any] | None = None) -> Response:
    """Run ``app`` for one request under wsgiref's server handler; parse the output."""
    stdout, stderr = io.BytesIO(), io.StringIO()
    environ = environ if environ is not None else make_environ()
    handler = _Handler(environ["wsgi.input"], stdout, stderr, environ, multithread=False)
    handler.run(app)
    head, _, body = stdout.getvalue().partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    _, code, reason = (lines[0].split(" ", 2) + [""])[:3]
    headers = [tuple(line.split(": ", 1)) for line in lines[1:]]
    return Response(int(code), reason, headers, body, stderr.getvalue())  # type: ignore[arg-type]


@dataclass
class Recorder:
    """A server's ``start_response`` and ``write``, recording what they are given."""

    starts: list[tuple[str, list[tuple[str, str]], Any]] = field(default_factory=list)
    written: list[bytes] = field(default_factory=list)
    log: list[str] = field(default_factory=list)

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None and self.written:
            raise exc_info[1].with_traceback(exc_info[2])
        self.starts.append((status, headers, exc_info))
        self.log.append(f"start {status}")
        return self.write

    def write(self, data: bytes) -> None:
        self.written.append(data)
        self.log.append("write")


def call(app: Any, environ: dict[str, Any] | None = None) -> tuple[Recorder, Any]:
    """Call ``app`` once; return the recorder and the iterable it returned (not read)."""
    recorder = Recorder()
    return recorder, app(environ if environ is not None else make_environ(), recorder.start_response)


def read(result: Any) -> list[bytes]:
    """Iterate a returned iterable to the end and close it, as a server does."""
    try:
        return list(result)
    finally:
        if hasattr(result, "close"):
            result.close()


def exc_info_of(exc: BaseException):
    """An ``exc_info`` triple for ``exc``, as an app's error handler would pass."""
    try:
        raise exc
    except BaseException:
        return sys.exc_info()
