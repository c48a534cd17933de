"""async def filters, and sync filters run in a worker thread under async hosts."""

from __future__ import annotations

import asyncio

from dualfilter import Filter
from dualfilter.drivers import drive_async
from dualfilter.machine import ResponseMachine
from dualfilter.testing import collect, make_environ, run_filter
from tests.support.filters import Upper

from .conftest import drive

HTML = [("Content-Type", "text/html")]


class AsyncUpper(Filter):
    async def filter(self, environ, headers, data):
        await asyncio.sleep(0)
        return data.upper()


def test_an_async_filter_runs_to_completion_under_a_sync_host():
    assert drive(AsyncUpper(), [b"abc"])[3] == b"ABC"


async def test_an_async_filter_runs_to_completion_even_inside_a_running_loop():
    assert drive(AsyncUpper(), [b"abc"])[3] == b"ABC"


async def test_end_async_awaits_an_async_filter():
    machine = ResponseMachine(AsyncUpper(), make_environ())
    machine.start(200, list(HTML))
    machine.body(b"abc")
    assert collect(await drive_async(machine, machine.end()))[2] == b"ABC"


async def test_an_async_filter_exception_gives_a_500():
    class Broken(Filter):
        async def filter(self, environ, headers, data):
            raise RuntimeError("no")

    machine = ResponseMachine(Broken(), make_environ())
    machine.start(200, list(HTML))
    assert collect(await drive_async(machine, machine.end()))[0] == 500


def test_an_async_filter_failing_under_a_sync_host_keeps_its_own_exception_alone(caplog):
    # Not "during handling of RuntimeError: no running event loop": that is the driver's, not the filter's.
    class Broken(Filter):
        async def filter(self, environ, headers, data):
            raise ValueError("no")

    machine, status, _, _ = drive(Broken(), [b"abc"])
    assert status == 500
    assert isinstance(machine.error, ValueError) and machine.error.__context__ is None
    assert "no running event loop" not in caplog.text


def test_a_stream_that_fails_to_open_is_reported_as_its_own_exception_not_its_cause(caplog):
    class Unopened(Filter):
        def stream(self, environ, headers):
            try:
                raise KeyError("config")
            except KeyError as exc:
                raise RuntimeError("cannot open the stream") from exc

    machine, status, _, body = drive(Unopened(debug=True), [b"abc"])
    assert status == 500 and b"RuntimeError: cannot open the stream" in body
    assert type(machine.error) is RuntimeError
    (record,) = caplog.records
    assert record.exc_info is not None and record.exc_info[0] is RuntimeError


async def test_an_async_filter_run_by_a_sync_host_inside_a_loop_sees_the_callers_context_variables():
    # run_filter (a sync driver) called where a loop runs: the coroutine runs in a thread of its own,
    # in a copy of the caller's context, as it would without a loop.
    import contextvars

    request_id = contextvars.ContextVar("request_id", default="none")

    class Tag(Filter):
        async def filter(self, environ, headers, data):
            return data + request_id.get().encode()

    request_id.set("r-1")
    assert run_filter(Tag, b"page:")[2] == b"page:r-1"


async def _run(flt, size, run_sync):
    machine = ResponseMachine(flt, make_environ())
    machine.start(200, list(HTML))
    machine.body(b"a" * size)
    return collect(await drive_async(machine, machine.end(), run_sync))


async def test_a_sync_filter_at_the_thread_threshold_runs_through_run_sync():
    calls = []

    async def run_sync(func):
        calls.append(func)
        return func()

    status, headers, body = await _run(Upper(thread_threshold=100), 100, run_sync)
    assert len(calls) == 1 and body == b"A" * 100


async def test_a_sync_filter_below_the_thread_threshold_runs_inline():
    calls = []

    async def run_sync(func):
        calls.append(func)
        return func()

    await _run(Upper(thread_threshold=100), 99, run_sync)
    assert calls == []


async def test_thread_threshold_none_never_uses_a_thread():
    calls = []

    async def run_sync(func):
        calls.append(func)
        return func()

    await _run(Upper(thread_threshold=None), 10**6, run_sync)
    assert calls == []


async def _run_coded(flt, body, coding, run_sync):
    machine = ResponseMachine(flt, make_environ())
    machine.start(200, [*HTML, ("Content-Encoding", coding)])
    machine.body(body)
    return collect(await drive_async(machine, machine.end(), run_sync))


async def test_a_compressed_body_goes_by_the_size_it_decodes_to():
    # A small gzip body of a big page is big work: decoding, filtering, encoding.
    import gzip

    calls = []

    async def run_sync(func):
        calls.append(func)
        return func()

    big = gzip.compress(b"a" * 10_000)
    small = gzip.compress(b"a" * 50)
    await _run_coded(Upper(thread_threshold=1000), small, "gzip", run_sync)
    assert calls == [] and len(big) < 1000
    status, headers, body = await _run_coded(Upper(thread_threshold=1000), big, "gzip", run_sync)
    assert len(calls) == 1 and gzip.decompress(body) == b"A" * 10_000


async def test_a_body_in_a_coding_that_does_not_say_its_size_goes_to_a_thread():
    import zlib

    calls = []

    async def run_sync(func):
        calls.append(func)
        return func()

    await _run_coded(Upper(thread_threshold=1000), zlib.compress(b"a" * 50), "deflate", run_sync)
    assert len(calls) == 1
