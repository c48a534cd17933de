"""Chains and streaming filters under ASGI: Starlette behind a chain, a streamed body on uvicorn."""

from __future__ import annotations

import threading

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse
from starlette.routing import Route

from dualfilter import StreamError, chain
from tests.support.chain_hosts import uvicorn_serving

from .chain_filters import AddParagraph, Footer, MarkBody, Replace, Rot13Text, UpperStream

PAGE = "<!DOCTYPE html><html><head><title>t</title></head><body><p>the cat \u00e9</p></body></html>"


def starlette_app(*middleware: Middleware) -> Starlette:
    async def index(request):
        return HTMLResponse(PAGE)

    return Starlette(routes=[Route("/", index)], middleware=list(middleware))


async def get(app) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.get("/")


async def test_a_chain_in_starlette_answers_as_nested_middlewares():
    chained = await get(starlette_app(Middleware(chain(MarkBody, Rot13Text, AddParagraph))))
    nested = await get(starlette_app(Middleware(MarkBody), Middleware(Rot13Text), Middleware(AddParagraph)))
    assert (chained.status_code, chained.headers.raw, chained.content) == (nested.status_code, nested.headers.raw, nested.content)
    assert b'<body class="m"><p>gur png' in chained.content


def scope() -> dict:
    return {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}


async def receive() -> dict:
    return {"type": "http.request", "body": b"", "more_body": False}


def streaming_app(sent_when_first_body_went, trailers=False):
    """Sends two body chunks; after the first, notes how many messages the client had."""

    async def app(scope, receive, send):
        start = {"type": "http.response.start", "status": 200, "trailers": trailers}
        start["headers"] = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"15")]
        await send(start)
        await send({"type": "http.response.body", "body": b"<p>a ca", "more_body": True})
        sent_when_first_body_went.append(len(client))
        await send({"type": "http.response.body", "body": b"t</p>\n\n\n", "more_body": False})
        if trailers:
            await send({"type": "http.response.trailers", "headers": [(b"x-sum", b"1")], "more_trailers": False})

    client: list[dict] = []
    return app, client


async def test_a_streamed_chunk_is_sent_before_the_app_sends_the_next():
    noted: list[int] = []
    app, client = streaming_app(noted)

    async def send(message):
        client.append(message)

    await UpperStream(app)(scope(), receive, send)
    assert noted == [2]  # the start and the first filtered chunk were already out
    assert client[0]["headers"] == [(b"content-type", b"text/html; charset=utf-8")]
    assert b"".join(m.get("body", b"") for m in client[1:]) == b"<P>A CAT</P>\n\n\n"
    assert client[-1]["more_body"] is False


async def test_a_streamed_response_keeps_its_trailers():
    app, client = streaming_app([], trailers=True)

    async def send(message):
        client.append(message)

    await Replace(app)(scope(), receive, send)
    assert b"".join(m.get("body", b"") for m in client if m["type"] == "http.response.body") == b"<p>a dog</p>\n\n\n"
    assert client[-1] == {"type": "http.response.trailers", "headers": [(b"x-sum", b"1")], "more_trailers": False}


async def test_a_stream_failing_mid_body_raises_out_of_the_app():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=latin-1")]})
        await send({"type": "http.response.body", "body": b"<p>first</p>", "more_body": True})
        await send({"type": "http.response.body", "body": b"a cat", "more_body": False})

    sent = []

    async def send(message):
        sent.append(message)

    with pytest.raises(StreamError):
        await Replace(app, new="\u2603")(scope(), receive, send)
    assert sent[0]["status"] == 200 and sent[-1]["more_body"] is True  # started, then cut short


async def test_a_stream_failing_before_its_first_output_gives_the_clean_500():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=latin-1")]})
        await send({"type": "http.response.body", "body": b"a cat", "more_body": False})

    sent = []

    async def send(message):
        sent.append(message)

    await Replace(app, new="\u2603")(scope(), receive, send)
    assert sent[0]["status"] == 500 and sent[-1]["more_body"] is False


def test_a_streaming_chain_streams_on_uvicorn():
    proceed = threading.Event()

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        await send({"type": "http.response.body", "body": b"<p>the first cat</p>", "more_body": True})
        assert await anyio.to_thread.run_sync(proceed.wait, 10), "the client never saw the first chunk"
        await send({"type": "http.response.body", "body": b"<p>the second cat</p>", "more_body": False})

    with uvicorn_serving(chain(Footer, Replace)(app)) as (host, port):
        with httpx.Client(base_url=f"http://{host}:{port}", timeout=10) as client:
            with client.stream("GET", "/") as response:
                assert "content-length" not in response.headers
                chunks = response.iter_raw()
                received = b""
                while b"</p>" not in received:
                    received += next(chunks)
                assert received == b"<p>the first dog</p>"  # while the app was still waiting
                proceed.set()
                assert b"".join(chunks) == b"<p>the second dog</p><!-- footer -->"
