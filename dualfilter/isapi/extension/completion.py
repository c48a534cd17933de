"""Worker threads that run I/O completion callbacks, as IIS does on its own threads.

A callback is never run inside the ``WriteClient`` call that started the I/O:
an extension that writes its next chunk from the callback would otherwise
recurse once per chunk.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


class CompletionPort:
    """A lazily started pool of completion threads (``workers`` of them)."""

    def __init__(self, workers: int = 4, name: str = "dualfilter-isapi-io") -> None:
        self.workers = workers
        self.name = name
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def post(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` on a completion thread."""
        executor = self._executor
        if executor is None:
            with self._lock:
                if self._executor is None:
                    self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix=self.name)
                executor = self._executor
        executor.submit(callback, *args)

    def close(self) -> None:
        """Wait for the callbacks already posted, then stop the threads."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True)
