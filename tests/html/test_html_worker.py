"""The engine threads (dualfilter.html.worker): one per response in flight, a bounded idle pool."""

from __future__ import annotations

import os
import queue
import threading

import pytest
from html_rewriters import PAGE, Tidy

from dualfilter.headers import Headers
from dualfilter.html import Rewriter, on, worker
from dualfilter.testing import run_filter

UTF8 = [("Content-Type", "text/html; charset=utf-8")]


def test_responses_fed_from_many_threads_at_once_each_get_their_own_output():
    expected = Tidy().stream({}, Headers(list(UTF8)))
    whole = expected.feed(PAGE) + expected.finish()
    results: dict[int, bytes] = {}

    def one(index: int) -> None:
        stream = Tidy().stream({"n": index}, Headers(list(UTF8)))
        results[index] = b"".join(stream.feed(PAGE[i : i + 97]) for i in range(0, len(PAGE), 97)) + stream.finish()

    threads = [threading.Thread(target=one, args=(index,)) for index in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == dict.fromkeys(range(16), whole)


def _end_idle_threads():
    """End the threads other tests left idle, so the pool starts empty."""
    with worker._lock:
        idle, worker._idle[:] = list(worker._idle), []
    for thread in idle:
        thread.ended = True
        thread.jobs.put(lambda: None)  # wakes it: it ends
    for thread in idle:
        thread.thread.join(5)


def test_at_most_max_idle_threads_wait_once_many_responses_are_done(monkeypatch):
    _end_idle_threads()
    monkeypatch.setattr(worker, "MAX_IDLE", 2)
    streams = [Tidy().stream({}, Headers(list(UTF8))) for _ in range(6)]
    for stream in streams:
        stream.feed(PAGE[:200])  # each holds a thread of its own now
    for stream in streams:
        stream.finish()
    for _ in range(100):  # the threads come back as they free their engines
        if worker.idle_count() <= 2:
            break
        threading.Event().wait(0.01)
    assert worker.idle_count() <= 2


class _Inner(Rewriter):
    @on("p")
    def p(self, element, environ):
        element.set_attribute("inner", "1")


class _WaitsOnAnotherThread(Rewriter):
    """A handler that has another thread rewrite a fragment, and waits for it."""

    @on("p")
    def p(self, element, environ):
        done = {}
        helper = threading.Thread(target=lambda: done.update(out=run_filter(_Inner, b"<p>x</p>")[2]))
        helper.start()
        helper.join(10)
        element.set_attribute("inner-ran", str(done.get("out") == b'<p inner="1">x</p>'))


def test_a_handler_waiting_on_another_threads_rewriting_never_waits_on_itself():
    # Responses never share a thread: the other thread's rewriting gets a thread of its own.
    held = [Tidy().stream({}, Headers(list(UTF8))) for _ in range(8)]
    for stream in held:
        stream.feed(PAGE[:100])
    body = run_filter(_WaitsOnAnotherThread, b"<p>a</p>")[2]
    for stream in held:
        stream.finish()
    assert body == b'<p inner-ran="True">a</p>'


def _rewrite_in_child(queue):
    from dualfilter.html import Rewriter, on
    from dualfilter.testing import run_filter

    class Mark(Rewriter):
        @on("p")
        def p(self, element, environ):
            element.set_attribute("class", "x")

    queue.put(run_filter(Mark, b"<p>x</p>")[2])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_forked_child_rewrites_with_threads_of_its_own():
    # A prefork server (gunicorn --preload) forks after the parent rewrote: the parent's idle
    # threads did not come along, so the child must not wait on one.
    import multiprocessing

    _rewrite_in_child(queue.SimpleQueue())  # the parent now holds an idle engine thread
    assert worker.idle_count() >= 1
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    child = context.Process(target=_rewrite_in_child, args=(results,))
    child.start()
    child.join(20)
    if child.is_alive():
        child.kill()
        child.join(5)
    assert child.exitcode == 0 and results.get(timeout=5) == b'<p class="x">x</p>'
