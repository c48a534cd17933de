"""Failures: a filter that raises, an app that raises, a client that goes away."""

from __future__ import annotations

import asyncio
import logging

import anyio
import pytest
from starlette.responses import StreamingResponse

from dualfilter import Filter
from tests.support.asgi_harness import Exchange, UpperFilter, body, call, make_scope, raw_app, start


class BrokenFilter(Filter):
    def filter(self, environ, headers, data):
        raise ValueError("filter exploded")


class AppError(Exception):
    pass


async def test_a_filter_that_raises_gives_a_clean_500(caplog):
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        exchange = await call(BrokenFilter.asgi(raw_app(start(), body(b"<p>x</p>"))))
    assert exchange.status == 500
    assert exchange.body == b"Internal Server Error\n"
    assert exchange.headers[b"content-length"] == str(len(exchange.body)).encode()
    assert "filter exploded" in caplog.text


async def test_the_500_of_a_failed_filter_shows_the_traceback_only_with_debug():
    exchange = await call(BrokenFilter.asgi(raw_app(start(), body(b"<p>x</p>")), debug=True))
    assert exchange.status == 500
    assert b"ValueError: filter exploded" in exchange.body


async def test_the_500_of_a_failed_filter_announces_no_trailers_even_if_the_app_did():
    trailers = {"type": "http.response.trailers", "headers": [(b"x-a", b"1")], "more_trailers": False}
    exchange = await call(BrokenFilter.asgi(raw_app(start(trailers=True), body(b"<p>x</p>"), trailers)))
    assert exchange.status == 500
    assert "trailers" not in exchange.start
    assert exchange.types == ["http.response.start", "http.response.body"]


async def test_an_async_filter_that_raises_gives_a_clean_500():
    class AsyncBroken(Filter):
        async def filter(self, environ, headers, data):
            await anyio.sleep(0)
            raise ValueError("async filter exploded")

    exchange = await call(AsyncBroken.asgi(raw_app(start(), body(b"<p>x</p>"))))
    assert (exchange.status, exchange.body) == (500, b"Internal Server Error\n")


async def test_an_app_that_raises_before_starting_propagates_the_exception():
    error = AppError("before start")

    async def app(scope, receive, send):
        raise error

    exchange = Exchange()
    with pytest.raises(AppError) as caught:
        await UpperFilter.asgi(app)(make_scope(), exchange.receive, exchange.send)
    assert caught.value is error
    assert exchange.messages == []


async def test_an_app_that_raises_mid_body_of_a_filtered_response_sends_nothing_and_propagates():
    async def app(scope, receive, send):
        await send(start())
        await send(body(b"<p>half", more=True))
        raise AppError("mid body")

    exchange = Exchange()
    with pytest.raises(AppError):
        await UpperFilter.asgi(app)(make_scope(), exchange.receive, exchange.send)
    assert exchange.messages == []  # the server is free to answer with its own 500


async def test_an_app_that_raises_mid_body_of_a_passthrough_response_propagates_after_what_went_out():
    async def app(scope, receive, send):
        await send(start("text/plain"))
        await send(body(b"half", more=True))
        raise AppError("mid body")

    exchange = Exchange()
    with pytest.raises(AppError):
        await UpperFilter.asgi(app)(make_scope(), exchange.receive, exchange.send)
    assert exchange.types == ["http.response.start", "http.response.body"]


async def test_an_app_that_returns_without_ending_a_filtered_response_sends_nothing():
    exchange = await call(UpperFilter.asgi(raw_app(start(), body(b"<p>never ended", more=True))))
    assert exchange.messages == []


def streaming_app(media_type, streamed, generator_closed):
    """A Starlette StreamingResponse that sends two chunks, then waits for ever."""

    async def chunks():
        try:
            yield "<p>one</p>"
            yield "<p>two</p>"
            streamed.set()
            await anyio.sleep_forever()
        finally:
            generator_closed.set()

    async def app(scope, receive, send):
        await StreamingResponse(chunks(), media_type=media_type)(scope, receive, send)

    return app


@pytest.mark.parametrize("media_type", ["text/html", "text/plain"])
async def test_a_client_disconnect_while_the_app_streams_ends_quietly_without_leaking_tasks(media_type):
    streamed, generator_closed = anyio.Event(), anyio.Event()
    exchange = Exchange()
    before = asyncio.all_tasks()

    async def disconnect_when_streamed():
        await streamed.wait()
        exchange.disconnect.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(disconnect_when_streamed)
        await UpperFilter.asgi(streaming_app(media_type, streamed, generator_closed))(
            make_scope(), exchange.receive, exchange.send
        )

    assert generator_closed.is_set()
    assert asyncio.all_tasks() == before
    if media_type == "text/html":
        assert exchange.messages == []  # a held response is dropped, never sent in half
    else:
        assert exchange.body == b"<p>one</p><p>two</p>"
