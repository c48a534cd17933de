"""``If-None-Match: *`` on real servers: an app's 304 to it naming no type keeps the app's
own tag for a page the filter leaves alone (as without the filter: a cache stores the
strong tag a later If-Range needs), and is the derived tag for a filtered page."""

from __future__ import annotations

import httpx
import pytest
from flask import Flask, send_file
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.filters import Upper
from tests.support.http_servers import uvicorn_serving, waitress_serving

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
HTML = b"<html><body><p>hello</p></body></html>"
ANY = {"If-None-Match": "*"}


def flask_app(tmp_path):
    (tmp_path / "image.png").write_bytes(PNG)
    (tmp_path / "page.html").write_bytes(HTML)
    app = Flask("any_tag")

    @app.get("/<name>")
    def file(name):
        return send_file(tmp_path / name)  # werkzeug answers "*" with a 304 that names no type

    return app


def starlette_app():
    async def file(request: Request) -> Response:
        name = request.path_params["name"]
        if request.headers.get("if-none-match") == "*":
            return Response(status_code=304, headers={"etag": f'"{name}-v1"'})
        body, media_type = (PNG, "image/png") if name.endswith(".png") else (HTML, "text/html")
        return Response(body, media_type=media_type, headers={"etag": f'"{name}-v1"'})

    return Starlette(routes=[Route("/{name}", file)])


@pytest.fixture(params=["waitress-flask", "uvicorn-starlette"])
def served(request, tmp_path):
    """``get(path, headers, filtered)``: what a client receives from the app alone, or through the filter."""
    if request.param == "waitress-flask":
        bare = flask_app(tmp_path).wsgi_app
        apps, serving = (bare, Upper.wsgi(bare, force_no_conditional=False)), waitress_serving
    else:
        bare = starlette_app()
        apps, serving = (bare, Upper.asgi(bare, force_no_conditional=False)), uvicorn_serving
    with serving(apps[0]) as alone, serving(apps[1]) as through, httpx.Client(timeout=10) as client:

        def get(path, headers, filtered):
            return client.get(f"http://127.0.0.1:{through if filtered else alone}{path}", headers=headers)

        yield get


def test_a_304_to_any_tag_for_a_page_not_filtered_is_the_apps_own(served):
    alone, through = served("/image.png", ANY, False), served("/image.png", ANY, True)
    assert alone.status_code == 304 and not alone.headers["etag"].startswith("W/")
    assert (through.status_code, through.headers["etag"], through.content) == (304, alone.headers["etag"], b"")


def test_a_304_to_any_tag_for_a_filtered_page_carries_the_tag_of_the_filtered_page(served):
    page = served("/page.html", {}, True)
    assert page.content == HTML.upper() and page.headers["etag"].startswith("W/")
    through = served("/page.html", ANY, True)
    assert (through.status_code, through.headers["etag"], through.content) == (304, page.headers["etag"], b"")
    assert "content-type" not in through.headers
