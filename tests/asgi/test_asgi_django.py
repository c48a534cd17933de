"""Django's ASGI handler (``get_asgi_application()``) behind the filter."""

from __future__ import annotations

import httpx
import pytest

from dualfilter.asgi import FilterMiddleware
from tests.support.asgi_harness import UpperFilter
from tests.support.django_project import HTML_PAGE, setup_django


@pytest.fixture(scope="module")
def django_app():
    setup_django()
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


@pytest.fixture
async def client(django_app):
    async with httpx.AsyncClient(transport=httpx.ASGITransport(UpperFilter(django_app)), base_url="http://testserver") as client:
        yield client


def test_the_django_asgi_handler_is_detected_as_asgi(django_app):
    assert isinstance(UpperFilter(django_app), FilterMiddleware)


async def test_a_django_html_view_is_filtered(client):
    response = await client.get("/html/")
    assert response.text == HTML_PAGE.upper()
    assert response.headers["content-length"] == str(len(response.content))


async def test_a_django_streaming_response_is_filtered_whole(client):
    response = await client.get("/astreamed/")
    assert response.text == HTML_PAGE.upper()
    assert response.headers["content-length"] == str(len(response.content))


async def test_an_async_django_view_is_filtered(client):
    response = await client.get("/async/")
    assert response.text == HTML_PAGE.upper()


async def test_a_django_text_view_passes_through(client):
    response = await client.get("/text/")
    assert response.text == "<p>not html</p>"


async def test_a_django_json_view_passes_through(client):
    response = await client.get("/json/")
    assert response.json() == {"greeting": "hello", "items": [1, 2, 3]}


async def test_a_django_html_404_passes_through(client):
    response = await client.get("/missing/")
    assert (response.status_code, response.text) == (404, "<p>missing</p>")


async def test_the_request_body_and_query_reach_the_django_view(client):
    response = await client.post("/echo/?x=1", content=b"hello body")
    assert response.text == "<P>POST X=1</P><PRE>HELLO BODY</PRE>"


async def test_a_safe_request_reaches_the_django_view_as_the_client_sent_it(django_app):
    transport = httpx.ASGITransport(UpperFilter(django_app))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        response = await client.get("/headers/", headers={"Range": "bytes=0-3", "If-None-Match": '"x"', "X-Kept": "yes"})
    received = response.json()
    assert received["HTTP_X_KEPT"] == "yes"
    assert (received["HTTP_RANGE"], received["HTTP_IF_NONE_MATCH"]) == ("bytes=0-3", '"x"')
