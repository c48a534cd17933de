"""Validators a filter sets for the body it makes reach the client on real servers; the
app's, which described the old body, do not (and a filter's own ETag stands in place of
the derived one)."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from dualfilter import Filter
from tests.support.http_servers import uvicorn_serving, waitress_serving

PAGE = "<html><body><p>hello</p></body></html>"
APP_VALIDATORS = {"ETag": '"app-v1"', "Last-Modified": "Tue, 14 Nov 2023 22:13:20 GMT"}
STAMPED = "Wed, 01 Nov 2023 00:00:00 GMT"


class Hashed(Filter):
    """Upper-cases the page and tags it with a hash of what it made."""

    def filter(self, environ, headers, data):
        body = data.upper()
        headers["ETag"] = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
        headers["Last-Modified"] = STAMPED
        return body


def flask_app():
    app = Flask("filter_validators")
    app.get("/")(lambda: (PAGE, 200, APP_VALIDATORS))
    return app.wsgi_app


def starlette_app():
    async def page(request):
        return HTMLResponse(PAGE, headers=APP_VALIDATORS)

    return Starlette(routes=[Route("/", page)])


@pytest.mark.parametrize("force_no_conditional", [True, False])
@pytest.mark.parametrize(
    ("serving", "app", "wrap"),
    [(waitress_serving, flask_app, Hashed.wsgi), (uvicorn_serving, starlette_app, Hashed.asgi)],
    ids=["waitress-flask", "uvicorn-starlette"],
)
def test_the_validators_a_filter_set_for_its_page_reach_the_client(serving, app, wrap, force_no_conditional):
    with serving(wrap(app(), force_no_conditional=force_no_conditional)) as port:
        response = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
    body = PAGE.upper().encode()
    assert response.content == body
    assert response.headers.get_list("etag") == [f'"{hashlib.sha256(body).hexdigest()[:16]}"']
    assert response.headers.get_list("last-modified") == [STAMPED]
