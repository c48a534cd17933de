"""A HEAD through the middleware: never a Content-Length the GET does not send (RFC 9110 sections 8.6, 9.3.2),
whatever measures the response above the filter; Django's default MIDDLEWARE with CommonMiddleware,
ConditionalGetMiddleware and GZipMiddleware above it, under WSGI and ASGI, the test clients and real servers."""

from __future__ import annotations

import warnings

import pytest
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse, HttpResponsePermanentRedirect, HttpResponseRedirect
from django.test import AsyncClient, AsyncRequestFactory, Client, RequestFactory
from django.test.utils import override_settings
from django_middleware_project import (
    DJANGO_DEFAULT_APPS,
    DJANGO_DEFAULT_MIDDLEWARE,
    FILTER_MIDDLEWARE,
    PAGE,
    project,
    spec,
)
from django_servers import exchange, uvicorn_serving, waitress_serving, wsgiref_serving

from dualfilter.django import FilterMiddleware

GZIP = "django.middleware.gzip.GZipMiddleware"
CONDITIONAL = "django.middleware.http.ConditionalGetMiddleware"
XFRAME = "django.middleware.clickjacking.XFrameOptionsMiddleware"
#: A site as ``startproject`` makes it, GZip and ConditionalGet on top, the filter at the bottom.
SITE = [GZIP, CONDITIONAL, *DJANGO_DEFAULT_MIDDLEWARE, FILTER_MIDDLEWARE]


class Site:
    """GET and HEAD on one handler: Django's test Client (WSGI) or AsyncClient (ASGI)."""

    def __init__(self, handler: str) -> None:
        self.client = Client() if handler == "wsgi" else AsyncClient()

    async def request(self, method: str, path: str):
        response = getattr(self.client, method.lower())(path, headers={"Accept-Encoding": "gzip"})
        return await response if isinstance(self.client, AsyncClient) else response


@pytest.fixture(params=["wsgi", "asgi"])
def site(request):
    with override_settings(INSTALLED_APPS=DJANGO_DEFAULT_APPS), project([spec("Upper")], middleware=SITE):
        yield Site(request.param)


async def test_a_head_of_a_filtered_page_sends_no_content_length_under_djangos_default_middleware(site):
    head = await site.request("HEAD", "/html/")
    assert (head.status_code, head.get("Content-Length")) == (200, None)


async def test_a_head_of_a_page_not_filtered_sends_the_content_length_of_the_get(site):
    get, head = await site.request("GET", "/text/"), await site.request("HEAD", "/text/")
    assert head["Content-Length"] == get["Content-Length"] == str(len(get.content))


async def test_a_head_of_a_page_not_filtered_is_compressed_as_its_get_is(site):
    get, head = await site.request("GET", "/long-text/"), await site.request("HEAD", "/long-text/")
    assert (head["Content-Encoding"], head["Vary"]) == (get["Content-Encoding"], get["Vary"]) == ("gzip", "Accept-Encoding")


async def test_a_head_of_a_filtered_page_keeps_the_views_cookies_and_headers(site):
    head = await site.request("HEAD", "/cookie/")
    assert (head.cookies["session"].value, head["Link"]) == ("abc", "</a.css>; rel=preload")


def test_a_head_of_a_filtered_page_keeps_what_the_view_marked_on_its_response():
    with project([spec("Upper")], middleware=[XFRAME, FILTER_MIDDLEWARE]):
        get, head = Client().get("/framable/"), Client().head("/framable/")
    assert get.get("X-Frame-Options") is head.get("X-Frame-Options") is None


@pytest.mark.parametrize("kind", [HttpResponse, HttpResponseRedirect, HttpResponsePermanentRedirect])
def test_a_head_of_a_filtered_redirect_is_still_a_redirect_with_its_url(kind):
    # Django's test Client follows it by its url; assertRedirects reads it.
    with project([spec("Upper", "filter_all_status=true")]):
        middleware = FilterMiddleware(lambda request: kind("/new/", content_type="text/html"))
    head = middleware(RequestFactory().head("/old/"))
    assert (head.streaming, isinstance(head, kind), head.status_code) == (True, True, kind.status_code)
    assert getattr(head, "url", "/new/") == "/new/"
    assert list(head) == [b""]


def test_a_head_of_a_page_not_filtered_is_the_views_own_response():
    with project([spec("Upper")], middleware=["django.middleware.common.CommonMiddleware", FILTER_MIDDLEWARE]):
        head = Client().head("/text/")
    assert (head.streaming, head["Content-Length"]) == (False, str(len(b"<p>plain</p>")))


async def test_a_head_of_a_filtered_page_is_read_by_djangos_asgi_handler_without_a_warning_when_the_filter_runs_sync():
    with project([spec("Upper")]):
        middleware = FilterMiddleware(lambda request: HttpResponse(PAGE, content_type="text/html"))  # sync mode
    head = middleware(AsyncRequestFactory().head("/"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert [chunk async for chunk in head] == [b""]  # as ASGIHandler.send_response reads it


@pytest.fixture(scope="module", params=["waitress", "wsgiref", "uvicorn"])
def served(request):
    """A real server running ``SITE``."""
    with override_settings(INSTALLED_APPS=DJANGO_DEFAULT_APPS), project([spec("Upper")], middleware=SITE):
        if request.param == "waitress":
            with waitress_serving(get_wsgi_application()) as port:
                yield port
        elif request.param == "wsgiref":  # which says Content-Length: 0 of an iterable that gives nothing
            with wsgiref_serving(get_wsgi_application()) as port:
                yield port
        else:
            with uvicorn_serving(get_asgi_application()) as port:
                yield port


@pytest.mark.parametrize("path", ["/html/", "/long/", "/text/"])
def test_a_head_sends_no_content_length_but_the_gets_on_a_real_server(served, path):
    _, got, _ = exchange(served, "GET", path)
    status, head, _ = exchange(served, "HEAD", path)
    assert status == 200 and dict(head).get("content-length") in (None, dict(got)["content-length"])


class Registered(HttpResponse):
    """A response class whose subclasses must name a kind (a registry pattern)."""

    def __init_subclass__(cls, *, kind, **rest):
        super().__init_subclass__(**rest)


class PageResponse(Registered, kind="page"):
    pass


class SlottedResponse(HttpResponse):
    __slots__ = ("page_id",)


def test_a_head_of_a_response_class_that_cannot_be_subclassed_so_is_still_an_empty_stream():
    with project([spec("Upper")]):
        middleware = FilterMiddleware(lambda request: PageResponse("<p>a</p>", content_type="text/html"))
    head = middleware(RequestFactory().head("/"))
    assert (head.status_code, head.streaming, list(head)) == (200, True, [b""])


def test_a_head_keeps_what_the_view_set_in_its_response_class_slots():
    def view(request):
        response = SlottedResponse("<p>a</p>", content_type="text/html")
        response.page_id = 7
        return response

    with project([spec("Upper")]):
        head = FilterMiddleware(view)(RequestFactory().head("/"))
    assert (head.page_id, isinstance(head, SlottedResponse)) == (7, True)
