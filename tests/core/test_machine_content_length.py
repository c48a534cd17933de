"""A body read to be filtered is held to the app's Content-Length: one longer, or ending
shorter, is the app's error (a ProtocolError the host raises to the app or the server), never
a complete-looking filtered response; on every host (WSGI's real servers: tests/wsgi)."""

from __future__ import annotations

import httpx
import pytest

from dualfilter import ProtocolError
from dualfilter.testing import make_environ
from tests.support.filters import Upper
from tests.support.machines import driven_machine

HTML = "text/html; charset=utf-8"


class Streamed(Upper):
    def stream(self, environ, headers):
        return _UpperStream()


class _UpperStream:
    def feed(self, data):
        return data.upper()

    def finish(self):
        return b""


@pytest.mark.parametrize("flt", [Upper(), Streamed()], ids=["buffered", "streamed"])
def test_a_body_longer_than_its_content_length_is_the_apps_error(flt):
    machine = driven_machine(flt, make_environ())
    machine.start(200, [("Content-Type", HTML), ("Content-Length", "4")])
    machine.body(b"abc")
    with pytest.raises(ProtocolError, match="longer than its Content-Length: more than the 4 bytes"):
        machine.body(b"de")


@pytest.mark.parametrize("flt", [Upper(), Streamed()], ids=["buffered", "streamed"])
def test_a_body_that_ends_short_of_its_content_length_is_the_apps_error(flt):
    machine = driven_machine(flt, make_environ())
    machine.start(200, [("Content-Type", HTML), ("Content-Length", "10")])
    machine.body(b"abc")
    with pytest.raises(ProtocolError, match="ended after 3 of the 10 bytes"):
        machine.end()


def test_a_content_length_that_states_no_length_is_the_apps_error_for_a_page_to_filter():
    machine = driven_machine(Upper(), make_environ())
    with pytest.raises(ProtocolError, match="not a length"):
        machine.start(200, [("Content-Type", HTML), ("Content-Length", "ten")])


def test_a_transfer_encoding_overrides_the_content_length():
    machine = driven_machine(Upper(), make_environ())
    machine.start(200, [("Content-Type", HTML), ("Content-Length", "2"), ("Transfer-Encoding", "chunked")])
    machine.body(b"abc")
    assert machine.end()[-2].data == b"ABC"


@pytest.mark.parametrize("body", [b"<p>short</p>", b"<p>a body longer than it says</p>"], ids=["short", "long"])
@pytest.mark.parametrize("flt", [Upper, Streamed], ids=["buffered", "streamed"])
async def test_an_asgi_app_whose_body_disagrees_with_its_content_length_gets_no_filtered_page(flt, body):
    async def app(scope, receive, send):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", HTML.encode()), (b"content-length", b"20")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    transport = httpx.ASGITransport(app=flt(app))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with pytest.raises(ProtocolError, match="Content-Length"):
            await client.get("/")
