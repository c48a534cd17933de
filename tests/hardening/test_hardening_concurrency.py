"""Concurrency: 500 requests at once through real servers, each response filtered for its own request.

The filter writes the request path into the page and a header, so a response
filtered with another request's environ, or carrying another request's body,
shows. uvicorn and waitress serve on 127.0.0.1; an httpx client keeps 50
connections busy. Under ISAPI, 500 requests are pending at once in a
``WSGIExtension``'s worker pool.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import anyio
import httpx
from starlette.applications import Starlette
from starlette.responses import StreamingResponse
from starlette.routing import Route

from dualfilter import Filter
from dualfilter.isapi import WSGIExtension
from dualfilter.isapi.testing import FakeECB, call_extension
from tests.support.hardening_hosts import HTML, uvicorn_serving, waitress_serving, wrap

REQUESTS = 500
CONNECTIONS = 50


class PathStamp(Filter):
    """Writes the request's path into the page and a header: its output depends on the request."""

    def filter(self, environ, headers, data):
        path = environ["PATH_INFO"]
        headers["X-Filtered-For"] = path
        return data.replace(b"</body>", f"<footer>{path}</footer></body>".encode())


class AsyncPathStamp(PathStamp):
    """The same, as an ``async def`` filter that yields to the event loop first."""

    async def filter(self, environ, headers, data):
        await anyio.sleep(0)
        return PathStamp.filter(self, environ, headers, data)


def pieces(n: int) -> list[bytes]:
    return [b"<html><body>", f"<p>item {n}</p>".encode(), b"</body></html>"]


def expected(n: int) -> bytes:
    return f"<html><body><p>item {n}</p><footer>/item/{n}</footer></body></html>".encode()


async def get_all(base: str) -> list[httpx.Response]:
    """Every request, sent by ``CONNECTIONS`` clients at once, each on one keep-alive connection.

    One client per connection keeps httpx's pool short: its queue of waiting
    requests costs time quadratic in its length.
    """
    responses: list[httpx.Response | None] = [None] * REQUESTS

    async def client(first: int) -> None:
        async with httpx.AsyncClient(base_url=base, limits=httpx.Limits(max_connections=1), timeout=30) as http:
            for n in range(first, REQUESTS, CONNECTIONS):
                responses[n] = await http.get(f"/item/{n}")

    async with anyio.create_task_group() as clients:
        for first in range(CONNECTIONS):
            clients.start_soon(client, first)
    return responses  # type: ignore[return-value]


def mismatches(responses: list[httpx.Response]) -> list[int]:
    """The request numbers whose response is not their own filtered page."""
    return [
        n
        for n, response in enumerate(responses)
        if (response.status_code, response.content, response.headers.get("x-filtered-for")) != (200, expected(n), f"/item/{n}")
    ]


def starlette_items() -> Starlette:
    async def item(request):
        n = int(request.path_params["n"])

        async def body():
            for piece in pieces(n):
                await anyio.sleep(0)  # let other requests' chunks interleave with this one's
                yield piece

        return StreamingResponse(body(), media_type="text/html")

    return Starlette(routes=[Route("/item/{n}", item)])


async def test_500_concurrent_requests_through_uvicorn_each_get_their_own_page_filtered_in_threads():
    # thread_threshold=0: every filter() runs in a worker thread, many at a time.
    with uvicorn_serving(wrap("asgi", PathStamp(thread_threshold=0), starlette_items())) as base:
        assert mismatches(await get_all(base)) == []


async def test_500_concurrent_requests_through_uvicorn_each_get_their_own_page_from_an_async_filter():
    with uvicorn_serving(wrap("asgi", AsyncPathStamp(), starlette_items())) as base:
        assert mismatches(await get_all(base)) == []


def wsgi_items(environ, start_response):
    n = int(environ["PATH_INFO"].rsplit("/", 1)[1])
    start_response("200 OK", [("Content-Type", HTML)])
    return iter(pieces(n))


async def test_500_concurrent_requests_through_threaded_waitress_each_get_their_own_page():
    with waitress_serving(wrap("wsgi", PathStamp(), wsgi_items), threads=8) as base:
        assert mismatches(await get_all(base)) == []


def test_500_requests_pending_at_once_in_an_isapi_worker_pool_each_get_their_own_page():
    extension = wrap("isapi", PathStamp(), WSGIExtension(wsgi_items, workers=8))
    ecbs = [FakeECB("GET", f"/item/{n}") for n in range(REQUESTS)]
    with ThreadPoolExecutor(CONNECTIONS) as clients:  # IIS calls in from many threads
        responses = list(clients.map(lambda ecb: call_extension(extension, ecb, timeout=20), ecbs))
    extension.TerminateExtension(0)
    wrong = [
        n
        for n, response in enumerate(responses)
        if (response.status, response.body, response.header("X-Filtered-For")) != (200, expected(n), f"/item/{n}")
    ]
    assert wrong == []
