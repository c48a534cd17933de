"""Drivers: the only place where a filter's own code runs.

The response machine answers ``FilterCall`` where user code must run; a driver
runs it and hands the result back, until the machine's answer holds none.
``drive`` is for synchronous hosts (WSGI, ISAPI, Django sync): an ``async
def`` filter is run to completion there. ``drive_async`` is for async hosts
(ASGI, Django async): it awaits ``async def`` filters and runs big synchronous
work in a worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .events import Event, FilterCall

if TYPE_CHECKING:
    from .machine import ResponseMachine

T = TypeVar("T")
#: Result types that are never awaitable: no need to ask.
_PLAIN = (bytes, str, list)
RunSync = Callable[[Callable[[], Any]], Awaitable[Any]]


async def _wait(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _run_aside(awaitable: Awaitable[T]) -> T:
    """Run ``awaitable`` to completion in a new event loop that is never set as
    the thread's current loop (``asyncio.run`` would set it, then clear it)."""
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_wait(awaitable))
    finally:
        try:
            _cancel_left(loop)  # as asyncio.run: tasks the filter started and left are cancelled, not destroyed pending
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


def _cancel_left(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks still pending in ``loop`` and let them finish (their ``finally``
    blocks run); an error one of them ends with goes to the loop's exception handler."""
    left = asyncio.all_tasks(loop)
    if not left:
        return
    for task in left:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    for task in left:
        if not task.cancelled() and task.exception() is not None:
            loop.call_exception_handler(
                {"message": "a task the filter left failed as it was cancelled", "exception": task.exception(), "task": task}
            )


def resolve(value: Any) -> Any:
    """``value`` itself, or, if it is awaitable, what it gives when run to completion.

    WSGI and ISAPI threads normally run no event loop, so the coroutine runs in
    a fresh one of its own here, never made the thread's current loop (an app's
    own loop in that thread stays as it was); a thread that is already inside a
    loop cannot block on it, so the coroutine then runs in a short-lived thread.
    """
    if not inspect.isawaitable(value):
        return value
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        in_loop = False
    else:
        in_loop = True
    if not in_loop:  # run outside the except block: the filter's errors get no "no running event loop" context
        return _run_aside(value)
    outcome: dict[str, Any] = {}
    context = contextvars.copy_context()  # the caller's context variables, as in the caller's thread

    def run() -> None:
        try:
            outcome["value"] = context.run(_run_aside, value)
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="dualfilter-async-filter")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def _step(machine: ResponseMachine, call: FilterCall, run_async: Callable[[Any], Any] = resolve) -> list[Event]:
    """Run one FilterCall to completion and hand its outcome to the machine."""
    try:
        prepare = call.prepare
        result = call.function(*(prepare() if prepare is not None else call.args))
        if type(result) not in _PLAIN and inspect.isawaitable(result):
            result = run_async(result)
    except Exception as exc:
        return machine.failed(exc)
    return machine.filtered(result)


def drive(machine: ResponseMachine, events: list[Event], run_async: Callable[[Any], Any] = resolve) -> list[Event]:
    """``events`` with every FilterCall run (synchronously) and replaced by
    what the machine answered to its result (the list is the machine's answer,
    extended in place). An ``async def`` filter's coroutine is run to completion
    by ``run_async`` (:func:`resolve`, unless the host has its own way)."""
    while events and type(events[-1]) is FilterCall:
        events += _step(machine, events.pop(), run_async)  # type: ignore[arg-type]
    return events


async def run_in_thread(func: Callable[[], T]) -> T:
    """Run ``func`` in a worker thread of the running event loop's framework
    (anyio is imported here, by async hosts only)."""
    import anyio.to_thread

    return await anyio.to_thread.run_sync(func)


async def drive_async(
    machine: ResponseMachine, events: list[Event], run_sync: RunSync = run_in_thread, *, all_sync: bool = False
) -> list[Event]:
    """``drive`` for async hosts: ``async def`` filters are awaited; a call the
    machine marks ``offload`` (big synchronous work) runs through ``run_sync``,
    and with ``all_sync`` every synchronous call does (a host whose sync code
    must not run on the event loop at all: Django's)."""
    while events and type(events[-1]) is FilterCall:
        call: FilterCall = events.pop()  # type: ignore[assignment]
        if call.offload or all_sync and not (call.stage.is_async and call.function == call.stage.filter):
            more = await run_sync(functools.partial(_step, machine, call))
        else:
            try:
                prepare = call.prepare  # as in _step, inline: one frame less per filtered response
                result = call.function(*(prepare() if prepare is not None else call.args))
                if type(result) not in _PLAIN and inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                more = machine.failed(exc)
            else:
                more = machine.filtered(result)
        events += more
    return events
