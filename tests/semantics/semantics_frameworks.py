"""One small site per framework, each serving the same paths with the framework's own tools.

- ``/page``: an HTML page (filtered by :class:`Redact`);
- ``/headers``: a plain-text answer with headers of its own, Set-Cookie twice (never filtered);
- ``/static/page.html`` and ``/static/style.css``: the framework's own static
  file server, where it has one (it answers Range and validators itself).

Each factory makes a fresh app (some frameworks keep a registry of app names
or bind route handlers to one app); ``kind`` says whether it is ASGI or WSGI.
"""

from __future__ import annotations

import itertools
import pathlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .semantics_sites import PAGE

COOKIES = ("a=1", "b=2")
_names = itertools.count()


@dataclass(frozen=True)
class Framework:
    name: str
    kind: str  # "asgi" or "wsgi"
    make: Callable[[pathlib.Path], Any]
    #: Whether its static server answers Range with a 206 and validators with a 304.
    static_answers: bool = True
    #: Whether its ``/page`` answers HEAD.
    head: bool = True


def sanic(static: pathlib.Path) -> Any:
    from sanic import Sanic, response

    app = Sanic(f"semantics{next(_names)}", configure_logging=False)
    app.static("/static", str(static), use_content_range=True)

    @app.route("/page", methods=["GET", "HEAD"])
    async def page(request: Any) -> Any:
        return response.html(PAGE.decode())

    @app.get("/headers")
    async def headers(request: Any) -> Any:
        answer = response.text("ok", headers={"X-One": "1"})
        for cookie in COOKIES:
            answer.headers.add("Set-Cookie", cookie)
        return answer

    return app


def litestar(static: pathlib.Path) -> Any:
    from litestar import Litestar, MediaType, get
    from litestar.static_files import create_static_files_router

    @get("/page", media_type=MediaType.HTML)
    async def page() -> str:
        return PAGE.decode()

    @get("/headers", media_type=MediaType.TEXT, response_headers={"X-One": "1"})
    async def headers() -> str:
        return "ok"

    return Litestar(route_handlers=[page, headers, create_static_files_router(path="/static", directories=[static])])


def quart(static: pathlib.Path) -> Any:
    from quart import Quart, make_response

    app = Quart(f"semantics{next(_names)}", static_folder=str(static), static_url_path="/static")

    @app.get("/page")
    async def page() -> Any:
        return PAGE.decode(), 200, {"Content-Type": "text/html; charset=utf-8"}

    @app.get("/headers")
    async def headers() -> Any:
        answer = await make_response("ok", 200, {"Content-Type": "text/plain", "X-One": "1"})
        for cookie in COOKIES:
            answer.headers.add("Set-Cookie", cookie)
        return answer

    return app


def falcon(static: pathlib.Path) -> Any:
    import falcon.asgi

    class Page:
        async def on_get(self, req: Any, resp: Any) -> None:
            resp.content_type = "text/html; charset=utf-8"
            resp.data = PAGE

        on_head = on_get

    class Headers:
        async def on_get(self, req: Any, resp: Any) -> None:
            resp.content_type = "text/plain"
            resp.data = b"ok"
            resp.set_header("X-One", "1")
            for cookie in COOKIES:
                resp.append_header("Set-Cookie", cookie)

    app = falcon.asgi.App()
    app.add_route("/page", Page())
    app.add_route("/headers", Headers())
    app.add_static_route("/static", str(static))
    return app


def starlette(static: pathlib.Path) -> Any:
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, PlainTextResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    async def page(request: Any) -> Any:
        return HTMLResponse(PAGE)

    async def headers(request: Any) -> Any:
        answer = PlainTextResponse("ok", headers={"X-One": "1"})
        for cookie in COOKIES:
            answer.headers.append("Set-Cookie", cookie)
        return answer

    return Starlette(routes=[Route("/page", page), Route("/headers", headers), Mount("/static", StaticFiles(directory=static))])


def pyramid(static: pathlib.Path) -> Any:
    from pyramid.config import Configurator
    from pyramid.response import Response

    def page(request: Any) -> Any:
        return Response(PAGE, content_type="text/html", charset="utf-8")

    def headers(request: Any) -> Any:
        answer = Response(b"ok", content_type="text/plain")
        answer.headers["X-One"] = "1"
        for cookie in COOKIES:
            answer.headers.add("Set-Cookie", cookie)
        return answer

    with Configurator() as config:
        config.add_route("page", "/page")
        config.add_view(page, route_name="page")
        config.add_route("headers", "/headers")
        config.add_view(headers, route_name="headers")
        config.add_static_view(name="static", path=str(static))
        return config.make_wsgi_app()


def bottle(static: pathlib.Path) -> Any:
    import bottle as framework

    app = framework.Bottle()

    @app.get("/page")
    def page() -> bytes:
        framework.response.content_type = "text/html; charset=utf-8"
        return PAGE

    @app.get("/headers")
    def headers() -> bytes:
        framework.response.content_type = "text/plain"
        framework.response.set_header("X-One", "1")
        for cookie in COOKIES:
            framework.response.add_header("Set-Cookie", cookie)
        return b"ok"

    @app.get("/static/<name>")
    def files(name: str) -> Any:
        return framework.static_file(name, root=str(static))

    return app


def flask(static: pathlib.Path) -> Any:
    from flask import Flask, make_response

    app = Flask(f"semantics{next(_names)}", static_folder=str(static), static_url_path="/static")

    @app.get("/page")
    def page() -> Any:
        return PAGE, 200, {"Content-Type": "text/html; charset=utf-8"}

    @app.get("/headers")
    def headers() -> Any:
        answer = make_response("ok", 200, {"Content-Type": "text/plain", "X-One": "1"})
        for cookie in COOKIES:
            answer.headers.add("Set-Cookie", cookie)
        return answer

    return app


def django(static: pathlib.Path) -> Any:
    """Django's WSGI handler over the shared test project (``/html/`` is its page)."""
    from django.core.wsgi import get_wsgi_application

    from tests.support.django_project import setup_django

    setup_django()
    return get_wsgi_application()


FRAMEWORKS = {
    "sanic": Framework("sanic", "asgi", sanic),
    # Litestar's static files router answers every request with the whole file (no 206,
    # no 304), and a GET handler does not answer HEAD.
    "litestar": Framework("litestar", "asgi", litestar, static_answers=False, head=False),
    "quart": Framework("quart", "asgi", quart),
    "falcon": Framework("falcon", "asgi", falcon),
    "starlette": Framework("starlette", "asgi", starlette),
    "pyramid": Framework("pyramid", "wsgi", pyramid),
    "bottle": Framework("bottle", "wsgi", bottle),
    "flask": Framework("flask", "wsgi", flask),
}
