"""What ``isapi.simple`` and ``isapi.threaded_extension`` give a pywin32 script, on plain threads."""

from __future__ import annotations

import html
import queue
import sys
import threading
import traceback
from typing import Any

from dualfilter.isapi import ExtensionError
from dualfilter.isapi.constants import HSE_STATUS_ERROR, HSE_STATUS_PENDING


def head_block(upstream: Any) -> str:
    """An upstream response's headers as ``SendResponseHeaders`` takes them: CRLF lines and the
    blank line (``str()`` of the headers ends with a blank LF line already)."""
    return str(upstream.info()).rstrip("\n").replace("\n", "\r\n") + "\r\n\r\n"


class SimpleExtension:
    """An extension whose description is its docstring; subclasses give HttpExtensionProc."""

    def GetExtensionVersion(self, vi: Any) -> None:
        if vi is not None:
            vi.ExtensionDesc = self.__doc__

    def HttpExtensionProc(self, ecb: Any) -> int:
        raise NotImplementedError

    def TerminateExtension(self, status: int) -> None:
        pass


class ThreadPoolExtension(SimpleExtension):
    """Queues every request to worker threads and answers HSE_STATUS_PENDING; a worker runs
    ``Dispatch(ecb)``, which must end the session itself; if it raises, ``HandleDispatchError``."""

    max_workers = 4

    def GetExtensionVersion(self, vi: Any) -> None:
        super().GetExtensionVersion(vi)
        self._requests: queue.Queue[Any] = queue.Queue()
        self._workers = [threading.Thread(target=self._work, daemon=True) for _ in range(self.max_workers)]
        for worker in self._workers:
            worker.start()

    def HttpExtensionProc(self, ecb: Any) -> int:
        self._requests.put(ecb)
        return HSE_STATUS_PENDING

    def TerminateExtension(self, status: int) -> None:
        for _ in self._workers:
            self._requests.put(None)
        for worker in self._workers:
            worker.join(5)

    def _work(self) -> None:
        while (ecb := self._requests.get()) is not None:
            try:
                self.Dispatch(ecb)
            except Exception:
                self.HandleDispatchError(ecb)

    def Dispatch(self, ecb: Any) -> None:
        raise NotImplementedError

    def HandleDispatchError(self, ecb: Any) -> None:
        """A traceback page (``200 OK``), status 4 for the log, then DoneWithSession."""
        ecb.HttpStatusCode = HSE_STATUS_ERROR
        exc_type, exc, tb = sys.exc_info()
        try:
            ecb.SendResponseHeaders("200 OK", "Content-type: text/html\r\n\r\n", False)
            lines = traceback.format_tb(tb) + traceback.format_exception_only(exc_type, exc)
            last = lines.pop()
            print("<H3>Traceback (most recent call last):</H3>", file=ecb)
            print(f"<PRE>{html.escape(''.join(lines))}<B>{html.escape(last)}</B></PRE>", file=ecb)
        except ExtensionError:
            pass  # the client went away
        finally:
            ecb.DoneWithSession()


class SimpleFilter:
    """A filter whose description is its docstring and whose notifications are ``filter_flags``."""

    filter_flags: int | None = None

    def GetFilterVersion(self, fv: Any) -> None:
        if self.filter_flags is None:
            raise RuntimeError("You must specify the filter flags")
        if fv is not None:
            fv.Flags = self.filter_flags
            fv.FilterDesc = self.__doc__

    def HttpFilterProc(self, fc: Any) -> int:
        raise NotImplementedError

    def TerminateFilter(self, status: int) -> None:
        pass
