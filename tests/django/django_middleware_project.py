"""Views, filters and settings for the ``dualfilter.django.FilterMiddleware`` tests.

Django's settings are process-wide (``tests/support/django_project.py`` configures
them once), so each test runs inside :func:`project`, which overrides
``MIDDLEWARE``, ``DUALFILTER_FILTERS`` and ``ROOT_URLCONF`` (this module) for
as long as it is active; Django builds the middleware chain under it.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterable
from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.test.utils import override_settings
from django.urls import path
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import condition

from dualfilter import Filter

FILTER_MIDDLEWARE = "dualfilter.django.FilterMiddleware"
PAGE = "<html><head><title>T</title></head><body><p>hello from django</p></body></html>"
PIECES = [PAGE[i : i + 10] for i in range(0, len(PAGE), 10)]
#: A page long enough for GZipMiddleware to compress (it skips bodies under 200 bytes).
LONG_PAGE = "<html><body>" + "<p>hello from django</p>" * 20 + "</body></html>"
#: A page of several chunks: more than a FileResponse reads at once (4096 bytes).
BIG_PAGE = "<html><body>" + "<p>hello from django</p>" * 400 + "</body></html>"
#: Set-Cookie lines SimpleCookie cannot hold as written (CHIPS' Partitioned, Chrome's Priority).
COOKIE_LINES = ["chip=1; Path=/; Secure; SameSite=None; Partitioned", "pri=2; Path=/; Priority=High"]
#: Django's default MIDDLEWARE (``startproject``) and the apps they need.
DJANGO_DEFAULT_MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
DJANGO_DEFAULT_APPS = ["django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions", "django.contrib.messages"]
HERE = __name__


def project(filters: Any, middleware: Iterable[str] = (FILTER_MIDDLEWARE,), **settings: Any) -> override_settings:
    """Settings with ``middleware`` (outermost first) and ``filters`` as ``DUALFILTER_FILTERS``."""
    if filters is not None:
        settings["DUALFILTER_FILTERS"] = filters
    return override_settings(ROOT_URLCONF=HERE, MIDDLEWARE=list(middleware), **settings)


def spec(name: str, query: str = "") -> str:
    """The SPEC of a filter class in this module."""
    return f"{HERE}:{name}" + (f"?{query}" if query else "")


# -- filters -----------------------------------------------------------------------------


class Upper(Filter):
    """Upper-cases the bytes (buffered)."""

    def filter(self, environ, headers, data):
        return data.upper()


class Append(Filter):
    """Appends ``text`` to the page and to the ``X-Order`` header (buffered)."""

    text: str = ""

    def filter(self, environ, headers, data):
        headers["X-Order"] = (headers["X-Order"] or "") + self.text
        return data + self.text.encode()


class AsyncUpper(Filter):
    """Upper-cases the bytes in an ``async def`` filter."""

    async def filter(self, environ, headers, data):
        await asyncio.sleep(0)
        return data.upper()


class UpperStream:
    def __init__(self, fail_on: bytes | None = None) -> None:
        self.fail_on = fail_on

    def feed(self, data):
        if self.fail_on is not None and self.fail_on in data:
            raise RuntimeError("stream failed on purpose")
        return data.upper()

    def finish(self):
        return b""


class StreamUpper(Filter):
    """Upper-cases each chunk as it comes (a streaming filter); ``fail_on``: raise on a chunk holding it."""

    fail_on: str = ""

    def stream(self, environ, headers):
        return UpperStream(self.fail_on.encode() or None)


class OpenFails(Filter):
    """A streaming filter whose ``stream()`` raises."""

    def stream(self, environ, headers):
        raise RuntimeError("cannot open the stream")


class Broken(Filter):
    """Raises on every page."""

    def filter(self, environ, headers, data):
        raise RuntimeError("secret detail of a broken filter")


class AsyncBroken(Filter):
    async def filter(self, environ, headers, data):
        raise RuntimeError("secret detail of a broken async filter")


class ShowUser(Filter):
    """Writes ``environ['app.user']`` (set by the view on request.META) into the page."""

    def filter(self, environ, headers, data):
        return data.replace(b"</body>", f"<i>{environ.get('app.user', 'nobody')}</i></body>".encode())


class RecordEnviron(Filter):
    """Keeps the environ each call was given."""

    def __init__(self, **options):
        super().__init__(**options)
        self.environs: list = []

    def filter(self, environ, headers, data):
        self.environs.append(environ)
        return data


class AddCookieHeader(Filter):
    """Adds a second Set-Cookie field line and a second Link field line."""

    def filter(self, environ, headers, data):
        headers.add_header("Set-Cookie", "added=1; Path=/")
        headers.add_header("Link", "</b.css>; rel=preload")
        return data


class AddCookieLines(Filter):
    """Adds each of ``COOKIE_LINES`` (or ``lines``, separated by ``|``) as a Set-Cookie field line."""

    lines: str = "|".join(COOKIE_LINES)

    def filter(self, environ, headers, data):
        for line in self.lines.split("|"):
            headers.add_header("Set-Cookie", line)
        return data


class Euro(Filter):
    """Puts a euro sign after "price" (text in, text out): a latin-1 page must change charset."""

    decode_unicode = True

    def filter(self, environ, headers, data):
        return data.replace("price", "price €")


# -- middleware -------------------------------------------------------------------------------


def sync_only(get_response):
    """An ordinary sync-only middleware: below the filter, it makes Django run the filter sync under ASGI."""

    def middleware(request):
        return get_response(request)

    return middleware


def async_only(get_response):
    """An async-only middleware as Django's docs write one: below the filter, it makes Django run
    the filter async, under WSGI too (in an event loop of its own, gone before the server reads)."""

    async def middleware(request):
        return await get_response(request)

    return middleware


async_only.sync_capable = False  # type: ignore[attr-defined]
async_only.async_capable = True  # type: ignore[attr-defined]


def sets_pri_cookie(get_response):
    """Sets the cookie ``pri`` with ``response.set_cookie()`` on the response it gets."""

    def middleware(request):
        response = get_response(request)
        response.set_cookie("pri", "3")
        return response

    return middleware


#: What ``RecordsViews.process_view`` saw, one entry per call: (If-None-Match, asked again).
VIEWS_SEEN: list[tuple[str | None, bool]] = []


class RecordsViews:
    """A middleware with a ``process_view`` hook, which Django runs from its innermost handler."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view, args, kwargs):
        VIEWS_SEEN.append((request.META.get("HTTP_IF_NONE_MATCH"), request.META.get("dualfilter.asked_again", False)))


# -- views ----------------------------------------------------------------------------------


def html(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


def long_html(request: HttpRequest) -> HttpResponse:
    return HttpResponse(LONG_PAGE, content_type="text/html; charset=utf-8")


def text(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<p>plain</p>", content_type="text/plain")


def long_text(request: HttpRequest) -> HttpResponse:
    """``LONG_PAGE`` as text/plain, which an HTML filter leaves alone."""
    return HttpResponse(LONG_PAGE, content_type="text/plain")


def missing(request: HttpRequest) -> HttpResponse:
    return HttpResponse("<p>missing</p>", status=404, content_type="text/html")


def cookie(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(PAGE, content_type="text/html; charset=utf-8")
    response.set_cookie("session", "abc")
    response["Link"] = "</a.css>; rel=preload"
    return response


def closing(request: HttpRequest) -> HttpResponse:
    """Asks the server to close the connection after the page."""
    response = HttpResponse(PAGE, content_type="text/html; charset=utf-8")
    response["Connection"] = "close"
    return response


def header_cookie(request: HttpRequest) -> HttpResponse:
    """Sets its cookie as a header field, not through ``set_cookie``."""
    response = HttpResponse(PAGE, content_type="text/html; charset=utf-8")
    response["Set-Cookie"] = "consent=1; Path=/"
    return response


def user(request: HttpRequest) -> HttpResponse:
    request.META["app.user"] = "alice"
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


def seen(request: HttpRequest) -> JsonResponse:
    """What the view was shown of the request's conditional and range headers."""
    names = ("Range", "If-Range", "If-None-Match", "If-Modified-Since")
    return JsonResponse(
        {
            "meta": {name: request.META.get("HTTP_" + name.upper().replace("-", "_")) for name in names},
            "headers": {name: request.headers.get(name) for name in names},
        }
    )


@condition(etag_func=lambda request: "v1")
def tagged(request: HttpRequest) -> HttpResponse:
    """HTML with ETag "v1": a matching If-None-Match gets a 304."""
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


class Progress:
    """What a streaming view has produced, and a gate it can wait at (bounded)."""

    def __init__(self) -> None:
        self.produced = 0
        self.gate = threading.Event()
        self.gate_was_open = False


PROGRESS = Progress()


def streamed(request: HttpRequest) -> StreamingHttpResponse:
    """The page in pieces from a sync generator; counts what it has produced."""
    progress = PROGRESS

    def pieces():
        for piece in PIECES:
            progress.produced += 1
            yield piece

    return StreamingHttpResponse(pieces(), content_type="text/html; charset=utf-8")


def astreamed(request: HttpRequest) -> StreamingHttpResponse:
    """The page in pieces from an async generator; counts what it has produced."""
    progress = PROGRESS

    async def pieces():
        for piece in PIECES:
            progress.produced += 1
            await asyncio.sleep(0)
            yield piece

    return StreamingHttpResponse(pieces(), content_type="text/html; charset=utf-8")


def gated(request: HttpRequest) -> StreamingHttpResponse:
    """The first piece, then a wait (5 s at most) for the client to say it has it, then the rest."""
    progress = PROGRESS

    def pieces():
        yield PIECES[0]
        progress.gate_was_open = progress.gate.wait(5)
        yield from PIECES[1:]

    return StreamingHttpResponse(pieces(), content_type="text/html; charset=utf-8")


def agated(request: HttpRequest) -> StreamingHttpResponse:
    """``gated`` from an async generator (the wait runs in a thread)."""
    progress = PROGRESS

    async def pieces():
        yield PIECES[0]
        progress.gate_was_open = await asyncio.to_thread(progress.gate.wait, 5)
        for piece in PIECES[1:]:
            yield piece

    return StreamingHttpResponse(pieces(), content_type="text/html; charset=utf-8")


def failing_stream(request: HttpRequest) -> StreamingHttpResponse:
    """Pieces, the third of which holds ``BOOM`` (StreamUpper(fail_on='BOOM') fails there)."""
    return StreamingHttpResponse(["<p>one</p>", "<p>two</p>", "<p>BOOM</p>", "<p>four</p>"], content_type="text/html")


def afailing_stream(request: HttpRequest) -> StreamingHttpResponse:
    """``failing_stream`` from an async generator."""

    async def pieces():
        for piece in ["<p>one</p>", "<p>two</p>", "<p>BOOM</p>", "<p>four</p>"]:
            yield piece

    return StreamingHttpResponse(pieces(), content_type="text/html")


def broken_view_stream(request: HttpRequest) -> StreamingHttpResponse:
    """A stream whose own iterator raises after a first piece."""

    def pieces():
        yield "<p>one</p>"
        raise RuntimeError("the view's stream broke")

    return StreamingHttpResponse(pieces(), content_type="text/html")


def big_file(request: HttpRequest) -> FileResponse:
    """``BIG_PAGE`` as a file: a sync iterator of 4096-byte blocks."""
    return FileResponse(io.BytesIO(BIG_PAGE.encode()), content_type="text/html; charset=utf-8")


def abig(request: HttpRequest) -> StreamingHttpResponse:
    """``BIG_PAGE`` in 1000-byte pieces from an async generator."""

    async def pieces():
        for i in range(0, len(BIG_PAGE), 1000):
            yield BIG_PAGE[i : i + 1000]

    return StreamingHttpResponse(pieces(), content_type="text/html; charset=utf-8")


@xframe_options_exempt
def framable(request: HttpRequest) -> HttpResponse:
    """A page XFrameOptionsMiddleware leaves without X-Frame-Options (the view marks its response)."""
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


def latin1(request: HttpRequest) -> HttpResponse:
    """A page in ISO-8859-1, the charset given to HttpResponse (and so in the Content-Type)."""
    return HttpResponse("<p>café price</p>", charset="iso-8859-1")


def latin1_bare(request: HttpRequest) -> HttpResponse:
    """A page in ISO-8859-1 whose Content-Type names no charset (``response.charset`` alone says it)."""
    return HttpResponse("<p>café</p>", content_type="text/html", charset="iso-8859-1")


@condition(etag_func=lambda request: "v1")
def tagged_png(request: HttpRequest) -> HttpResponse:
    """An image with ETag "v1" (a type an HTML filter does not take): a matching If-None-Match gets a 304."""
    return HttpResponse(b"\x89PNG\r\n\x1a\n....", content_type="image/png")


def cookies_seen(request: HttpRequest) -> JsonResponse:
    """The cookies the request brought."""
    return JsonResponse(request.COOKIES)


def html_file(request: HttpRequest) -> FileResponse:
    return FileResponse(io.BytesIO(PAGE.encode()), content_type="text/html; charset=utf-8")


def binary_file(request: HttpRequest) -> FileResponse:
    return FileResponse(io.BytesIO(b"\x00<body>binary</body>" * 100), content_type="application/octet-stream")


urlpatterns = [
    path("html/", html),
    path("long/", long_html),
    path("text/", text),
    path("long-text/", long_text),
    path("missing/", missing),
    path("cookie/", cookie),
    path("header-cookie/", header_cookie),
    path("closing/", closing),
    path("user/", user),
    path("seen/", seen),
    path("tagged/", tagged),
    path("streamed/", streamed),
    path("astreamed/", astreamed),
    path("gated/", gated),
    path("agated/", agated),
    path("failing-stream/", failing_stream),
    path("afailing-stream/", afailing_stream),
    path("broken-view-stream/", broken_view_stream),
    path("file/", html_file),
    path("big-file/", big_file),
    path("abig/", abig),
    path("framable/", framable),
    path("latin1/", latin1),
    path("latin1-bare/", latin1_bare),
    path("tagged-png/", tagged_png),
    path("cookies-seen/", cookies_seen),
    path("binary/", binary_file),
]
