"""The EXTENSION_CONTROL_BLOCK double: :class:`FakeECB`, and what the client received (:class:`ClientResponse`).

:class:`FakeECB` holds to what pywin32's ``PyECB`` (``isapi/src/PyExtensionObjects.cpp``)
does over IIS's EXTENSION_CONTROL_BLOCK:

- ``Version``, ``TotalBytes``, ``AvailableBytes`` and ``HttpStatusCode`` are
  ``T_INT`` members: signed 32-bit, so a chunked upload's ``TotalBytes``
  (0xFFFFFFFF) reads -1; they are read once, when the object is made;
- ``Method``, ``QueryString``, ``PathInfo``, ``PathTranslated``,
  ``ContentType`` and ``AvailableData`` are bytes; ``LogData`` can only be set;
- every method is positional-only, with pywin32's argument formats
  (:mod:`.args`): ``WriteClient`` takes str (sent as UTF-8) or a read-only
  buffer, not bytearray; ``GetServerVariable`` takes a str name only;
- ``GetImpersonationToken()`` returns the handle of the token of the request's
  user as an int (pywin32's ``PyLong_FromVoidPtr``), one per request;
- ``ReadClient()`` with no argument reads ``TotalBytes - AvailableBytes``
  bytes: for a chunked upload that is about 4 GiB, which pywin32 tries to
  allocate (the double raises MemoryError); read such a body with
  ``ReadClient(n)`` until it returns ``b''``;
- ``SendResponseHeaders`` passes its strings to IIS verbatim: a CR or LF in
  the status or a header value reaches the client as more header lines (the
  double parses the head as the client would, so such injection shows);
- a completion callback (``IOCompletion``, ``TransmitFile``) gets a *new* ECB
  object for the same request, live until the session ends; a failing
  ``IOCompletion`` callback ends the session with HSE_STATUS_ERROR, a
  failing ``TransmitFile`` callback gets pywin32's error page and leaves the
  session open;
- after ``DoneWithSession`` (on any ECB object of the request), or once
  ``HttpExtensionProc`` has returned anything but HSE_STATUS_PENDING with no
  asynchronous I/O outstanding, the request is over: pywin32 would crash or
  use freed memory, the double raises RuntimeError on any use.

:meth:`FakeECB.extension_returned` is IIS's side of ``HttpExtensionProc``
returning: an exception, or a result that is not an int, gets pywin32's own
error page (status ``200 OK``, ``Content-type: text/html``) and ends the
request with HSE_STATUS_ERROR.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...http1 import persists
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
from ..wire import parse_header_lines, split_header_block
from . import args
from .request import NO_DEFAULT, Request, server_bytes, server_variable
from .version import IIS_VERSION

__all__ = ["FakeECB", "ClientResponse", "iis_io", "error_page"]

log = logging.getLogger("dualfilter.isapi.testing")

DEAD = "Invalid ECB (DoneWithSession has been called)"
OVER = "Invalid ECB: the request is over (DoneWithSession, or HttpExtensionProc returned); pywin32 would use freed memory"
_HEADERS_CALL = "ServerSupportFunction(HSE_REQ_SEND_RESPONSE_HEADER_EX)"
#: What a test may set on the double besides the ECB's own two writable members.
_WRITABLE = frozenset({"HttpStatusCode", "LogData"})
_conn_ids = itertools.count(0x1000)
#: Token handles for the requests' users (handle values are multiples of 4, never 0).
_tokens = itertools.count(0x2F0, 4)
#: The "IIS" threads that complete asynchronous I/O.
iis_io = CompletionPort(4, "fake-iis-io")
#: The child request ``ExecURL`` runs when no ``exec_url`` is given: IIS's static file
#: handler, with no such file.
_NOT_FOUND = (404, [("Content-Type", "text/html")], b"<html><body>404 - File or directory not found.</body></html>")

ChildResponse = tuple[int, list[tuple[str, str]], bytes]


def error_page(message: str) -> bytes:
    """The HTML pywin32 writes when an extension fails (``HTMLErrorResp`` in ``Utils.cpp``)."""
    return (
        "<html><head><title>Python ISAPI Error</title></head>"
        "<body><h2>An Error occurred while processing your request</h2>"
        f'<font color="Red"> {message} </font></body></html>'
    ).encode("latin-1")


@dataclass
class ClientResponse:
    """What the client received for one request."""

    #: The status code sent, or None if no status line was sent (raw output only).
    status: int | None = None
    reason: str = ""
    #: The response headers, ``str`` pairs decoded as latin-1, in the order the client reads them.
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    #: The body as it was written, one item per write.
    writes: list[bytes] = field(default_factory=list)
    #: The ``keepAlive`` flag of SendResponseHeaders.
    keep_alive: bool = False
    #: How the request ended: the DoneWithSession status or the HttpExtensionProc result.
    done_status: int | None = None
    #: The ``HttpStatusCode`` left for the IIS log (a DWORD: pywin32 sets 4 when it reports an error).
    log_status: int = 200
    #: What the extension raised, if HttpExtensionProc failed.
    error: BaseException | None = None
    #: The head as it went on the wire (status line and header lines), b'' if none was sent.
    raw_head: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


class _Session:
    """IIS's side of one request: the EXTENSION_CONTROL_BLOCK every ECB object of it wraps."""

    def __init__(
        self,
        request: Request,
        completions: CompletionPort,
        exec_url: Callable[[str], ChildResponse] | None,
    ) -> None:
        self.request = request
        self.variables = request.server_variables()
        self.body = request.body
        self.available = request.body[: request.available]
        self.read = len(self.available)
        self.total = UNKNOWN_TOTAL_BYTES if request.chunked else len(request.body)
        self.conn_id = next(_conn_ids)
        #: The handle of the request's impersonation token (HSE_REQ_GET_IMPERSONATION_TOKEN).
        self.token = next(_tokens)
        self.completions = completions
        self.exec_url = exec_url
        self.lock = threading.RLock()
        self.done = threading.Event()
        self.over = False
        #: IOCompletion's (func, arg), kept per connection as pywin32's callback map does.
        self.io: tuple[Callable[..., Any], Any] | None = None
        self.response = ClientResponse()
        self.headers_sent = False
        self.exec_status: tuple[int, int, int] | None = None
        #: Asynchronous operations not yet completed, and the result to end with once they are.
        self.outstanding = 0
        self.deferred: int | None = None
        self.calls: list[tuple[str, Any]] = []
        self.log_data = b""
        self.unhealthy: str | None = None

    def end(self, status: int) -> None:
        self.over = True
        self.io = None
        self.response.done_status = status
        self.done.set()

    def write(self, data: bytes) -> None:
        if data:
            self.response.writes.append(data)

    def send_head(self, status: bytes, block: bytes, keep_alive: bool) -> None:
        """HSE_REQ_SEND_RESPONSE_HEADER_EX: IIS puts the strings on the wire as they are."""
        lines, body = split_header_block(block)
        wire = b"HTTP/1.1 " + status + b"\r\n" + lines
        first, _, rest = wire.replace(b"\r\n", b"\n").partition(b"\n")
        parts = first.decode("latin-1").split(" ", 2)
        code = parts[1] if len(parts) > 1 else ""
        if len(code) != 3 or not code.isdigit():
            raise ExtensionError(ERROR_INVALID_PARAMETER, f"not an HTTP status: {status!r}", _HEADERS_CALL)
        try:
            pairs = parse_header_lines(rest)
        except ValueError as exc:
            raise ExtensionError(ERROR_INVALID_PARAMETER, str(exc), _HEADERS_CALL) from None
        response = self.response
        self.headers_sent = True
        response.status, response.reason = int(code), parts[2] if len(parts) > 2 else ""
        response.headers, response.keep_alive = pairs, keep_alive
        response.raw_head = wire if wire.endswith(b"\n") else wire + b"\r\n"
        self.calls.append(("SendResponseHeaders", (response.status, response.reason)))
        if body:
            self.write(body)
            self.calls.append(("WriteClient", len(body)))

    def report_error(self, message: str) -> None:
        """pywin32's ``ExtensionError(pcb, message)``: status 4 for the log, the message as
        LogData, and its error page (``200 OK``; only the body if headers went out already)."""
        self.response.log_status = HSE_STATUS_ERROR
        self.log_data = message.encode("latin-1", "replace")
        if not self.headers_sent and not self.response.writes:
            self.send_head(b"200 OK", b"Content-type: text/html\r\n\r\n", False)
        self.write(error_page(message))


class FakeECB:
    """One request's EXTENSION_CONTROL_BLOCK, as pywin32 hands it to ``HttpExtensionProc``.

    Built from a :class:`~.request.Request` (``FakeECB(Request(...))``), or
    from that class's arguments directly (``FakeECB("POST", "/x", body=b"...")``).
    ``completions`` is the pool of "IIS" threads that complete asynchronous
    I/O; ``exec_url(url)`` answers the child requests ``ExecURL`` runs, as
    ``(status, headers, body)`` (by default, IIS's 404).
    """

    __slots__ = ("_s", "_released", "_status")
    _s: _Session
    _released: bool
    _status: int

    def __init__(
        self,
        *request_args: Any,
        completions: CompletionPort | None = None,
        exec_url: Callable[[str], ChildResponse] | None = None,
        **options: Any,
    ) -> None:
        if len(request_args) == 1 and not options and isinstance(request_args[0], Request):
            request = request_args[0]
        else:
            request = Request(*request_args, **options)
        self._bind(_Session(request, completions or iis_io, exec_url))

    def _bind(self, session: _Session) -> None:
        object.__setattr__(self, "_s", session)
        object.__setattr__(self, "_released", False)
        # PyECB copies dwHttpStatusCode into its T_INT member when it is made.
        object.__setattr__(self, "_status", session.response.log_status)

    @classmethod
    def _another(cls, session: _Session) -> FakeECB:
        """A new ECB object over the same request, as pywin32 makes for a completion callback."""
        ecb = cls.__new__(cls)
        ecb._bind(session)
        return ecb

    # -- what the test asserts on -----------------------------------------------------

    @property
    def request(self) -> Request:
        """The request this ECB is for."""
        return self._s.request

    @property
    def variables(self) -> dict[str, str]:
        """The request's server variables (upper-case names, str values)."""
        return self._s.variables

    @property
    def calls(self) -> list[tuple[str, Any]]:
        """Every call that reached the client, in order: ``(name, detail)``."""
        return self._s.calls

    @property
    def log_data(self) -> bytes:
        """What ``LogData`` was last set to."""
        return self._s.log_data

    @property
    def impersonation_token(self) -> int:
        """The handle ``GetImpersonationToken`` gives for this request."""
        return self._s.token

    @property
    def unhealthy(self) -> str | None:
        """The reason given to ``ReportUnhealthy``, if it was called."""
        return self._s.unhealthy

    @property
    def response(self) -> ClientResponse:
        """What the client has received so far (a snapshot)."""
        s = self._s
        with s.lock:
            r = s.response
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
                r.raw_head,
            )

    @property
    def done(self) -> bool:
        """Whether the request is over (DoneWithSession, or HttpExtensionProc returned)."""
        return self._s.done.is_set()

    def wait(self, timeout: float | None = 5.0) -> ClientResponse:
        """Wait for the request to end; TimeoutError if it does not within ``timeout`` seconds."""
        if not self._s.done.wait(timeout):
            raise TimeoutError(f"the request did not end within {timeout} s (no DoneWithSession)")
        return self.response

    def extension_returned(self, result: Any, error: BaseException | None = None) -> None:
        """IIS's side of HttpExtensionProc returning ``result`` (or raising ``error``), as
        ``HttpExtensionProc`` in pywin32's ``pyISAPI.cpp`` handles it."""
        s = self._s
        with s.lock:
            if error is not None and s.over:
                # pywin32 reports it through the control block DoneWithSession released:
                # a write through a null pointer, and the worker process goes down.
                raise RuntimeError(f"HttpExtensionProc raised after DoneWithSession (pywin32 crashes IIS): {error!r}")
            if error is not None:
                s.response.error = error
                message = "HttpExtensionProc function failed!"
            elif not isinstance(result, int):
                message = "HttpExtensionProc should return an int"
            else:
                message = ""
            if message:
                if not s.over:
                    s.report_error(message)
                result = HSE_STATUS_ERROR
            result = args.dword(result)
            if result == HSE_STATUS_PENDING or s.over:
                return
            if s.outstanding:  # IIS keeps the request until its asynchronous I/O completes
                s.deferred = result
                return
            s.end(result)

    # -- members (read once, as PyECB's T_INT members are) ------------------------------

    @property
    def Version(self) -> int:
        self._check()
        return args.t_int(IIS_VERSION)

    @property
    def ConnID(self) -> int:
        self._check()
        return self._s.conn_id

    @property
    def TotalBytes(self) -> int:
        self._check()
        return args.t_int(self._s.total)

    @property
    def AvailableBytes(self) -> int:
        self._check()
        return args.t_int(len(self._s.available))

    @property
    def AvailableData(self) -> bytes:
        self._check()
        return self._s.available

    @property
    def Method(self) -> bytes:
        self._check()
        return server_bytes(self._s.request.method)

    @property
    def QueryString(self) -> bytes:
        self._check()
        return server_bytes(self._s.variables["QUERY_STRING"])

    @property
    def PathInfo(self) -> bytes:
        self._check()
        return server_bytes(self._s.variables["PATH_INFO"])

    @property
    def PathTranslated(self) -> bytes:
        self._check()
        return server_bytes(self._s.variables["PATH_TRANSLATED"])

    @property
    def ContentType(self) -> bytes:
        self._check()
        return server_bytes(self._s.variables["CONTENT_TYPE"])

    @property
    def HttpStatusCode(self) -> int:
        """A member of pywin32's object; but ``PyECB::getattro`` reaches every attribute
        through the control block first, which ``DoneWithSession`` set to NULL: after it,
        pywin32 crashes, and the double raises RuntimeError. (Setting it is safe.)"""
        if self._released:
            raise RuntimeError(DEAD)
        return args.t_int(self._status)

    @HttpStatusCode.setter
    def HttpStatusCode(self, value: int) -> None:
        """The status for the IIS log; once the session is over pywin32 keeps the value in
        its own member and tells IIS nothing (``PyECB::setattro``: no control block left)."""
        if not isinstance(value, int):
            raise TypeError(f"HttpStatusCode must be an int (got {type(value).__name__})")
        status = args.dword(value)
        object.__setattr__(self, "_status", status)
        if not self._released and not self._s.over:
            self._s.response.log_status = status

    @property
    def LogData(self) -> bytes:
        raise AttributeError("LogData attribute can only be set")

    @LogData.setter
    def LogData(self, value: str | bytes) -> None:
        self._check()
        self._s.log_data = args.isapi_string(value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _WRITABLE:
            raise AttributeError("can't modify read only ECB attributes only HTTPStatusCode and LogData can be changed.")
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        raise AttributeError("can't delete ECB attributes")

    # -- the request ------------------------------------------------------------------

    def GetServerVariable(self, name: str, default: Any = NO_DEFAULT, /) -> Any:
        """The variable as bytes (str for ``UNICODE_`` names); ``default`` or ExtensionError if unknown."""
        args.s(name, "GetServerVariable")
        self._check()
        return server_variable(self._s.variables, name, default, ExtensionError)

    def ReadClient(self, nbytes: int | None = None, /) -> bytes:
        """``nbytes`` more of the request body (default ``TotalBytes - AvailableBytes``), fewer
        only at its end; b'' once it is all read."""
        self._check()
        s = self._s
        size = args.dword(s.total - len(s.available) if nbytes is None else args.i(nbytes, "ReadClient"))
        if size > 0x7FFFFFFF:
            raise MemoryError(f"ReadClient({size}): pywin32 allocates a buffer of that many bytes first")
        with s.lock:
            data = s.body[s.read : s.read + size]
            s.read += len(data)
        return data

    def IsKeepAlive(self, /) -> int:
        self._check()
        return int(self._s.variables.get("HTTP_CONNECTION", "").lower() == "keep-alive")

    def IsKeepConn(self, /) -> bool:
        """IIS's answer to HSE_REQ_IS_KEEP_CONN: whether the request lets the connection
        stay open (RFC 9112 section 9.3: an HTTP/1.0 request only with ``keep-alive``)."""
        self._check()
        variables = self._s.variables
        version = variables.get("SERVER_PROTOCOL", "HTTP/1.1").removeprefix("HTTP/")
        return persists(version, [variables.get("HTTP_CONNECTION", "")])

    def MapURLToPath(self, url: str, /) -> bytes:
        args.s(url, "MapURLToPath")
        self._check()
        return server_bytes("C:\\inetpub\\wwwroot" + url.replace("/", "\\"))

    def GetImpersonationToken(self, /) -> int:
        """The handle of the token of the request's user (IIS owns it: not to be closed)."""
        self._check()
        return self._s.token

    def GetAnonymousToken(self, metabase_path: str | bytes, /) -> int:
        self._check()
        if not isinstance(metabase_path, (str, bytes)):
            raise TypeError(f"must pass a string or unicode object (got {type(metabase_path).__name__})")
        return 0

    # -- the response -------------------------------------------------------------------

    def SendResponseHeaders(self, status: str | bytes, headers: str | bytes, keepAlive: int = 0, /) -> None:
        """Send ``status`` and the ``Name: value\\r\\n`` header string, verbatim (text after
        the blank line is body)."""
        status_bytes = args.s_hash(status, "SendResponseHeaders")
        block = args.s_hash(headers, "SendResponseHeaders")
        keep_alive = bool(args.i(keepAlive, "SendResponseHeaders"))
        s = self._s
        with s.lock:
            self._check()
            if s.headers_sent or s.response.writes:
                raise ExtensionError(ERROR_INVALID_PARAMETER, "the response headers were already sent", _HEADERS_CALL)
            s.send_head(status_bytes, block, keep_alive)

    def WriteClient(self, data: str | bytes, reserved: int = 0, /) -> int:
        """Send body bytes and return the count; with HSE_IO_ASYNC the IOCompletion callback follows."""
        payload = args.s_hash(data, "WriteClient")
        flags = args.i(reserved, "WriteClient")
        s = self._s
        with s.lock:
            self._check()
            s.write(payload)
            s.calls.append(("WriteClient", len(payload)))
            if flags & HSE_IO_ASYNC:
                s.outstanding += 1
        if flags & HSE_IO_ASYNC:
            s.completions.post(self._complete_io, None, len(payload))
        return len(payload)

    write = WriteClient

    def IOCompletion(self, func: Callable[..., Any], arg: Any = None, /) -> None:
        """Set the callback for asynchronous I/O: ``func(ecb, arg, cbIO, dwError)`` (a new ECB object)."""
        self._check()
        if not callable(func):
            raise TypeError("first param must be callable")
        with self._s.lock:
            self._s.io = (func, arg)

    def SetFlushFlag(self, flag: int, /) -> None:
        self._check()
        args.i(flag, "SetFlushFlag")

    def Redirect(self, url: str, /) -> None:
        """Answer with IIS's own 302 redirect to ``url``."""
        self._check()
        args.s(url, "Redirect")
        s = self._s
        with s.lock:
            if s.headers_sent or s.response.writes:
                raise ExtensionError(
                    ERROR_INVALID_PARAMETER,
                    "the response has already started",
                    "ServerSupportFunction(HSE_REQ_SEND_URL_REDIRECT_RESP)",
                )
            body = (
                "<head><title>Object moved</title></head><body><h1>Object Moved</h1>"
                f'This object may be found <a HREF="{url}">here</a>.</body>'
            )
            data = body.encode("utf-8")  # format "s": IIS gets the URL as UTF-8
            s.headers_sent = True
            response = s.response
            response.status, response.reason = 302, reason_phrase(302)
            location = args.wire(url)
            response.headers = [("Location", location), ("Content-Type", "text/html"), ("Content-Length", str(len(data)))]
            s.write(data)
            s.calls.append(("Redirect", url))

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
        /,
    ) -> None:
        """Send ``BytesToWrite`` bytes (0: all) of the file ``hFile`` (an OS file descriptor
        here) from ``Offset``, between ``head`` and ``tail``; asynchronous only. The callback
        gets ``(ecb, param, cbIO, dwError)`` with a new ECB object for this request."""
        self._check()
        fd = args.k(hFile, "TransmitFile")
        status = args.s(statusCode, "TransmitFile")
        size, offset = args.i(BytesToWrite, "TransmitFile"), args.i(Offset, "TransmitFile")
        head_bytes = args.z_hash(head, "TransmitFile") or b""
        tail_bytes = args.z_hash(tail, "TransmitFile") or b""
        flags = args.i(flags, "TransmitFile")
        if not callable(callback):
            raise TypeError("Callback is not callable")
        call = "ServerSupportFunction(HSE_REQ_TRANSMIT_FILE)"
        s = self._s
        with s.lock:
            if not flags & HSE_IO_ASYNC:
                raise ExtensionError(ERROR_INVALID_PARAMETER, "TransmitFile is asynchronous only (HSE_IO_ASYNC)", call)
            if flags & HSE_IO_SEND_HEADERS:
                if s.headers_sent or s.response.writes:
                    raise ExtensionError(ERROR_INVALID_PARAMETER, "the response headers were already sent", call)
                s.send_head(status.encode("utf-8"), head_bytes, not flags & HSE_IO_DISCONNECT_AFTER_SEND)  # format "s"
            else:
                s.write(head_bytes)
            data = os.pread(fd, size or os.fstat(fd).st_size - offset, offset)
            s.write(data)
            s.write(tail_bytes)
            if flags & HSE_IO_DISCONNECT_AFTER_SEND:
                s.response.keep_alive = False
            s.calls.append(("TransmitFile", len(data)))
            s.outstanding += 1
        sent = len(data) + len(tail_bytes) + (0 if flags & HSE_IO_SEND_HEADERS else len(head_bytes))
        s.completions.post(self._complete_transmit, (callback, param), sent)

    def ExecURL(
        self, url: str | None, method: str | None, clientHeaders: str | None, info: Any, entity: Any, flags: int, /
    ) -> None:
        """Run a child request for ``url`` (None: this request's own); its response goes to the
        client, then the IOCompletion callback follows with cbIO 0."""
        for text in (url, method, clientHeaders):
            args.z(text, "ExecURL")
        args.i(flags, "ExecURL")
        if info is not None or entity is not None:
            raise ValueError("info and entity params must be None")
        self._check()
        s = self._s
        child = s.exec_url(url or s.variables["URL"]) if s.exec_url is not None else _NOT_FOUND
        status, headers, body = child
        with s.lock:
            if not s.headers_sent and not s.response.writes:
                lines = "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
                s.send_head(f"{status} {reason_phrase(status)}".encode("latin-1"), lines.encode("latin-1"), True)
            s.write(body)
            s.exec_status = (status, 0, 0)
            s.calls.append(("ExecURL", url))
            s.outstanding += 1
        s.completions.post(self._complete_io, None, 0)

    def GetExecURLStatus(self, /) -> tuple[int, int, int]:
        self._check()
        if self._s.exec_status is None:
            raise ExtensionError(ERROR_INVALID_PARAMETER, None, "ServerSupportFunction(HSE_REQ_GET_EXEC_URL_STATUS)")
        return self._s.exec_status

    def ReportUnhealthy(self, reason: str | None = None, /) -> None:
        args.z(reason, "ReportUnhealthy")
        self._check()
        self._s.unhealthy = reason or ""

    def DoneWithSession(self, status: int = HSE_STATUS_SUCCESS, /) -> None:
        """End the request; this ECB object, and every other one of the request, is dead afterwards."""
        self._check()
        status = args.i(status, "DoneWithSession")
        s = self._s
        with s.lock:
            s.calls.append(("DoneWithSession", status))
            object.__setattr__(self, "_released", True)
            s.end(args.dword(status))

    close = DoneWithSession

    # -- internals ---------------------------------------------------------------------

    def _check(self) -> None:
        if self._released:
            raise RuntimeError(DEAD)
        if self._s.over:
            raise RuntimeError(OVER)

    def _settle(self) -> None:
        """One asynchronous operation is complete: end a request HttpExtensionProc already finished."""
        s = self._s
        with s.lock:
            s.outstanding -= 1
            if not s.outstanding and s.deferred is not None and not s.over:
                s.end(s.deferred)

    def _complete_io(self, _unused: Any, count: int) -> None:
        """``DoIOCallback``: the IOCompletion callback with a new ECB object; if it fails (or
        there is none), the session ends with HSE_STATUS_ERROR."""
        s = self._s
        try:
            with s.lock:
                if s.over:
                    return
                io = s.io
            try:
                if io is None:
                    raise RuntimeError("Failed to locate map entry for this commID")
                func, arg = io
                func(FakeECB._another(s), arg, count, 0)
            except Exception:
                log.exception("ISAPI I/O completion callback failed")
                with s.lock:
                    if not s.over:
                        s.end(HSE_STATUS_ERROR)
        finally:
            self._settle()

    def _complete_transmit(self, io: tuple[Callable[..., Any], Any], count: int) -> None:
        """``transmitFileCompletion``: the TransmitFile callback with a new ECB object; if it
        fails, pywin32 reports the error on the request (its error page) and ends nothing."""
        s = self._s
        try:
            with s.lock:
                if s.over:
                    return
            func, arg = io
            try:
                func(FakeECB._another(s), arg, count, 0)
            except Exception:
                log.exception("ISAPI TransmitFile callback failed")
                with s.lock:
                    if not s.over:
                        s.report_error("TransmitFile callback failed")
        finally:
            self._settle()

    def __repr__(self) -> str:
        over = " (done)" if self._released or self._s.over else ""
        return f"<FakeECB {self._s.request.method} {self._s.variables['URL']}{over}>"
