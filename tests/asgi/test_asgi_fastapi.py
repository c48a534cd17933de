"""FastAPI apps configured with ``add_middleware``: an HTML route and a JSON route."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.testclient import TestClient

from dualfilter import Filter
from tests.support.asgi_harness import UpperFilter


class RedactEmail(Filter):
    """Replaces the ``email`` field of JSON objects: a ``json``-format filter."""

    format = "json"

    def filter(self, environ, headers, data):
        if isinstance(data, dict) and "email" in data:
            data["email"] = "***"
        headers["X-Redacted"] = "1"
        return data


def make_app() -> FastAPI:
    app = FastAPI()

    @app.get("/page", response_class=HTMLResponse)
    async def page() -> str:
        return "<h1>fastapi</h1>"

    @app.get("/user")
    async def user() -> dict:
        return {"name": "ada", "email": "ada@example.com"}

    return app


async def test_add_middleware_filters_an_html_route():
    app = make_app()
    app.add_middleware(UpperFilter)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver") as client:
        response = await client.get("/page")
    assert response.text == "<H1>FASTAPI</H1>"
    assert response.headers["content-length"] == str(len(response.content))


async def test_an_html_filter_leaves_a_json_route_alone():
    app = make_app()
    app.add_middleware(UpperFilter)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver") as client:
        response = await client.get("/user")
    assert response.json() == {"name": "ada", "email": "ada@example.com"}


async def test_a_json_format_filter_rewrites_a_json_route():
    app = make_app()
    app.add_middleware(RedactEmail)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver") as client:
        response = await client.get("/user")
    assert response.json() == {"name": "ada", "email": "***"}
    assert response.headers["x-redacted"] == "1"
    assert response.headers["content-length"] == str(len(response.content))


def test_stacked_filters_through_the_test_client():
    app = make_app()
    app.add_middleware(UpperFilter)
    app.add_middleware(RedactEmail)
    with TestClient(app) as client:
        assert client.get("/page").text == "<H1>FASTAPI</H1>"
        assert client.get("/user").json() == {"name": "ada", "email": "***"}


def test_the_openapi_schema_passes_through_an_html_filter():
    app = make_app()
    app.add_middleware(UpperFilter)
    with TestClient(app) as client:
        assert client.get("/openapi.json").json()["paths"].keys() == {"/page", "/user"}
