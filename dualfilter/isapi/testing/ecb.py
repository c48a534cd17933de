"""The EXTENSION_CONTROL_BLOCK double: :class:`FakeECB`, and what the client received (:class:`ClientResponse`).

:class:`FakeECB` behaves as pywin32's ECB object does: bytes attributes,
``GetServerVariable`` with and without a default (``ExtensionError`` for an
unknown name, ``str`` for ``UNICODE_`` names), ``ReadClient``, ``WriteClient``
returning the count, asynchronous writes completed on other threads through
the ``IOCompletion`` callback, ``SendResponseHeaders``, ``DoneWithSession`` /
``close``. It records what the client receives and raises where IIS or
pywin32 refuse: headers sent twice, arguments of the wrong type, any use of an
ECB whose session is over (where pywin32 would crash or drop the data, the
double always raises RuntimeError).
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...responses import reason_phrase
from ..constants import (
    ERROR_INVALID_PARAMETER,
    HSE_IO_ASYNC,
    HSE_IO_DISCONNECT_AFTER_SEND,
    HSE_IO_SEND_HEADERS,
    HSE_STATUS_ERROR,
    HSE_STATUS_PENDING,
    HSE_STATUS_SUCCESS,
    UNKNOWN_TOTAL_BYTES,
)
from ..errors import ExtensionError
from ..extension.completion import CompletionPort
from ..wire import buffer_arg, int_arg, parse_header_lines, split_header_block, status_text, str_arg
from .request import NO_DEFAULT, Request, server_bytes, server_variable
from .version import IIS_VERSION

__all__ = ["FakeECB", "ClientResponse", "iis_io"]

log = logging.getLogger("dualfilter.isapi.testing")

DEAD = "Invalid ECB (DoneWithSession has been called)"
_HEADERS_CALL = "ServerSupportFunction(HSE_REQ_SEND_RESPONSE_HEADER_EX)"
_WRITABLE = frozenset({"HttpStatusCode", "LogData", "calls", "log_data", "unhealthy", "request"})
_conn_ids = itertools.count(0x1000)
#: The "IIS" threads that complete asynchronous I/O.
iis_io = CompletionPort(4, "fake-iis-io")


@dataclass
class ClientResponse:
    """What the client received for one request."""

    #: The status code sent, or None if no status line was sent (raw output only).
    status: int | None = None
    reason: str = ""
    #: The response headers, ``str`` pairs decoded as latin-1, in the order sent.
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    #: The body as it was written, one item per write.
    writes: list[bytes] = field(default_factory=list)
    #: The ``keepAlive`` flag of SendResponseHeaders.
    keep_alive: bool = False
    #: How the request ended: the DoneWithSession status or the HttpExtensionProc result.
    done_status: int | None = None
    #: The ``HttpStatusCode`` the extension left for the IIS log.
    log_status: int = 200
    #: What the extension raised, if HttpExtensionProc failed.
    error: BaseException | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


class FakeECB:
    """One request's EXTENSION_CONTROL_BLOCK, as pywin32 hands it to ``HttpExtensionProc``.

    Built from a :class:`~.request.Request` (``FakeECB(Request(...))``), or
    from that class's arguments directly (``FakeECB("POST", "/x", body=b"...")``).
    ``completions`` is the pool of "IIS" threads that complete asynchronous I/O.
    """

    def __init__(self, *args: Any, completions: CompletionPort | None = None, **options: Any) -> None:
        request = args[0] if len(args) == 1 and not options and isinstance(args[0], Request) else Request(*args, **options)
        self.request = request
        self._vars = request.server_variables()
        self._method = request.method
        self._body = request.body
        self._available = request.body[: request.available]
        self._read = len(self._available)
        self._total = UNKNOWN_TOTAL_BYTES if request.chunked else len(request.body)
        self._conn_id = next(_conn_ids)
        self._completions = completions or iis_io
        self._lock = threading.RLock()
        self._done = threading.Event()
        self._dead = False
        self._io: tuple[Callable[..., Any], Any] | None = None
        self._response = ClientResponse()
        self._headers_sent = False
        self._exec_status: tuple[int, int, int] | None = None
        #: Every call that reached the client, in order: ``(name, detail)``.
        self.calls: list[tuple[str, Any]] = []
        self.log_data = b""
        self.unhealthy: str | None = None

    # -- what the test asserts on -----------------------------------------------------

    @property
    def response(self) -> ClientResponse:
        """What the client has received so far (a snapshot)."""
        with self._lock:
            r = self._response
            return ClientResponse(
                r.status,
                r.reason,
                list(r.headers),
                b"".join(r.writes),
                list(r.writes),
                r.keep_alive,
                r.done_status,
                r.log_status,
                r.error,
            )

    @property
    def done(self) -> bool:
        """Whether the request is over (DoneWithSession, or HttpExtensionProc returned)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = 5.0) -> ClientResponse:
        """Wait for the request to end; TimeoutError if it does not within ``timeout`` seconds."""
        if not self._done.wait(timeout):
            raise TimeoutError(f"the request did not end within {timeout} s (no DoneWithSession)")
        return self.response

    def extension_returned(self, result: Any, error: BaseException | None = None) -> None:
        """IIS's side of HttpExtensionProc returning ``result`` (or raising ``error``)."""
        with self._lock:
            if error is not None:
                self._response.error = error
            if error is not None or not isinstance(result, int):
                result = HSE_STATUS_ERROR
            if result == HSE_STATUS_PENDING:
                return
            if not self._dead:
                self._end(result)

    # -- read-only attributes (bytes, as pywin32 gives them) ------------------------------

    @property
    def Version(self) -> int:
        self._check()
        return IIS_VERSION

    @property
    def ConnID(self) -> int:
        self._check()
        return self._conn_id

    @property
    def TotalBytes(self) -> int:
        self._check()
        return self._total

    @property
    def AvailableBytes(self) -> int:
        self._check()
        return len(self._available)

    @property
    def AvailableData(self) -> bytes:
        self._check()
        return self._available

    @property
    def Method(self) -> bytes:
        self._check()
        return server_bytes(self._method)

    @property
    def QueryString(self) -> bytes:
        self._check()
        return server_bytes(self._vars["QUERY_STRING"])

    @property
    def PathInfo(self) -> bytes:
        self._check()
        return server_bytes(self._vars["PATH_INFO"])

    @property
    def PathTranslated(self) -> bytes:
        self._check()
        return server_bytes(self._vars["PATH_TRANSLATED"])

    @property
    def ContentType(self) -> bytes:
        self._check()
        return server_bytes(self._vars["CONTENT_TYPE"])

    @property
    def HttpStatusCode(self) -> int:
        self._check()
        return self._response.log_status

    @HttpStatusCode.setter
    def HttpStatusCode(self, value: int) -> None:
        self._check()
        self._response.log_status = int_arg(value, "HttpStatusCode")

    @property
    def LogData(self) -> bytes:
        raise AttributeError("LogData attribute can only be set")

    @LogData.setter
    def LogData(self, value: str | bytes) -> None:
        self._check()
        self.log_data = buffer_arg(value, "LogData")

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_") and name not in _WRITABLE:
            raise AttributeError("can't modify read only ECB attributes only HTTPStatusCode and LogData can be changed.")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError("can't delete ECB attributes")

    # -- the request ------------------------------------------------------------------

    def GetServerVariable(self, name: str, default: Any = NO_DEFAULT) -> Any:
        """The variable as bytes (str for ``UNICODE_`` names); ``default`` or ExtensionError if unknown."""
        str_arg(name, "GetServerVariable")
        self._check()
        return server_variable(self._vars, name, default, ExtensionError)

    def ReadClient(self, nbytes: int | None = None) -> bytes:
        """Up to ``nbytes`` more of the request body (default: all the rest); b'' at its end."""
        self._check()
        rest = len(self._body) - self._read
        size = rest if nbytes is None else int_arg(nbytes, "ReadClient")
        if size < 0:
            raise OverflowError("can't convert negative int to unsigned")
        with self._lock:
            data = self._body[self._read : self._read + size]
            self._read += len(data)
        return data

    def IsKeepAlive(self) -> int:
        self._check()
        return int(self._vars.get("HTTP_CONNECTION", "").lower() == "keep-alive")

    def IsKeepConn(self) -> bool:
        self._check()
        return "close" not in self._vars.get("HTTP_CONNECTION", "").lower()

    def MapURLToPath(self, url: str) -> bytes:
        str_arg(url, "MapURLToPath")
        self._check()
        return server_bytes("C:\\inetpub\\wwwroot" + url.replace("/", "\\"))

    def GetImpersonationToken(self) -> int:
        self._check()
        return 0

    def GetAnonymousToken(self, metabase_path: str | bytes) -> int:
        self._check()
        if not isinstance(metabase_path, (str, bytes)):
            raise TypeError(f"must pass a string or unicode object (got {type(metabase_path).__name__})")
        return 0

    # -- the response -------------------------------------------------------------------

    def SendResponseHeaders(self, status: str | bytes, headers: str | bytes, keepAlive: bool = False) -> None:
        """Send the status line and the ``Name: value\\r\\n`` header string (text after its blank line is body)."""
        status_bytes = buffer_arg(status, "SendResponseHeaders")
        block = buffer_arg(headers, "SendResponseHeaders")
        keep_alive = bool(int_arg(keepAlive, "SendResponseHeaders"))
        with self._lock:
            self._check()
            if self._headers_sent or self._response.writes:
                raise ExtensionError(ERROR_INVALID_PARAMETER, "the response headers were already sent", _HEADERS_CALL)
            try:
                code, _, reason = status_text(status_bytes).partition(" ")
                lines, body = split_header_block(block)
                pairs = parse_header_lines(lines)
            except ValueError as exc:
                raise ExtensionError(ERROR_INVALID_PARAMETER, str(exc), _HEADERS_CALL) from None
            self._headers_sent = True
            response = self._response
            response.status, response.reason, response.headers, response.keep_alive = int(code), reason, pairs, keep_alive
            self.calls.append(("SendResponseHeaders", (int(code), reason)))
            if body:
                response.writes.append(body)
                self.calls.append(("WriteClient", len(body)))

    def WriteClient(self, data: str | bytes, flags: int = 0) -> int:
        """Send body bytes and return the count; with HSE_IO_ASYNC the IOCompletion callback follows."""
        payload = buffer_arg(data, "WriteClient")
        flags = int_arg(flags, "WriteClient")
        with self._lock:
            self._check()
            if payload:
                self._response.writes.append(payload)
            self.calls.append(("WriteClient", len(payload)))
        if flags & HSE_IO_ASYNC:
            self._completions.post(self._complete_io, None, len(payload))
        return len(payload)

    write = WriteClient

    def IOCompletion(self, func: Callable[..., Any], arg: Any = None) -> None:
        """Set the callback for asynchronous I/O: ``func(ecb, arg, cbIO, dwError)``."""
        self._check()
        if not callable(func):
            raise TypeError("first param must be callable")
        with self._lock:
            self._io = (func, arg)

    def SetFlushFlag(self, flag: int) -> None:
        int_arg(flag, "SetFlushFlag")
        self._check()

    def Redirect(self, url: str) -> None:
        """Answer with IIS's own 302 redirect to ``url``."""
        str_arg(url, "Redirect")
        with self._lock:
            self._check()
            if self._headers_sent or self._response.writes:
                raise ExtensionError(
                    ERROR_INVALID_PARAMETER,
                    "the response has already started",
                    "ServerSupportFunction(HSE_REQ_SEND_URL_REDIRECT_RESP)",
                )
            body = (
                "<head><title>Object moved</title></head><body><h1>Object Moved</h1>"
                f'This object may be found <a HREF="{url}">here</a>.</body>'
            )
            data = body.encode("latin-1", "replace")
            self._headers_sent = True
            response = self._response
            response.status, response.reason = 302, reason_phrase(302)
            response.headers = [("Location", url), ("Content-Type", "text/html"), ("Content-Length", str(len(data)))]
            response.writes.append(data)
            self.calls.append(("Redirect", url))

    def TransmitFile(
        self,
        callback: Callable[..., Any],
        param: Any,
        hFile: int,
        statusCode: str,
        BytesToWrite: int,
        Offset: int,
        head: str | bytes | None,
        tail: str | bytes | None,
        flags: int,
    ) -> None:
        """Send ``BytesToWrite`` bytes (0: all) of the file ``hFile`` (an OS file descriptor
        here) from ``Offset``, between ``head`` and ``tail``; asynchronous only."""
        if not callable(callback):
            raise TypeError("Callback is not callable")
        str_arg(statusCode, "TransmitFile")
        for number in (hFile, BytesToWrite, Offset, flags):
            int_arg(number, "TransmitFile")
        head_bytes = b"" if head is None else buffer_arg(head, "TransmitFile")
        tail_bytes = b"" if tail is None else buffer_arg(tail, "TransmitFile")
        call = "ServerSupportFunction(HSE_REQ_TRANSMIT_FILE)"
        with self._lock:
            self._check()
            if not flags & HSE_IO_ASYNC:
                raise ExtensionError(ERROR_INVALID_PARAMETER, "TransmitFile is asynchronous only (HSE_IO_ASYNC)", call)
            if flags & HSE_IO_SEND_HEADERS:
                self.SendResponseHeaders(statusCode, head_bytes, not flags & HSE_IO_DISCONNECT_AFTER_SEND)
            elif head_bytes:
                self._response.writes.append(head_bytes)
            size = BytesToWrite or os.fstat(hFile).st_size - Offset
            data = os.pread(hFile, size, Offset)
            self._response.writes.append(data)
            if tail_bytes:
                self._response.writes.append(tail_bytes)
            if flags & HSE_IO_DISCONNECT_AFTER_SEND:
                self._response.keep_alive = False
            self.calls.append(("TransmitFile", len(data)))
        sent = len(data) + len(tail_bytes) + (0 if flags & HSE_IO_SEND_HEADERS else len(head_bytes))
        self._completions.post(self._complete_io, (callback, param), sent)

    def ExecURL(self, url: str | None, method: str | None, clientHeaders: str | None, info: Any, entity: Any, flags: int) -> None:
        """Record a child request IIS would run (the double runs none)."""
        for text in (url, method, clientHeaders):
            if text is not None:
                str_arg(text, "ExecURL")
        int_arg(flags, "ExecURL")
        if info is not None or entity is not None:
            raise ValueError("info and entity params must be None")
        with self._lock:
            self._check()
            self._exec_status = (200, 0, 0)
            self.calls.append(("ExecURL", url))

    def GetExecURLStatus(self) -> tuple[int, int, int]:
        self._check()
        if self._exec_status is None:
            raise ExtensionError(ERROR_INVALID_PARAMETER, None, "ServerSupportFunction(HSE_REQ_GET_EXEC_URL_STATUS)")
        return self._exec_status

    def ReportUnhealthy(self, reason: str | None = None) -> None:
        if reason is not None:
            str_arg(reason, "ReportUnhealthy")
        self._check()
        self.unhealthy = reason or ""

    def DoneWithSession(self, status: int = HSE_STATUS_SUCCESS) -> None:
        """End the request; the ECB is dead afterwards."""
        status = int_arg(status, "DoneWithSession")
        with self._lock:
            self._check()
            self.calls.append(("DoneWithSession", status))
            self._end(status)

    close = DoneWithSession

    # -- internals ---------------------------------------------------------------------

    def _check(self) -> None:
        if self._dead:
            raise RuntimeError(DEAD)

    def _end(self, status: int) -> None:
        self._dead = True
        self._io = None
        self._response.done_status = status
        self._done.set()

    def _complete_io(self, io: tuple[Callable[..., Any], Any] | None, count: int) -> None:
        with self._lock:
            if self._dead:
                return
            io = io or self._io
        try:
            if io is None:
                raise RuntimeError("Failed to locate map entry for this commID")
            func, arg = io
            func(self, arg, count, 0)
        except Exception:
            # pywin32: a failed callback ends the session with HSE_STATUS_ERROR.
            log.exception("ISAPI I/O completion callback failed")
            with self._lock:
                if not self._dead:
                    self._end(HSE_STATUS_ERROR)

    def __repr__(self) -> str:
        return f"<FakeECB {self._method} {self._vars['URL']}{' (done)' if self._dead else ''}>"
