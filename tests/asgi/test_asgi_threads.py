"""Where filter() runs: async filters on the loop, heavy sync filters in a worker thread."""

from __future__ import annotations

import threading

import anyio
import httpx
import pytest

from dualfilter import Filter
from dualfilter.html import Rewriter, on
from tests.support.asgi_harness import UpperFilter, body, call, make_scope, raw_app, start
from tests.support.http_servers import uvicorn_serving


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


def stream_recording_filter():
    class RecordingStream(Filter):
        fed: list[tuple[bytes, int]] = []
        finished: list[int] = []

        def stream(self, environ, headers):
            outer = self

            class Upper:
                def feed(self, data):
                    outer.fed.append((data, threading.get_ident()))
                    return data.upper()

                def finish(self):
                    outer.finished.append(threading.get_ident())
                    return b""

            return Upper()

    return RecordingStream


async def test_a_streamed_chunk_of_at_least_thread_threshold_is_fed_in_a_worker_thread_a_smaller_one_on_the_loop():
    Recording = stream_recording_filter()
    app = raw_app(start(), body(b"x" * 99, more=True), body(b"y" * 100))
    exchange = await call(Recording.asgi(app, thread_threshold=100))
    assert exchange.body == b"X" * 99 + b"Y" * 100
    (small, small_thread), (big, big_thread) = Recording.fed
    assert (small, big) == (b"x" * 99, b"y" * 100)
    assert small_thread == threading.get_ident() and big_thread != threading.get_ident()
    assert Recording.finished == [threading.get_ident()]


async def test_thread_threshold_zero_feeds_and_finishes_every_stream_in_a_worker_thread():
    Recording = stream_recording_filter()
    await call(Recording.asgi(raw_app(start(), body(b"<p>x</p>")), thread_threshold=0))
    threads = [thread for _, thread in Recording.fed] + Recording.finished
    assert len(threads) == 2 and threading.get_ident() not in threads


def links_page(size: int) -> bytes:
    """A page of at least ``size`` bytes, mostly links."""
    link = b"<p><a href='http://example.com/'>link</a></p>"
    return b"<html><body>" + link * (size // len(link) + 1) + b"</body></html>"


@pytest.mark.parametrize(
    ("thread_threshold", "size"), [(0, 20_000), (256 * 1024, 300_000)], ids=["threshold-zero", "one-big-message"]
)
def test_a_rewriter_busy_on_a_page_leaves_the_event_loop_serving_other_requests(thread_threshold, size):
    # The first link's handler holds the rewrite until /ping has been answered:
    # only possible if the rewrite is not holding uvicorn's event loop.
    rewriting, pinged = threading.Event(), threading.Event()

    class HeldRewrite(Rewriter):
        @on("a")
        def link(self, element, environ):
            rewriting.set()
            pinged.wait(timeout=10)
            element.set_attribute("rel", "noopener")

    page = HeldRewrite.asgi(raw_app(start(), body(links_page(size))), thread_threshold=thread_threshold)
    ping = raw_app(start("text/plain"), body(b"pong"))

    async def app(scope, receive, send):
        await (ping if scope["path"] == "/ping" else page)(scope, receive, send)

    got = {}
    with uvicorn_serving(app) as port:
        client = threading.Thread(target=lambda: got.update(page=httpx.get(f"http://127.0.0.1:{port}/", timeout=30)))
        client.start()
        try:
            assert rewriting.wait(timeout=10)
            got["ping"] = httpx.get(f"http://127.0.0.1:{port}/ping", timeout=5)
        finally:
            pinged.set()
            client.join(30)
    assert got["ping"].text == "pong"
    assert got["page"].status_code == 200 and got["page"].text.count('rel="noopener"') == links_page(size).count(b"<a ")
