"""A minimal Django project shared by the WSGI and ASGI tests: settings, views, urls.

Django's settings are global to the process, so every test module calls
:func:`setup_django`, which configures them once and is a no-op afterwards.
This module is the ``ROOT_URLCONF``; its views work under WSGI and ASGI alike.
"""

from __future__ import annotations

import asyncio
import io

import django
from django.conf import settings
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.http import condition

HTML_PAGE = "<html><head><title>Django</title></head><body><p>hello from django</p></body></html>"


def setup_django() -> None:
    """Configure minimal settings and set Django up, once per process."""
    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        SECRET_KEY="dualfilter-tests",
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=[],
        MIDDLEWARE=[],
        USE_TZ=True,
        DEFAULT_CHARSET="utf-8",
    )
    django.setup()


def html_page(request: HttpRequest) -> HttpResponse:
    """A plain HTML page."""
    return HttpResponse(HTML_PAGE, content_type="text/html; charset=utf-8")


def streamed_html(request: HttpRequest) -> StreamingHttpResponse:
    """The same HTML page, streamed in small pieces."""
    pieces = [HTML_PAGE[i : i + 16] for i in range(0, len(HTML_PAGE), 16)]
    return StreamingHttpResponse(pieces, content_type="text/html; charset=utf-8")


def async_streamed_html(request: HttpRequest) -> StreamingHttpResponse:
    """The HTML page streamed from an async iterator (what ASGI serves without a warning)."""

    async def pieces():
        for i in range(0, len(HTML_PAGE), 16):
            yield HTML_PAGE[i : i + 16]

    return StreamingHttpResponse(pieces(), content_type="text/html; charset=utf-8")


def plain_text(request: HttpRequest) -> HttpResponse:
    """A text/plain response, which an HTML filter leaves alone."""
    return HttpResponse("<p>not html</p>", content_type="text/plain; charset=utf-8")


def json_data(request: HttpRequest) -> JsonResponse:
    """A JSON document."""
    return JsonResponse({"greeting": "hello", "items": [1, 2, 3]})


def echo(request: HttpRequest) -> HttpResponse:
    """The request body back, as HTML, with the method and query string."""
    text = f"<p>{request.method} {request.META.get('QUERY_STRING', '')}</p><pre>{request.body.decode('utf-8')}</pre>"
    return HttpResponse(text, content_type="text/html; charset=utf-8")


def request_headers(request: HttpRequest) -> JsonResponse:
    """The HTTP_* request headers the view received, as JSON."""
    return JsonResponse({key: value for key, value in request.META.items() if key.startswith("HTTP_")})


async def async_html(request: HttpRequest) -> HttpResponse:
    """An ``async def`` view (runs on the event loop under ASGI)."""
    await asyncio.sleep(0)
    return HttpResponse(HTML_PAGE, content_type="text/html; charset=utf-8")


def not_found_html(request: HttpRequest) -> HttpResponse:
    """An HTML 404 page."""
    return HttpResponse("<p>missing</p>", status=404, content_type="text/html; charset=utf-8")


def file_download(request: HttpRequest) -> FileResponse:
    """A non-HTML file, which Django hands to the server's ``wsgi.file_wrapper``."""
    return FileResponse(io.BytesIO(b"<body>not html</body>" * 4), content_type="application/octet-stream")


@condition(etag_func=lambda request: "v1")
def conditional_html(request: HttpRequest) -> HttpResponse:
    """An HTML page with ETag "v1": a matching If-None-Match gets a 304."""
    return HttpResponse(HTML_PAGE, content_type="text/html; charset=utf-8")


urlpatterns = [
    path("html/", html_page),
    path("streamed/", streamed_html),
    path("astreamed/", async_streamed_html),
    path("text/", plain_text),
    path("json/", json_data),
    path("echo/", echo),
    path("headers/", request_headers),
    path("async/", async_html),
    path("missing/", not_found_html),
    path("download/", file_download),
    path("conditional/", conditional_html),
]

__all__ = ["HTML_PAGE", "setup_django", "urlpatterns"]
