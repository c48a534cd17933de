"""The upstreams the proxy tests put ``dualfilter proxy`` in front of: a small Starlette site,
and ``Recorder``, which answers every request with the request as it arrived.

Every route of the site is also mounted under ``/app``, for a proxy whose upstream URL has a path.
"""

from __future__ import annotations

import gzip
import json
import random
import threading
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route

PAGE = b"<html><body><p>upstream page</p></body></html>"
#: The compressed page, byte for byte as the upstream sends it (no timestamp in the gzip header).
GZIPPED_PAGE = gzip.compress(PAGE, mtime=0)
#: A body that is not HTML, sent in 64 KiB chunks.
LARGE = random.Random(8).randbytes(3 * 1024 * 1024 + 123)
CHUNK = 64 * 1024


class PartialPage:
    """A response whose Content-Length promises more than it sends: the start and a first
    part, then the connection closes (``stall=False``) or nothing more comes until the
    client leaves (``stall=True``)."""

    def __init__(self, content_type: bytes, *, stall: bool = False) -> None:
        self.content_type = content_type
        self.stall = stall

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        headers = [(b"content-type", self.content_type), (b"content-length", b"100")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"<p>first part", "more_body": True})
        if self.stall:
            while (await receive())["type"] != "http.disconnect":
                pass


class Recorder:
    """An ASGI app that answers any request with JSON of its method, target (path and query
    as they came) and headers, and keeps each request's target in ``targets``."""

    def __init__(self) -> None:
        self.targets: list[str] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        target = scope["raw_path"] + (b"?" + scope["query_string"] if scope["query_string"] else b"")
        self.targets.append(target.decode("latin-1"))
        headers = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]}
        body = json.dumps({"method": scope["method"], "target": self.targets[-1], "headers": headers}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})


def make_app(gate: threading.Event) -> Starlette:
    """The upstream site; ``/gate`` sends its second chunk only once ``gate`` is set."""

    def origin(request: Request) -> str:
        host, port = request.scope["server"]
        return f"http://{host}:{port}{request.scope.get('root_path', '')}"

    async def page(request: Request) -> Response:
        return Response(PAGE, media_type="text/html")

    async def gzipped(request: Request) -> Response:
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(GZIPPED_PAGE, media_type="text/html", headers={"content-encoding": "gzip", "vary": "accept-encoding"})
        return Response(PAGE, media_type="text/html", headers={"vary": "accept-encoding"})

    async def untransformed(request: Request) -> Response:
        return Response(PAGE, media_type="text/html", headers={"cache-control": "public, No-Transform, max-age=60"})

    async def redirect(request: Request) -> Response:
        return Response(status_code=302, headers={"location": origin(request) + "/page?x=1#top"})

    async def relative_redirect(request: Request) -> Response:
        return Response(status_code=303, headers={"location": request.scope.get("root_path", "") + "/page"})

    async def away(request: Request) -> Response:
        return Response(status_code=302, headers={"location": "https://example.org/page"})

    async def cookie(request: Request) -> Response:
        path = request.scope.get("root_path", "") or "/"
        response = Response("ok", media_type="text/plain")
        response.raw_headers.append((b"set-cookie", f"session=abc; Domain=127.0.0.1; Path={path}; HttpOnly".encode()))
        response.raw_headers.append((b"set-cookie", b"other=1; Domain=example.org; Path=/elsewhere"))
        return response

    async def hop(request: Request) -> Response:
        headers = {"connection": "x-private", "x-private": "secret", "keep-alive": "timeout=5", "x-kept": "yes"}
        return Response(PAGE, media_type="text/html", headers=headers)

    async def echo(request: Request) -> Response:
        body = await request.body()
        headers = [[name.decode("latin-1"), value.decode("latin-1")] for name, value in request.scope["headers"]]
        return JSONResponse(
            {
                "method": request.method,
                "path": request.url.path,
                "query": request.url.query,
                "headers": headers,
                "body": body.decode("latin-1"),
            }
        )

    async def large(request: Request) -> Response:
        async def chunks():
            for start in range(0, len(LARGE), CHUNK):
                yield LARGE[start : start + CHUNK]

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def gated(request: Request) -> Response:
        async def chunks():
            yield b"first"
            await anyio.to_thread.run_sync(gate.wait, 10)
            yield b"second"

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def slow(request: Request) -> Response:
        # The request has no body: the second receive() returns only when the client goes away.
        await request.receive()
        await request.receive()
        return Response(b"too late")

    routes = [
        Route("/page", page),
        Route("/no-transform", untransformed),
        Route("/gzip", gzipped),
        Route("/redirect", redirect),
        Route("/relative-redirect", relative_redirect),
        Route("/away", away),
        Route("/cookie", cookie),
        Route("/hop", hop),
        Route("/echo", echo, methods=["GET", "POST", "PUT"]),
        Route("/large", large),
        Route("/gate", gated),
        Route("/slow", slow),
        Route("/stalling-page", PartialPage(b"text/html", stall=True)),
        Route("/broken-page", PartialPage(b"text/html")),
        Route("/broken-download", PartialPage(b"application/octet-stream")),
    ]
    return Starlette(routes=[*routes, Mount("/app", routes=routes)])
