"""Threads that own thread-bound engine objects for the life of one response.

A host may feed one response from several threads (IIS raw-data
notifications, an extension finishing on a worker thread, an ASGI server
offloading work), but the engine's objects may only be used and freed on the
thread that made them. So each response leases a thread: every call into its
engine runs there, in order, in a copy of the caller's context
(``contextvars``), while the caller waits. The threads are a bounded pool
(``MAX_THREADS``): a response gets an idle thread, else a new one while the
pool is not full, else shares the least busy one (its calls queue behind the
others', each a short step of work); a call from a pool thread itself (a
handler running another rewriter) always gets a thread that is not busy
calling. A thread with no response ends after a while unused.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: How long a thread with no response waits for one before it ends.
IDLE_SECONDS = 30.0
#: How many threads the pool starts at most (more only for calls from pool threads).
MAX_THREADS = 32

log = logging.getLogger("dualfilter")
_lock = threading.Lock()
#: The live threads of the pool.
_workers: list[_Worker] = []


class _Worker:
    """One thread running the calls put on its queue, one at a time."""

    __slots__ = ("jobs", "thread", "leases")

    def __init__(self) -> None:
        self.jobs: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        #: How many responses hold this thread.
        self.leases = 0
        self.thread = threading.Thread(target=self._run, name="dualfilter-html", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                job = self.jobs.get(timeout=IDLE_SECONDS)
            except queue.Empty:
                with _lock:
                    if self.leases == 0 and self.jobs.empty():  # nobody can give it work any more
                        _workers.remove(self)
                        return
                continue
            try:
                job()
            except Exception:  # only release() puts jobs that do not catch: keep serving
                log.exception("an engine clean-up failed")


def idle_count() -> int:
    """How many threads of the pool hold no response."""
    with _lock:
        return sum(1 for worker in _workers if worker.leases == 0)


def thread_count() -> int:
    """How many threads the pool has."""
    with _lock:
        return len(_workers)


def _lease_worker() -> _Worker:
    """The thread a new response gets (called with ``_lock`` held)."""
    idle = [worker for worker in _workers if worker.leases == 0]
    if idle:
        return idle[-1]
    current = threading.current_thread()
    if len(_workers) < MAX_THREADS or any(worker.thread is current for worker in _workers):
        worker = _Worker()  # a pool thread calling (a handler running another rewriter) never waits on itself
        _workers.append(worker)
        return worker
    return min(_workers, key=lambda worker: worker.leases)


class Lease:
    """One response's hold on a worker thread."""

    __slots__ = ("_worker", "_replies", "__weakref__")

    def __init__(self) -> None:
        with _lock:
            worker = _lease_worker()
            worker.leases += 1
        self._worker: _Worker | None = worker
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
            worker.leases -= 1

    return back
