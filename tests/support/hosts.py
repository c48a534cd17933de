"""The example filters and inner responses every host must treat alike.

Each host gets the same inner response (status, headers, body in chunks),
served by a native app of that host: a WSGI app, an ASGI app, an ISAPI
extension. Running them in one process keeps the comparison exact.
"""

from __future__ import annotations

import json
import re
import threading
import wsgiref.util
from dataclasses import dataclass, field, replace
from typing import Any

from dualfilter import Filter
from dualfilter.isapi.constants import HSE_IO_ASYNC, HSE_STATUS_PENDING, HSE_STATUS_SUCCESS
from dualfilter.isapi.testing import FakeECB, call_extension
from tests.support.filters import Rot13 as Rot13Text
from tests.support.filters import Upper as UpperBytes


class MarkParagraphs(Filter):
    """Adds an attribute to every <p> of the lxml tree."""

    format_output = "lxml.etree"

    def filter(self, environ, headers, data):
        for element in data.iter("p"):
            element.set("data-seen", "yes")
        return data


class AddJsonField(Filter):
    """Adds a field to a JSON object."""

    format = "json"

    def filter(self, environ, headers, data):
        data["filtered"] = True
        return data


FILTERS = {"upper-bytes": UpperBytes, "rot13-text": Rot13Text, "lxml-attribute": MarkParagraphs, "json-field": AddJsonField}


@dataclass
class Inner:
    """One inner response."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    chunks: list[bytes]
    method: str = "GET"
    request_headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def status_line(self) -> str:
        return f"{self.status} {self.reason}"

    def seen(self, range_header: str | None) -> Inner:
        """The app's answer to a request with ``range_header``: itself, or, for a
        range of a 200, the 206 a range-aware app gives (saying it saw the Range)."""
        found = re.fullmatch(r"bytes=(\d+)-(\d+)", range_header or "")
        if found is None or self.status != 200:
            return self
        body = b"".join(self.chunks)
        first, last = int(found.group(1)), min(int(found.group(2)), len(body) - 1)
        headers = [(k, v) for k, v in self.headers if k.lower() != "content-length"]
        headers += [("Content-Range", f"bytes {first}-{last}/{len(body)}"), ("X-Saw-Range", range_header or "")]
        return Inner(206, "Partial Content", headers, [body[first : last + 1]], self.method, self.request_headers)


HTML_PAGE = "<html><body><p>Hello, wörld</p><p>second</p></body></html>".encode()
JSON_DOC = json.dumps({"name": "dualfilter", "hosts": ["wsgi", "asgi", "isapi"]}).encode()


def html(chunks: list[bytes], **extra: Any) -> Inner:
    headers = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(sum(map(len, chunks)))), ("ETag", '"v1"')]
    return Inner(200, "OK", headers + extra.pop("headers", []), chunks, **extra)


INNER = {
    "html-one-chunk": html([HTML_PAGE]),
    "html-many-chunks": html([HTML_PAGE[i : i + 7] for i in range(0, len(HTML_PAGE), 7)]),
    "html-latin1": Inner(200, "OK", [("Content-Type", "text/html; charset=iso-8859-1")], ["<p>Grüße</p>".encode("latin-1")]),
    "html-404": Inner(404, "Not Found", [("Content-Type", "text/html")], [b"<p>missing</p>"]),
    "html-head": Inner(200, "OK", html([HTML_PAGE]).headers, [], method="HEAD"),
    "json": Inner(200, "OK", [("Content-Type", "application/json"), ("Content-Length", str(len(JSON_DOC)))], [JSON_DOC]),
    "png": Inner(200, "OK", [("Content-Type", "image/png")], [b"\x89PNG", b"\r\n\x1a\n"]),
    "range-request": html([HTML_PAGE], request_headers=[("Range", "bytes=0-5")]),
}


@dataclass
class Received:
    """What a client received: status, headers (names lower-cased, sorted), body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def received(status: int, headers: list[tuple[str, str]], body: bytes) -> Received:
    return Received(status, sorted((name.lower(), value) for name, value in headers), body)


def without_range(inner: Inner) -> Inner:
    """The same request, asked without its Range."""
    return replace(inner, request_headers=[(k, v) for k, v in inner.request_headers if k.lower() != "range"])


def stripping_host_expects(flt: type[Filter], inner: Inner) -> Received:
    """What a host that cannot ask the app twice (the ISAPI filter) gives: WSGI's
    answer, except that the app never sees a Range, so a page the filter leaves
    alone comes whole instead of as the app's own 206."""
    expected = run_wsgi(flt, inner)
    if "x-saw-range" in dict(expected.headers):  # the app's own partial, passed through on WSGI
        return run_wsgi(flt, without_range(inner))
    return expected


# -- WSGI ------------------------------------------------------------------------------


def wsgi_app(inner: Inner):
    def app(environ, start_response):
        answer = inner.seen(environ.get("HTTP_RANGE"))
        start_response(answer.status_line, answer.headers)
        return list(answer.chunks)

    return app


def run_wsgi(flt: type[Filter], inner: Inner) -> Received:
    environ: dict[str, Any] = {"REQUEST_METHOD": inner.method, "PATH_INFO": "/"}
    wsgiref.util.setup_testing_defaults(environ)
    for name, value in inner.request_headers:
        environ["HTTP_" + name.upper().replace("-", "_")] = value
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status, headers, exc_info=None):
        started[:] = [status, headers]
        return written.append  # PEP 3333's write(): body that goes out before the iterable's

    result = flt.wsgi(wsgi_app(inner))(environ, start_response)
    try:
        body = b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return received(int(started[0].split()[0]), started[1], b"".join(written) + body)


# -- ASGI ------------------------------------------------------------------------------


def asgi_app(inner: Inner):
    async def app(scope, receive, send):
        range_header = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"range"), None)
        answer = inner.seen(range_header)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers]
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        for n, chunk in enumerate(answer.chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": n < len(answer.chunks) - 1})
        if not answer.chunks:
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    return app


async def run_asgi(flt: type[Filter], inner: Inner) -> Received:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": inner.method,
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"localhost")] + [(k.lower().encode(), v.encode()) for k, v in inner.request_headers],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }
    messages: list[dict[str, Any]] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        messages.append(message)

    await flt.asgi(asgi_app(inner))(scope, receive, send)
    start = next(m for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    return received(start["status"], headers, body)


# -- ISAPI -----------------------------------------------------------------------------


def _answer(inner: Inner, ecb: Any) -> Inner:
    range_header = ecb.GetServerVariable("HTTP_RANGE", None)
    return inner.seen(range_header.decode("latin-1") if range_header else None)


def _header_string(answer: Inner) -> str:
    return "".join(f"{k}: {v}\r\n" for k, v in answer.headers) + "\r\n"


class SyncExtension:
    """Answers inside HttpExtensionProc."""

    def __init__(self, inner: Inner) -> None:
        self.inner = inner

    def HttpExtensionProc(self, ecb):
        answer = _answer(self.inner, ecb)
        ecb.SendResponseHeaders(answer.status_line, _header_string(answer), False)
        for chunk in answer.chunks:
            ecb.WriteClient(chunk)
        return HSE_STATUS_SUCCESS


class PendingExtension(SyncExtension):
    """Returns HSE_STATUS_PENDING; a worker thread answers and calls DoneWithSession."""

    def HttpExtensionProc(self, ecb):
        def work():
            SyncExtension.HttpExtensionProc(self, ecb)
            ecb.DoneWithSession()

        threading.Thread(target=work).start()
        return HSE_STATUS_PENDING


class AsyncWriteExtension(SyncExtension):
    """Writes with HSE_IO_ASYNC; each completion writes the next chunk, the last ends the session."""

    def HttpExtensionProc(self, ecb):
        answer = _answer(self.inner, ecb)
        ecb.SendResponseHeaders(answer.status_line, _header_string(answer), False)
        chunks = iter(answer.chunks)

        def next_chunk(ecb, arg, count, error):
            chunk = next(chunks, None)
            if chunk is None:
                ecb.DoneWithSession()
            else:
                ecb.WriteClient(chunk, HSE_IO_ASYNC)

        ecb.IOCompletion(next_chunk)
        next_chunk(ecb, None, 0, 0)
        return HSE_STATUS_PENDING


ISAPI_STYLES = {"isapi-sync": SyncExtension, "isapi-pending": PendingExtension, "isapi-async-io": AsyncWriteExtension}


def run_isapi(flt: type[Filter], inner: Inner, style: str = "isapi-sync") -> Received:
    ecb = FakeECB(inner.method, "/", headers=inner.request_headers)
    response = call_extension(flt.isapi(ISAPI_STYLES[style](inner)), ecb)
    assert response.status is not None
    return received(response.status, response.headers, response.body)


# -- Django middleware -------------------------------------------------------------------


def django_response(inner: Inner, request: Any, is_async: bool) -> Any:
    """The inner response as a Django view gives it: a StreamingHttpResponse (of the
    handler's kind of iterator) for several chunks, else an HttpResponse."""
    from django.http import HttpResponse, StreamingHttpResponse

    inner = inner.seen(request.META.get("HTTP_RANGE"))
    headers = dict(inner.headers)
    if len(inner.chunks) < 2:
        return HttpResponse(b"".join(inner.chunks), status=inner.status, reason=inner.reason, headers=headers)

    async def chunks():
        for chunk in inner.chunks:
            yield chunk

    content = chunks() if is_async else list(inner.chunks)
    return StreamingHttpResponse(content, status=inner.status, reason=inner.reason, headers=headers)


async def run_django(flt: type[Filter], inner: Inner, mode: str = "django-sync") -> Received:
    """``inner`` through ``dualfilter.django.FilterMiddleware`` (``DUALFILTER_FILTERS = [flt()]``),
    called as Django's handler calls it in sync or async mode."""
    from django.test import RequestFactory
    from django.test.utils import override_settings

    from dualfilter.django import FilterMiddleware
    from tests.support.django_project import setup_django

    setup_django()
    is_async = mode == "django-async"
    extra = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in inner.request_headers}
    request = RequestFactory().generic(inner.method, "/", **extra)

    def view(request):
        return django_response(inner, request, False)

    async def async_view(request):
        return django_response(inner, request, True)

    with override_settings(DUALFILTER_FILTERS=[flt()]):
        middleware = FilterMiddleware(async_view if is_async else view)
    response = await middleware(request) if is_async else middleware(request)
    if response.streaming and response.is_async:
        body = b"".join([chunk async for chunk in response])
    else:
        body = b"".join(response)
    return received(response.status_code, list(response.items()), body)


DJANGO_MODES = ("django-sync", "django-async")
