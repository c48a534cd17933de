"""Threads that own thread-bound engine objects for the life of one response.

A host may feed one response from several threads (IIS raw-data
notifications, an extension finishing on a worker thread, an ASGI server
offloading work), but the engine's objects may only be used and freed on the
thread that made them. So each response leases a thread of its own: every
call into its engine runs there, in order, in a copy of the caller's context
(``contextvars``), while the caller waits. Threads are never shared between
responses in flight: a handler may wait on another response's rewriting (run
on another thread), which would deadlock behind it. A thread goes back to a
pool of at most ``MAX_IDLE`` idle threads when its response is done (one
past that ends), and ends after a while unused.
"""

from __future__ import annotations

import contextvars
import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: How long an idle thread waits for a new response before it ends.
IDLE_SECONDS = 30.0
#: How many idle threads are kept for the next responses.
MAX_IDLE = 32

log = logging.getLogger("dualfilter")
_lock = threading.Lock()
_idle: list[_Worker] = []


def _forget_threads() -> None:
    """In a forked child (a prefork server's worker): the parent's threads did not come
    along, so none of them is idle here, and the lock may have been held as it forked."""
    global _lock
    _lock = threading.Lock()
    _idle.clear()


if hasattr(os, "register_at_fork"):  # not on Windows, which does not fork
    os.register_at_fork(after_in_child=_forget_threads)


class _Worker:
    """One thread running the calls put on its queue, one at a time."""

    __slots__ = ("jobs", "thread", "ended")

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        #: Set when the idle pool is full as it comes back: the thread ends.
        self.ended = False
        self.thread = threading.Thread(target=self._run, name="dualfilter-html", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.ended:
            try:
                job = self.jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with _lock:
                    if self in _idle:  # not leased: nobody can give it work any more
                        _idle.remove(self)
                        return
                continue
            try:
                job()
            except Exception:  # only release() puts jobs that do not catch: keep serving
                log.exception("an engine clean-up failed")


def idle_count() -> int:
    """How many threads wait in the idle pool."""
    with _lock:
        return len(_idle)


class Lease:
    """One response's hold on a worker thread."""

    __slots__ = ("_worker", "_replies", "__weakref__")

    def __init__(self) -> None:
        with _lock:
            worker = _idle.pop() if _idle else None
        self._worker: _Worker | None = worker or _Worker()
        self._replies: queue.SimpleQueue[tuple[bool, Any]] = queue.SimpleQueue()

    def call(self, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` run on the leased thread; its exception is raised here."""
        worker = self._worker
        if worker is None:
            raise RuntimeError("the response's engine thread was released")
        context = contextvars.copy_context()
        replies = self._replies

        def job() -> None:
            try:
                replies.put((True, context.run(func, *args)))
            except BaseException as exc:  # handed to the caller, who re-raises it
                replies.put((False, exc))

        worker.jobs.put(job)
        ok, value = replies.get()
        if ok:
            return value  # type: ignore[no-any-return]
        try:
            raise value
        finally:
            del value  # this frame goes into its traceback: it must not hold it back

    def release(self, last: Callable[[], None] | None = None) -> None:
        """Give the thread back, after it runs ``last`` (freeing the engine there).

        Never waits: it may run from a garbage collector on any thread."""
        worker, self._worker = self._worker, None
        if worker is None:
            return
        if last is not None:
            worker.jobs.put(last)
        worker.jobs.put(_return_to_pool(worker))


def _return_to_pool(worker: _Worker) -> Callable[[], None]:
    def back() -> None:
        with _lock:
            if len(_idle) < MAX_IDLE:
                _idle.append(worker)
            else:
                worker.ended = True  # the pool has enough idle threads: this one ends

    return back
