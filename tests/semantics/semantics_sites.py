"""The sites the semantics tests serve: one static directory, the same paths on ASGI and WSGI.

Every site answers the same paths, each under four prefixes that say what the
app is wrapped in:

- ``/raw/...``: the app alone (what a client gets without the filter);
- ``/f/...``: behind :class:`Redact` (default options: no validators on filtered pages);
- ``/c/...``: behind :class:`Redact` with ``force_no_conditional=False`` (derived ETags);
- ``/skip/...``: behind :class:`RedactPages`, whose ``should_filter_request`` leaves ``/static/`` alone.

Under each prefix: ``/static/page.html`` (a filtered page) and
``/static/style.css`` (a type the filter leaves alone) from the host's own
static server — Starlette's ``StaticFiles`` on ASGI, whitenoise on WSGI, and
WebOb's ``DirectoryApp`` under ``/webob/`` — which answer Range with 206 and
validators with 304; ``/empty`` (a 204); ``/reset`` (a 205 of an HTML page
with the content it must not have); ``/trailers`` (ASGI: an HTML page
with a trailer section when the server offers ``http.response.trailers``).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable, Iterable
from typing import Any
from wsgiref.util import shift_path_info

from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from tests.support.hardening_hosts import Redact, redact

__all__ = ["PAGE", "STYLE", "MTIME", "Redact", "RedactPages", "redact", "write_static", "asgi_site", "wsgi_site"]

PAGE = b"<html><head><title>page</title></head><body>%s</body></html>" % b"".join(
    b"<p>the secret, line %d</p>" % n for n in range(20)
)
STYLE = b"".join(b"p.line%d { color: black }\n" % n for n in range(20))
RESET = b"<p>reset</p>"
MTIME = 1_700_000_000  # 2023-11-14: the files' Last-Modified


class RedactPages(Redact):
    """:class:`Redact` for everything but the static files, which never reach it."""

    def should_filter_request(self, environ):
        return not environ.get("PATH_INFO", "").startswith("/static/")


def write_static(directory: pathlib.Path) -> pathlib.Path:
    """The static files every site serves, with a fixed modification time."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in (("page.html", PAGE), ("style.css", STYLE)):
        (directory / name).write_bytes(data)
        os.utime(directory / name, (MTIME, MTIME))
    return directory


def _filters() -> dict[str, Redact | None]:
    return {"raw": None, "f": Redact(), "c": Redact(force_no_conditional=False), "skip": RedactPages()}


# -- ASGI ---------------------------------------------------------------------------------------


async def _empty(request: Any) -> Response:
    return Response(status_code=204)


async def _reset(request: Any) -> Response:
    return Response(RESET, status_code=205, media_type="text/html")  # content a 205 must not have


class _Trailers:
    """An HTML page with a trailer section, when the server can send one (an ASGI app)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await _trailers(scope, send)


async def _trailers(scope: Any, send: Any) -> None:
    trailers = "http.response.trailers" in scope.get("extensions", {})
    headers = [(b"content-type", b"text/html; charset=utf-8")]
    if trailers:
        headers.append((b"trailer", b"x-checksum"))
    await send({"type": "http.response.start", "status": 200, "headers": headers, "trailers": trailers})
    await send({"type": "http.response.body", "body": PAGE[:50], "more_body": True})
    await send({"type": "http.response.body", "body": PAGE[50:], "more_body": False})
    if trailers:
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")], "more_trailers": False})


def asgi_inner(static: pathlib.Path) -> Starlette:
    return Starlette(
        routes=[
            Mount("/static", StaticFiles(directory=static)),
            Route("/empty", _empty),
            Route("/reset", _reset),
            Route("/trailers", _Trailers()),
        ]
    )


def asgi_site(static: pathlib.Path) -> Starlette:
    """The ASGI site: every prefix over its own copy of the inner app."""
    routes = []
    for prefix, flt in _filters().items():
        inner = asgi_inner(static)
        routes.append(Mount(f"/{prefix}", inner if flt is None else flt.asgi(inner)))
    return Starlette(routes=routes)


# -- WSGI ---------------------------------------------------------------------------------------

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _not_found(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", "9")])
    return [b"not found"]


def wsgi_inner(static: pathlib.Path) -> WSGIApp:
    from webob.static import DirectoryApp
    from whitenoise import WhiteNoise

    webob = DirectoryApp(str(static))

    def routes(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/empty":
            start_response("204 No Content", [])
            return []
        if path == "/reset":
            start_response("205 Reset Content", [("Content-Type", "text/html"), ("Content-Length", str(len(RESET)))])
            return [RESET]
        if path.startswith("/webob/"):
            shift_path_info(environ)
            return webob(environ, start_response)  # type: ignore[no-any-return]
        return _not_found(environ, start_response)

    return WhiteNoise(routes, root=str(static), prefix="static/")  # type: ignore[no-any-return]


def wsgi_site(static: pathlib.Path) -> WSGIApp:
    """The WSGI site: the first path segment picks the prefix's app."""
    apps: dict[str, WSGIApp] = {}
    for prefix, flt in _filters().items():
        inner = wsgi_inner(static)
        apps[prefix] = inner if flt is None else flt.wsgi(inner)

    def site(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        prefix = shift_path_info(environ)
        app = apps.get(prefix or "")
        return (app or _not_found)(environ, start_response)

    return site


def wsgi_site_from_env() -> WSGIApp:
    """The WSGI site over the directory ``$SEMANTICS_STATIC`` (gunicorn's app factory)."""
    return wsgi_site(pathlib.Path(os.environ["SEMANTICS_STATIC"]))
