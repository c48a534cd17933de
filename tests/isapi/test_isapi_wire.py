"""send_response: the core's response events written to an ECB, as every ISAPI adapter writes them."""

from __future__ import annotations

from dualfilter.events import PASSTHROUGH, Body, End, ResponseStart
from dualfilter.isapi.testing import FakeECB
from dualfilter.isapi.wire import send_response

EVENTS = [ResponseStart(404, [("Content-Length", "4")], ""), Body(b"gone"), End(), PASSTHROUGH]


def test_send_response_sends_the_start_then_the_body():
    ecb = FakeECB()
    send_response(ecb, EVENTS)
    response = ecb.response
    assert (response.status, response.reason, response.headers, response.writes) == (
        404,
        "Not Found",
        [("Content-Length", "4")],
        [b"gone"],
    )


def test_send_response_asks_iis_to_keep_the_connection_only_when_told():
    kept, closed = FakeECB(), FakeECB()
    send_response(kept, EVENTS, True)
    send_response(closed, EVENTS)
    assert (kept.response.keep_alive, closed.response.keep_alive) == (True, False)
