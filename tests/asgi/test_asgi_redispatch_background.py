"""A redispatch does not wait for the dropped answer: the app is asked again as soon as
that answer has ended, while its call finishes alongside (a Starlette response's
background tasks run after its last message)."""

from __future__ import annotations

import threading
import time

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from tests.support import http_servers
from tests.support.asgi_harness import Exchange, UpperFilter, body, make_scope, start

CONDITIONAL = make_scope(headers=[(b"host", b"example.com"), (b"if-none-match", b'"v1"')])
NOT_MODIFIED = {"type": "http.response.start", "status": 304, "headers": [(b"etag", b'"v1"')]}


class AppError(Exception):
    pass


def asks_the_304(scope) -> bool:
    return any(name == b"if-none-match" for name, _ in scope["headers"])


@pytest.mark.parametrize("serving", [http_servers.uvicorn_serving, http_servers.hypercorn_serving], ids=["uvicorn", "hypercorn"])
def test_the_client_gets_the_page_asked_again_while_the_dropped_answers_background_task_still_runs(serving):
    release = threading.Event()  # set once the client has its response
    ran = []

    async def log_view(status):
        await anyio.to_thread.run_sync(release.wait, 10)
        ran.append(status)

    async def page(request):
        if request.headers.get("if-none-match") == '"v1"':
            return Response(status_code=304, headers={"etag": '"v1"'}, background=BackgroundTask(log_view, 304))
        return HTMLResponse("<p>hello</p>", headers={"etag": '"v1"'}, background=BackgroundTask(log_view, 200))

    app = UpperFilter.asgi(Starlette(routes=[Route("/", page)]))
    with serving(app) as port:
        try:
            response = httpx.get(f"http://127.0.0.1:{port}/", headers={"if-none-match": '"v1"'}, timeout=5)
        finally:
            release.set()
        deadline = time.monotonic() + 10
        while len(ran) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert (response.status_code, response.content) == (200, b"<P>HELLO</P>")
    assert sorted(ran) == [200, 304]  # the dropped answer's background task ran too


async def test_the_app_is_asked_again_once_the_dropped_answer_has_ended_before_its_first_call_returns():
    second_started = anyio.Event()

    async def app(scope, receive, send):
        if asks_the_304(scope):
            await send(NOT_MODIFIED)
            await send(body(b""))
            await second_started.wait()  # returns only once the app was asked again
            return
        second_started.set()
        await send(start())
        await send(body(b"<p>x</p>"))

    exchange = Exchange()
    with anyio.fail_after(5):
        await UpperFilter.asgi(app)(CONDITIONAL, exchange.receive, exchange.send)
    assert (exchange.status, exchange.body) == (200, b"<P>X</P>")


async def test_what_the_first_call_sends_after_its_dropped_answer_ended_is_dropped_with_it():
    exchange = Exchange()

    async def app(scope, receive, send):
        if asks_the_304(scope):
            await send(NOT_MODIFIED)
            await send(body(b""))
            await exchange.complete.wait()  # the second answer went out whole
            await send(body(b"stray"))
            await send({"type": "http.response.push", "path": "/stray.css", "headers": []})
            return
        await send(start())
        await send(body(b"<p>x</p>"))

    with anyio.fail_after(5):
        await UpperFilter.asgi(app)(CONDITIONAL, exchange.receive, exchange.send)
    assert exchange.types == ["http.response.start", "http.response.body"]
    assert (exchange.status, exchange.body) == (200, b"<P>X</P>")


async def test_an_error_of_the_first_call_after_its_answer_was_dropped_reaches_the_server_as_raised_after_the_second_answer():
    error = AppError("a background task failed")

    async def app(scope, receive, send):
        if asks_the_304(scope):
            await send(NOT_MODIFIED)
            await send(body(b""))
            await exchange.complete.wait()
            raise error
        await send(start())
        await send(body(b"<p>x</p>"))

    exchange = Exchange()
    with anyio.fail_after(5), pytest.raises(AppError) as caught:
        await UpperFilter.asgi(app)(CONDITIONAL, exchange.receive, exchange.send)
    assert caught.value is error
    assert (exchange.status, exchange.body) == (200, b"<P>X</P>")


async def test_an_error_of_the_second_call_reaches_the_server_as_raised_while_the_first_call_still_runs():
    error = AppError("the page failed")
    second_failed = anyio.Event()

    async def app(scope, receive, send):
        if asks_the_304(scope):
            await send(NOT_MODIFIED)
            await send(body(b""))
            await second_failed.wait()
            return
        second_failed.set()
        raise error

    exchange = Exchange()
    with anyio.fail_after(5), pytest.raises(AppError) as caught:
        await UpperFilter.asgi(app)(CONDITIONAL, exchange.receive, exchange.send)
    assert caught.value is error and exchange.messages == []
