"""The response machine (dualfilter.machine): its protocol, and misuse of it raising ProtocolError."""

from __future__ import annotations

import pytest

from dualfilter import ProtocolError
from dualfilter.testing import make_environ
from tests.support.filters import Upper
from tests.support.machines import driven_machine

HTML = [("Content-Type", "text/html")]


@pytest.fixture
def machine():
    return driven_machine(Upper(), make_environ())


def test_a_body_before_the_start_is_a_protocol_error(machine):
    with pytest.raises(ProtocolError, match="before the response start"):
        machine.body(b"x")


def test_an_end_before_the_start_is_a_protocol_error(machine):
    with pytest.raises(ProtocolError, match="before the response start"):
        machine.end()


def test_a_body_after_the_end_is_a_protocol_error(machine):
    machine.start(200, HTML)
    machine.end()
    with pytest.raises(ProtocolError, match="after the response end"):
        machine.body(b"x")


def test_ending_twice_is_a_protocol_error(machine):
    machine.start(200, [("Content-Type", "image/png")])
    machine.end()
    with pytest.raises(ProtocolError, match="ended twice"):
        machine.end()


def test_a_second_start_is_a_protocol_error(machine):
    machine.start(200, HTML)
    with pytest.raises(ProtocolError, match="already started"):
        machine.start(200, HTML)


def test_a_restart_before_anything_went_out_replaces_the_response(machine):
    machine.start(200, HTML)
    machine.body(b"half")
    machine.start("500 Internal Server Error", [("Content-Type", "text/plain")], restart=True)
    events = machine.body(b"error page") + machine.end()
    assert [type(e).__name__ for e in events] == ["Body", "End"]
    assert events[0].data == b"error page"


def test_a_restart_after_the_response_ended_is_a_protocol_error(machine):
    machine.start(200, [("Content-Type", "image/png")])
    machine.body(b"sent")
    machine.end()
    with pytest.raises(ProtocolError, match="cannot restart in state DONE"):
        machine.start(500, HTML, restart=True)


def test_a_wsgi_status_string_is_parsed(machine):
    start = machine.start("404 Not Found", [("Content-Type", "image/png")])[0]
    assert (start.status, start.reason) == (404, "Not Found")


@pytest.mark.parametrize("status", [b"200 OK", 200.0, None])
def test_a_status_neither_an_int_nor_a_str_is_a_type_error(machine, status):
    with pytest.raises(TypeError, match="status line str, not"):
        machine.start(status, [("Content-Type", "image/png")])
