"""Over real servers: the first bytes leave before the app's last, errors are handled."""

from __future__ import annotations

import asyncio
import threading

from html_rewriters import Tidy
from html_servers import RawClient, body_of, uvicorn_serving, wsgiref_serving

HEAD = b"<html><head><title>t</title></head><body><p>first</p>"


def gated_wsgi_app(gate: threading.Event):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        yield HEAD
        gate.wait(5)  # the rest comes only once the client has the first part
        yield b"<p>last</p></body></html>"

    return app


def gated_asgi_app(gate: threading.Event):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        await send({"type": "http.response.body", "body": HEAD, "more_body": True})
        await asyncio.to_thread(gate.wait, 5)
        await send({"type": "http.response.body", "body": b"<p>last</p></body></html>", "more_body": False})

    return app


def first_bytes_before_the_last(serving, app, gate):
    """Read a served page: its first filtered bytes, before the app is let send its last, then the rest."""
    with serving(app) as address:
        client = RawClient(address)
        early = client.read_until(b"<p>first</p>")
        arrived_first = b"<p>first</p>" in early and not gate.is_set()
        gate.set()
        whole = client.read_all()
    assert arrived_first
    assert b'<div class="banner">staging</div><p>first</p>' in early
    assert body_of(whole).endswith(b"<p>last</p></body></html><!-- filtered -->")


def test_wsgi_first_filtered_bytes_arrive_before_the_app_sends_its_last():
    gate = threading.Event()
    first_bytes_before_the_last(wsgiref_serving, Tidy.wsgi(gated_wsgi_app(gate)), gate)


def test_asgi_first_filtered_bytes_arrive_before_the_app_sends_its_last():
    gate = threading.Event()
    first_bytes_before_the_last(uvicorn_serving, Tidy.asgi(gated_asgi_app(gate)), gate)


def test_isapi_extension_writes_filtered_bytes_before_the_extension_writes_its_last():
    from dualfilter.isapi.constants import HSE_STATUS_SUCCESS
    from dualfilter.isapi.testing import FakeECB, call_extension

    seen_before_last: list[bytes] = []
    client = FakeECB("GET", "/")

    class Extension:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", "Content-Type: text/html; charset=utf-8\r\n\r\n", False)
            ecb.WriteClient(HEAD)
            seen_before_last.append(b"".join(client.response.writes))  # what the client has so far
            ecb.WriteClient(b"<p>last</p></body></html>")
            return HSE_STATUS_SUCCESS

    response = call_extension(Tidy.isapi(Extension()), client)
    assert b'<div class="banner">staging</div><p>first</p>' in seen_before_last[0]
    assert response.body.endswith(b"<p>last</p></body></html><!-- filtered -->")


def test_a_django_streaming_response_is_rewritten_as_it_streams():
    from django.core.wsgi import get_wsgi_application

    from dualfilter.testing import make_environ
    from tests.support.django_project import setup_django

    setup_django()
    app = Tidy.wsgi(get_wsgi_application())
    environ = make_environ(path="/streamed/", environ={"SERVER_NAME": "localhost", "SERVER_PORT": "80", "QUERY_STRING": ""})
    result = app(environ, lambda status, headers, exc_info=None: None)
    try:
        pieces = [piece for piece in result if piece]
    finally:
        result.close()
    assert len(pieces) > 2  # it came out piece by piece
    body = b"".join(pieces)
    assert b"<title>DJANGO</title>" in body and b'<body><div class="banner">staging</div>' in body
    assert body.endswith(b"</html><!-- filtered -->")
