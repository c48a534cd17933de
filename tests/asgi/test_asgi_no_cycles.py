"""Nothing of an ASGI request waits for the garbage collector: a redispatch (the app asked
again) leaves no reference cycle through the middleware's objects."""

from __future__ import annotations

import gc

from tests.support.filters import Upper


async def app(scope, receive, send):
    if any(name == b"if-none-match" for name, _ in scope["headers"]):
        headers = [(b"etag", b'"a"'), (b"content-type", b"text/html")]
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": b"<p>x</p>"})


async def one(middleware, sent):
    scope = {"type": "http", "method": "GET", "path": "/", "raw_path": b"/", "query_string": b"", "root_path": "",
             "scheme": "http", "http_version": "1.1", "headers": [(b"if-none-match", b'"a"')]}  # fmt: skip

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    await middleware(scope, receive, send)


async def test_a_redispatch_leaves_no_reference_cycle():
    middleware = Upper.asgi(app)
    sent: list = []
    await one(middleware, sent)  # warm up: imports, memos
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        sent.clear()
        await one(middleware, sent)
        gc.collect()
        kinds = {type(item).__qualname__ for item in gc.garbage}
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        if enabled:
            gc.enable()
    assert [message.get("status") for message in sent if message["type"] == "http.response.start"] == [200]
    assert not kinds & {"Responder", "FirstCall", "ResponseMachine", "TaskGroup", "ScopeEnviron"}
