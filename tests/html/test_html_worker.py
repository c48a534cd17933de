"""The engine threads (dualfilter.html.worker): a bounded pool, each response on one thread."""

from __future__ import annotations

import threading

from html_rewriters import PAGE, Tidy

from dualfilter.headers import Headers
from dualfilter.html import worker

UTF8 = [("Content-Type", "text/html; charset=utf-8")]


def test_many_responses_at_once_share_a_bounded_pool_of_threads(monkeypatch):
    monkeypatch.setattr(worker, "MAX_THREADS", worker.thread_count() + 3)
    expected = Tidy().stream({}, Headers(list(UTF8)))
    whole = expected.feed(PAGE) + expected.finish()
    streams = [Tidy().stream({}, Headers(list(UTF8))) for _ in range(12)]
    halves = [stream.feed(PAGE[:200]) for stream in streams]  # all twelve hold an engine now
    assert worker.thread_count() <= worker.MAX_THREADS
    outputs = [half + stream.feed(PAGE[200:]) + stream.finish() for half, stream in zip(halves, streams, strict=True)]
    assert outputs == [whole] * 12


def test_responses_fed_from_many_threads_at_once_each_get_their_own_output(monkeypatch):
    monkeypatch.setattr(worker, "MAX_THREADS", worker.thread_count() + 2)
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
    assert worker.thread_count() <= worker.MAX_THREADS
