"""Inner ISAPI extensions for the adapter tests, written the way pywin32 users write them.

``StaticExtension`` answers synchronously (SimpleExtension style);
``PoolExtension`` is pywin32's ThreadPoolExtension model on plain threads: it
queues each request, returns HSE_STATUS_PENDING, and a worker runs
``Dispatch(ecb)`` then ``DoneWithSession``, with the same error handler.
"""

from __future__ import annotations

import queue
import threading
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from dualfilter.isapi import ExtensionError
from dualfilter.isapi.constants import HSE_STATUS_ERROR, HSE_STATUS_PENDING, HSE_STATUS_SUCCESS
from tests.support.filters import Upper as UpperFilter  # noqa: F401 - the folder's tests import it from here

HTML = "text/html; charset=utf-8"


def header_string(headers: Iterable[tuple[str, str]]) -> str:
    return "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"


def send(ecb: Any, status: str, headers: Iterable[tuple[str, str]], chunks: Iterable[bytes], keep_alive: bool = False) -> None:
    """Write one whole response the usual way: SendResponseHeaders, then WriteClient per chunk."""
    ecb.SendResponseHeaders(status, header_string(headers), keep_alive)
    for chunk in chunks:
        ecb.WriteClient(chunk)


class StaticExtension:
    """A SimpleExtension that answers every request with the same response."""

    def __init__(
        self,
        chunks: Iterable[bytes] = (b"<p>hello</p>",),
        content_type: str | None = HTML,
        status: str = "200 OK",
        headers: Iterable[tuple[str, str]] = (),
        keep_alive: bool = False,
    ) -> None:
        self.chunks = list(chunks)
        self.headers = ([("Content-Type", content_type)] if content_type else []) + list(headers)
        self.status = status
        self.keep_alive = keep_alive
        self.version_info: Any = None
        self.terminated: int | None = None
        self.seen: list[Any] = []

    def GetExtensionVersion(self, vi: Any) -> None:
        self.version_info = vi
        vi.ExtensionDesc = "static test extension"

    def HttpExtensionProc(self, ecb: Any) -> int:
        self.seen.append(ecb)
        send(ecb, self.status, self.headers, self.chunks, self.keep_alive)
        return HSE_STATUS_SUCCESS

    def TerminateExtension(self, status: int) -> None:
        self.terminated = status


class PoolExtension:
    """ThreadPoolExtension on plain threads: ``dispatch(ecb)`` runs on a worker, then DoneWithSession."""

    def __init__(self, dispatch: Callable[[Any], None], workers: int = 8) -> None:
        self.dispatch = dispatch
        self.workers = workers
        self.queue: queue.Queue[Any] = queue.Queue()
        self.threads: list[threading.Thread] = []

    def GetExtensionVersion(self, vi: Any) -> None:
        for _ in range(self.workers):
            thread = threading.Thread(target=self._work, daemon=True)
            thread.start()
            self.threads.append(thread)

    def HttpExtensionProc(self, ecb: Any) -> int:
        self.queue.put(ecb)
        return HSE_STATUS_PENDING

    def TerminateExtension(self, status: int) -> None:
        for _ in self.threads:
            self.queue.put(None)
        for thread in self.threads:
            thread.join(5)

    def _work(self) -> None:
        while (ecb := self.queue.get()) is not None:
            try:
                self.dispatch(ecb)
            except Exception:
                self.handle_dispatch_error(ecb)
            else:
                ecb.DoneWithSession()

    def handle_dispatch_error(self, ecb: Any) -> None:
        """pywin32's HandleDispatchError: the log status set, a traceback page (any error
        writing it only printed), then DoneWithSession."""
        ecb.HttpStatusCode = HSE_STATUS_ERROR
        try:
            ecb.SendResponseHeaders("200 OK", "Content-type: text/html\r\n\r\n", False)
            print("<H3>Traceback (most recent call last):</H3>", file=ecb)
            print("<PRE>" + traceback.format_exc() + "</PRE>", file=ecb)
        except ExtensionError:
            pass  # the client went away
        except Exception:
            traceback.print_exc()  # "FAILED to render the error message!"
        finally:
            ecb.DoneWithSession()
