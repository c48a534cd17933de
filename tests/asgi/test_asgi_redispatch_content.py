"""An ASGI app asked again (a redispatch) gets no request content the second time, and
headers that say so, as a WSGI app's environ does: a request with content keeps no
Content-Length, Content-Type or Transfer-Encoding of it, but says ``content-length: 0``."""

from __future__ import annotations

import httpx

from tests.support.filters import Upper
from tests.support.http_servers import uvicorn_serving


def recording_app(asked):
    async def app(scope, receive, send):
        assert scope["type"] == "http"
        content = b""
        while True:  # bounded by the request: the server ends it
            message = await receive()
            content += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = dict(scope["headers"])
        asked.append((headers.get(b"content-length"), headers.get(b"content-type"), headers.get(b"range"), content))
        if b"range" in headers:
            head = [(b"content-type", b"text/html"), (b"content-range", b"bytes 0-1/8"), (b"content-length", b"2")]
            await send({"type": "http.response.start", "status": 206, "headers": head})
            await send({"type": "http.response.body", "body": b"<p"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<p>x</p>"})

    return app


def test_the_app_asked_again_is_told_the_request_has_no_content():
    asked = []
    with uvicorn_serving(Upper.asgi(recording_app(asked))) as port:
        headers = {"Range": "bytes=0-1", "Content-Type": "text/plain"}
        request = httpx.Request("GET", f"http://127.0.0.1:{port}/", content=b"hello", headers=headers)
        with httpx.Client(timeout=10) as client:
            response = client.send(request)
    assert (response.status_code, response.content) == (206, b"<P")
    assert asked == [(b"5", b"text/plain", b"bytes=0-1", b"hello"), (b"0", None, None, b"")]


def test_a_request_without_content_gets_no_content_length_made_up():
    asked = []
    with uvicorn_serving(Upper.asgi(recording_app(asked))) as port, httpx.Client(timeout=10) as client:
        response = client.get(f"http://127.0.0.1:{port}/", headers={"Range": "bytes=0-1"})
    assert response.status_code == 206
    assert asked == [(None, None, b"bytes=0-1", b""), (None, None, None, b"")]
