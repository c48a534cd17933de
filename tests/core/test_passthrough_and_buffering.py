"""Passthrough hands chunks on untouched; buffering filters the whole body once."""

from __future__ import annotations

from dualfilter.events import PASSTHROUGH, Body
from dualfilter.state import State
from dualfilter.testing import make_environ
from tests.support.filters import Upper
from tests.support.machines import driven_machine

from .conftest import drive

PNG = [("Content-Type", "image/png"), ("Content-Length", "8")]


def test_passthrough_hands_on_each_chunk_object_itself():
    machine = driven_machine(Upper(), make_environ())
    machine.start(200, PNG)
    chunk = bytes(range(8))
    (event,) = machine.body(chunk)
    assert isinstance(event, Body) and event.data is chunk


def test_passthrough_start_is_the_apps_own_header_list():
    machine = driven_machine(Upper(), make_environ())
    headers = list(PNG)
    start, passthrough = machine.start(200, headers)
    assert start.headers is headers and passthrough is PASSTHROUGH


def test_passthrough_holds_no_chunks():
    machine = driven_machine(Upper(), make_environ())
    machine.start(200, PNG)
    for _ in range(100):
        machine.body(b"x" * 1024)
    assert machine.state is State.PASSTHROUGH
    assert machine._chunks == []


def test_an_empty_passthrough_chunk_produces_no_event():
    machine = driven_machine(Upper(), make_environ())
    machine.start(200, PNG)
    assert machine.body(b"") == []


def test_buffering_emits_nothing_until_the_end():
    machine = driven_machine(Upper(), make_environ())
    assert machine.start(200, [("Content-Type", "text/html")]) == []
    assert machine.body(b"a") == [] and machine.body(b"b") == []
    assert machine.state is State.BUFFERING


def test_a_filtered_response_is_one_start_one_body_one_end():
    machine = driven_machine(Upper(), make_environ())
    machine.start(200, [("Content-Type", "text/html")])
    machine.body(b"a")
    machine.body(b"b")
    events = machine.end()
    assert [type(e).__name__ for e in events] == ["ResponseStart", "Body", "End"]
    assert events[1].data == b"AB"


def test_trailers_survive_filtering():
    trailers = [("Server-Timing", "db;dur=3")]
    machine = driven_machine(Upper(), make_environ())
    machine.start(200, [("Content-Type", "text/html")])
    machine.body(b"a")
    assert machine.end(trailers)[-1].trailers == trailers


def test_the_filter_sees_the_whole_body_however_it_was_chunked():
    seen = []

    class Spy(Upper):
        def filter(self, environ, headers, data):
            seen.append(data)
            return data

    drive(Spy(), [b"<p>", b"", b"hello", b"</p>"])
    assert seen == [b"<p>hello</p>"]


def test_an_empty_filtered_body_gives_content_length_zero():
    machine, status, headers, body = drive(Upper(), [])
    assert body == b"" and ("Content-Length", "0") in headers
