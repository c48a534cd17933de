"""The app's second call of a redispatch is a call as a server makes it: its ``receive``
says the request ended (the body once, then ``http.disconnect``), and it starts in the
server's context, not in what the first call set there."""

from __future__ import annotations

import contextvars

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from tests.support import http_servers
from tests.support.asgi_harness import Exchange, UpperFilter, body, make_scope, start

CONDITIONAL = make_scope(headers=[(b"host", b"example.com"), (b"if-none-match", b'"v1"')])
NOT_MODIFIED = {"type": "http.response.start", "status": 304, "headers": [(b"etag", b'"v1"')]}
REQUEST_ID = contextvars.ContextVar("request_id", default=None)


class PassOn(BaseHTTPMiddleware):
    """An ``@app.middleware("http")`` that does nothing: it refuses a second ``http.request``."""

    async def dispatch(self, request, call_next):
        return await call_next(request)


@pytest.mark.parametrize("serving", [http_servers.uvicorn_serving, http_servers.hypercorn_serving], ids=["uvicorn", "hypercorn"])
def test_a_file_revalidated_through_a_base_http_middleware_is_the_filtered_page(serving, tmp_path):
    # The first call (a 304) never reads the request; under ASGI spec 2.3 the second call's
    # FileResponse listens for the disconnect, and must not be handed the server's request again.
    (tmp_path / "page.html").write_bytes(b"<p>hello</p>")
    files = StaticFiles(directory=tmp_path)  # a 304 to a matching condition, else a FileResponse
    app = UpperFilter.asgi(Starlette(routes=[Mount("/static", files)], middleware=[Middleware(PassOn)]))
    with serving(app) as port, httpx.Client(timeout=10) as client:
        url = f"http://127.0.0.1:{port}/static/page.html"
        response = client.get(url, headers={"if-modified-since": "Thu, 01 Jan 2099 00:00:00 GMT"})
    assert (response.status_code, response.content) == (200, b"<P>HELLO</P>")


async def test_the_second_call_gets_an_empty_body_then_the_disconnect_when_the_first_left_the_body_unread():
    received = []

    async def app(scope, receive, send):
        if any(name == b"if-none-match" for name, _ in scope["headers"]):
            await send(NOT_MODIFIED)
            await send(body(b""))
            return
        received.append(await receive())
        await send(start())
        await send(body(b"<p>x</p>"))
        received.append(await receive())  # the server's: once the response went out

    exchange = Exchange()
    with anyio.fail_after(5):
        await UpperFilter.asgi(app)(CONDITIONAL, exchange.receive, exchange.send)
    assert (exchange.status, exchange.body) == (200, b"<P>X</P>")
    assert [message["type"] for message in received] == ["http.request", "http.disconnect"]
    assert (received[0]["body"], received[0].get("more_body", False)) == (b"", False)


@pytest.mark.parametrize("ends_answer", [True, False], ids=["answer-ended", "returned-without-ending-it"])
async def test_the_second_call_starts_without_what_the_first_set_in_its_context(ends_answer):
    found = []

    async def app(scope, receive, send):
        found.append(REQUEST_ID.get())
        REQUEST_ID.set(f"call {len(found)}")
        if any(name == b"if-none-match" for name, _ in scope["headers"]):
            await send(NOT_MODIFIED)
            if ends_answer:
                await send(body(b""))
            return
        await send(start())
        await send(body(b"<p>x</p>"))

    REQUEST_ID.set("server")
    exchange = Exchange()
    with anyio.fail_after(5):
        await UpperFilter.asgi(app)(CONDITIONAL, exchange.receive, exchange.send)
    assert (exchange.status, exchange.body) == (200, b"<P>X</P>")
    assert found == ["server", "server"]
