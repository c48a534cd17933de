"""Running a filter that may be ``async def`` from a host that is not."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def _wait(awaitable: Awaitable[T]) -> T:
    return await awaitable


def resolve(value: Any) -> Any:
    """``value`` itself, or, if it is awaitable, what it gives when run to completion.

    WSGI and ISAPI threads normally have no event loop, so the coroutine runs in
    a fresh one here; a thread that is already inside a loop cannot block on
    it, so the coroutine then runs in a short-lived thread of its own.
    """
    if not inspect.isawaitable(value):
        return value
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_wait(value))
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["value"] = asyncio.run(_wait(value))
        except BaseException as exc:  # handed back to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="dualfilter-async-filter")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
