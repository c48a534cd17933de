"""Drivers run the user's code the machine asks for, and nothing else does."""

from __future__ import annotations

import asyncio
import inspect
import threading

import anyio.to_thread
import pytest

from dualfilter import Filter, StreamError
from dualfilter.drivers import drive, drive_async, resolve
from dualfilter.events import Body, End, FilterCall, ResponseStart
from dualfilter.machine import ResponseMachine
from dualfilter.state import State
from dualfilter.testing import make_environ

HTML = [("Content-Type", "text/html; charset=utf-8")]


class Upper(Filter):
    def filter(self, environ, headers, data):
        calls.append(threading.get_ident())
        return data.upper()


class AsyncUpper(Filter):
    async def filter(self, environ, headers, data):
        return data.upper()


calls: list[int] = []


def buffered(flt, body=b"<p>x</p>"):
    machine = ResponseMachine(flt, make_environ())
    assert machine.start(200, list(HTML)) == []
    assert machine.body(body) == []
    return machine


def test_the_machine_asks_for_the_filter_with_a_filter_call_and_does_not_run_it():
    calls.clear()
    machine = buffered(Upper())
    (call,) = machine.end()
    assert isinstance(call, FilterCall) and machine.state is State.FILTERING
    assert calls == []


def test_the_result_handed_back_gives_the_filtered_response():
    machine = buffered(Upper())
    (call,) = machine.end()
    args = call.prepare() if call.prepare is not None else call.args
    start, body, end = machine.filtered(call.function(*args))
    assert type(start) is ResponseStart and body == Body(b"<P>X</P>") and end == End(None)
    assert machine.state is State.DONE


def test_an_exception_handed_back_gives_the_clean_500():
    machine = buffered(Upper())
    machine.end()
    start, body, _ = machine.failed(ValueError("boom"))
    assert start.status == 500 and b"boom" not in body.data
    assert isinstance(machine.error, ValueError)


def test_filtered_with_no_call_out_is_a_protocol_error():
    from dualfilter import ProtocolError

    machine = buffered(Upper())
    with pytest.raises(ProtocolError, match="no FilterCall out"):
        machine.filtered(b"x")


def test_drive_runs_every_call_and_returns_only_events_for_the_host():
    machine = buffered(Upper())
    events = drive(machine, machine.end())
    assert [type(event) for event in events] == [ResponseStart, Body, End]


def test_drive_runs_an_async_filter_to_completion():
    machine = buffered(AsyncUpper())
    assert drive(machine, machine.end())[1] == Body(b"<P>X</P>")


async def test_drive_async_awaits_an_async_filter_on_the_loop():
    machine = buffered(AsyncUpper())
    assert (await drive_async(machine, machine.end()))[1] == Body(b"<P>X</P>")


async def test_drive_async_offloads_a_big_sync_filter_to_a_worker_thread():
    calls.clear()
    machine = buffered(Upper(thread_threshold=4))
    (call,) = machine.end()
    assert call.offload
    await drive_async(machine, [call], anyio.to_thread.run_sync)
    assert calls and calls[0] != threading.get_ident()


def test_a_stream_failing_after_the_start_raises_stream_error_from_the_driver():
    class Fails(Filter):
        def stream(self, environ, headers):
            return self

        def feed(self, data):
            if data == b"bad":
                raise ValueError("bad")
            return data

        def finish(self):
            return b""

    machine = ResponseMachine(Fails(), make_environ())
    assert drive(machine, machine.start(200, list(HTML))) == []
    start, body = drive(machine, machine.body(b"ok"))
    with pytest.raises(StreamError):
        drive(machine, machine.body(b"bad"))
    assert machine.state is State.FAILED


def test_resolve_leaves_plain_values_alone():
    assert resolve(b"x") == b"x"


def test_an_async_filter_run_in_a_thread_leaves_that_threads_own_event_loop_in_place():
    # A WSGI worker thread may keep an event loop of its own (set_event_loop):
    # running an async filter there must neither replace it nor clear it.
    seen = {}

    def worker():
        own = asyncio.new_event_loop()
        asyncio.set_event_loop(own)
        try:
            assert resolve(AsyncUpper().filter(None, None, b"x")) == b"X"
            seen["loop"] = asyncio.get_event_loop() is own
        finally:
            asyncio.set_event_loop(None)
            own.close()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(10)
    assert seen == {"loop": True}


def test_the_machine_module_never_awaits_imports_threads_or_calls_filter_code():
    from dualfilter import machine

    source = inspect.getsource(machine)
    for forbidden in ("await ", "async def", "import threading", "import asyncio", ".filter(self.environ"):
        assert forbidden not in source
