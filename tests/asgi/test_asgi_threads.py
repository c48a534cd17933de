"""Where filter() runs: async filters on the loop, heavy sync filters in a worker thread."""

from __future__ import annotations

import threading

import anyio

from dualfilter import Filter
from tests.support.asgi_harness import UpperFilter, body, call, make_scope, raw_app, start


def thread_recording_filter():
    class Recording(Filter):
        threads: list[int] = []

        def filter(self, environ, headers, data):
            self.threads.append(threading.get_ident())
            return data

    return Recording


def app_of(size: int):
    return raw_app(start(), body(b"x" * size))


async def test_an_async_filter_is_awaited_on_the_event_loop():
    seen = {}

    class AsyncUpper(Filter):
        async def filter(self, environ, headers, data):
            await anyio.sleep(0)
            seen["thread"] = threading.get_ident()
            return data.upper()

    exchange = await call(AsyncUpper.asgi(raw_app(start(), body(b"<p>async</p>"))))
    assert exchange.body == b"<P>ASYNC</P>"
    assert seen["thread"] == threading.get_ident()


async def test_a_sync_filter_below_thread_threshold_runs_on_the_event_loop_thread():
    Recording = thread_recording_filter()
    await call(Recording.asgi(app_of(99), thread_threshold=100))
    assert Recording.threads == [threading.get_ident()]


async def test_a_sync_filter_at_thread_threshold_runs_in_a_worker_thread():
    Recording = thread_recording_filter()
    exchange = await call(Recording.asgi(app_of(100), thread_threshold=100))
    assert exchange.body == b"x" * 100
    assert len(Recording.threads) == 1 and Recording.threads[0] != threading.get_ident()


async def test_thread_threshold_zero_runs_every_sync_filter_in_a_worker_thread():
    Recording = thread_recording_filter()
    await call(Recording.asgi(app_of(1), thread_threshold=0))
    assert Recording.threads[0] != threading.get_ident()


async def test_thread_threshold_none_never_uses_a_worker_thread():
    Recording = thread_recording_filter()
    await call(Recording.asgi(app_of(1_000_000), thread_threshold=None))
    assert Recording.threads == [threading.get_ident()]


async def test_a_slow_sync_filter_in_a_worker_thread_leaves_the_event_loop_serving():
    filter_started = anyio.Event()
    loop_task_ran = threading.Event()
    seen = {}

    class Slow(Filter):
        def filter(self, environ, headers, data):
            anyio.from_thread.run_sync(filter_started.set)
            # Blocks until a task on the event loop has run while this filter
            # is working: possible only if the filter is not holding the loop.
            seen["loop_task_ran"] = loop_task_ran.wait(timeout=10)
            return data.upper()

    async def concurrent_task():
        await filter_started.wait()
        loop_task_ran.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(concurrent_task)
        exchange = await call(Slow.asgi(raw_app(start(), body(b"<p>slow</p>")), thread_threshold=0))
    assert seen["loop_task_ran"] is True
    assert exchange.body == b"<P>SLOW</P>"


async def test_concurrent_requests_through_one_middleware_do_not_mix_bodies():
    wrapped = UpperFilter.asgi(_echo_path_app, thread_threshold=0)
    results = {}

    async def one(i):
        results[i] = (await call(wrapped, make_scope(f"/{i}"))).body

    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(one, i)
    assert results == {i: f"<P>/{i}</P>".encode() for i in range(20)}


async def _echo_path_app(scope, receive, send):
    await send(start())
    await anyio.sleep(0)
    await send(body(f"<p>{scope['path']}".encode(), more=True))
    await anyio.sleep(0)
    await send(body(b"</p>"))
