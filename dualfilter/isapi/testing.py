"""Run ISAPI extensions and filters without IIS: faithful fakes of the ECB and HTTP_FILTER_CONTEXT, and hosts.

pywin32 and IIS exist only on Windows; this double lets an extension, a
filtered extension or ``WSGIExtension`` be tested on any CI. :class:`FakeECB`
behaves as pywin32's ECB object does: bytes attributes, ``GetServerVariable``
with and without a default (``ExtensionError`` for an unknown name, ``str`` for
``UNICODE_`` names), ``ReadClient``, ``WriteClient`` returning the count,
asynchronous writes completed on other threads through the ``IOCompletion``
callback, ``SendResponseHeaders``, ``DoneWithSession`` / ``close``. It records
what the client receives (:class:`ClientResponse`) and raises where IIS or
pywin32 refuse: headers sent twice, arguments of the wrong type, any use of an
ECB whose session is over (where pywin32 would crash or drop the data, the
double always raises RuntimeError).

``call_extension(extension, ecb)`` calls ``HttpExtensionProc`` as IIS does
and, for ``HSE_STATUS_PENDING``, waits for ``DoneWithSession``;
:class:`ExtensionHost` also loads and unloads the extension.

For ISAPI filters, :class:`FilterHost` loads a filter (``GetFilterVersion``,
plus END_OF_NET_SESSION as pywin32 adds it) and :class:`FakeConnection`
replays raw responses through it, split at chosen offsets, with a
:class:`FakeFilterContext` per notification: ``GetData()`` (a
:class:`FakeRawData` whose ``InData`` can be read and withheld, or the
PREPROC_HEADERS object), ``GetServerVariable``, ``WriteClient`` (shown to the
filter again as a nested SEND_RAW_DATA, as IIS does), ``AddResponseHeaders``,
``SendResponseHeader``, ``DisableNotifications``, and the per-connection
``FilterContext`` slot. A context is dead once HttpFilterProc returns.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..extras import require
from ..responses import reason_phrase
from .completion import CompletionPort
from .constants import (
    ERROR_INVALID_INDEX,
    ERROR_INVALID_PARAMETER,
    HSE_IO_ASYNC,
    HSE_IO_DISCONNECT_AFTER_SEND,
    HSE_IO_SEND_HEADERS,
    HSE_STATUS_ERROR,
    HSE_STATUS_PENDING,
    HSE_STATUS_SUCCESS,
    SF_NOTIFY_END_OF_NET_SESSION,
    SF_NOTIFY_END_OF_REQUEST,
    SF_NOTIFY_NONSECURE_PORT,
    SF_NOTIFY_PREPROC_HEADERS,
    SF_NOTIFY_READ_RAW_DATA,
    SF_NOTIFY_SECURE_PORT,
    SF_NOTIFY_SEND_RAW_DATA,
    SF_STATUS_REQ_ERROR,
    SF_STATUS_REQ_FINISHED,
    SF_STATUS_REQ_FINISHED_KEEP_CONN,
    SF_STATUS_REQ_NEXT_NOTIFICATION,
    UNKNOWN_TOTAL_BYTES,
)
from .errors import ExtensionError, FilterError
from .wire import buffer_arg, int_arg, parse_header_lines, split_header_block, status_text, str_arg

if TYPE_CHECKING:
    import h11
else:
    h11 = require("isapi", "h11", purpose="dualfilter.isapi.testing")

__all__ = [
    "FakeECB",
    "FakeVersionInfo",
    "ClientResponse",
    "ExtensionHost",
    "ExtensionError",
    "call_extension",
    "FakeFilterVersion",
    "FakeFilterContext",
    "FakeRawData",
    "FakePreprocHeaders",
    "FakeConnection",
    "FilterHost",
    "FilterResponse",
    "FilterError",
    "Notification",
    "raw_response",
    "extension_site",
]

log = logging.getLogger("dualfilter.isapi.testing")

DEAD = "Invalid ECB (DoneWithSession has been called)"
#: HSE_VERSION 8.0, as IIS 8 and later report it.
IIS_VERSION = 0x00080000
#: IIS's default upload read-ahead: the most a request body has in AvailableData.
READ_AHEAD = 49152
HSE_MAX_EXT_DLL_NAME_LEN = 256
HSE_TERM_MUST_UNLOAD = 2
_HEADERS_CALL = "ServerSupportFunction(HSE_REQ_SEND_RESPONSE_HEADER_EX)"
_NO_DEFAULT: Any = object()
_WRITABLE = frozenset({"HttpStatusCode", "LogData", "calls", "log_data", "unhealthy"})
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


class FakeVersionInfo:
    """The HSE_VERSION_INFO handed to ``GetExtensionVersion``."""

    def __init__(self) -> None:
        self._desc = b""

    @property
    def ExtensionDesc(self) -> bytes:
        return self._desc

    @ExtensionDesc.setter
    def ExtensionDesc(self, value: str | bytes) -> None:
        data = buffer_arg(value, "ExtensionDesc") if value is not None else b""
        if len(data) > HSE_MAX_EXT_DLL_NAME_LEN:
            raise ValueError(f"String is too long - max of {HSE_MAX_EXT_DLL_NAME_LEN} chars")
        self._desc = data


def _server_bytes(value: str) -> bytes:
    """A variable's non-UNICODE_ form: IIS converts to its ANSI code page (latin-1 here)."""
    return value.encode("latin-1", "replace")


class FakeECB:
    """One request's EXTENSION_CONTROL_BLOCK, as pywin32 hands it to ``HttpExtensionProc``.

    ``path`` is the decoded URL path and ``headers`` the request headers as
    ``str`` pairs; the request is for an extension mapped to ``*`` in the IIS
    application at ``app_path`` (``''`` for the site root) unless
    ``script_name`` names the script the URL maps to. At most ``available``
    bytes of ``body`` arrive in ``AvailableData``; ``chunked`` makes the body's
    length unknown (``TotalBytes`` 0xFFFFFFFF). ``variables`` adds or
    overrides server variables.
    """

    def __init__(
        self,
        method: str = "GET",
        path: str = "/",
        query_string: str = "",
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        *,
        https: bool = False,
        server_name: str = "localhost",
        server_port: int | None = None,
        remote_addr: str = "127.0.0.1",
        app_path: str = "",
        script_name: str | None = None,
        available: int = READ_AHEAD,
        chunked: bool = False,
        variables: dict[str, str] | None = None,
        completions: CompletionPort | None = None,
    ) -> None:
        port = server_port if server_port is not None else (443 if https else 80)
        request_headers = list(headers)
        if not any(name.lower() == "host" for name, _ in request_headers):
            default_port = port == (443 if https else 80)
            request_headers.insert(0, ("Host", server_name if default_port else f"{server_name}:{port}"))
        if body and not chunked and not any(name.lower() == "content-length" for name, _ in request_headers):
            request_headers.append(("Content-Length", str(len(body))))
        content_type = next((value for name, value in request_headers if name.lower() == "content-type"), "")
        physical = "C:\\inetpub\\wwwroot" + app_path.replace("/", "\\")
        script = script_name if script_name is not None else path
        self._vars: dict[str, str] = {
            "REQUEST_METHOD": method,
            "QUERY_STRING": query_string,
            "URL": path,
            "PATH_INFO": path,
            "SCRIPT_NAME": script,
            "PATH_TRANSLATED": physical + path[len(app_path) :].replace("/", "\\"),
            "APPL_MD_PATH": "/LM/W3SVC/1/ROOT" + app_path,
            "APPL_PHYSICAL_PATH": physical + "\\",
            "SERVER_NAME": server_name,
            "SERVER_PORT": str(port),
            "SERVER_PORT_SECURE": "1" if https else "0",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": "Microsoft-IIS/10.0",
            "HTTPS": "on" if https else "off",
            "REMOTE_ADDR": remote_addr,
            "REMOTE_HOST": remote_addr,
            "REMOTE_USER": "",
            "AUTH_TYPE": "",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": "" if chunked else str(len(body)),
            "ALL_HTTP": "",
            "ALL_RAW": "",
        }
        self._set_request_headers(request_headers)
        for name, value in (variables or {}).items():
            self._vars[name.upper()] = value
        self._headers = request_headers
        self._method = method
        self._body = body
        self._available = body[:available]
        self._read = len(self._available)
        self._total = UNKNOWN_TOTAL_BYTES if chunked else len(body)
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

    def _set_request_headers(self, headers: list[tuple[str, str]]) -> None:
        combined: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        for name, value in headers:
            combined.setdefault(name.lower(), []).append(value)
            names.setdefault(name.lower(), name)
        all_http, all_raw = [], []
        for lowered, values in combined.items():
            value = ", ".join(values)
            key = "HTTP_" + lowered.upper().replace("-", "_")
            self._vars[key] = value
            self._vars["HEADER_" + names[lowered].upper()] = value
            all_http.append(f"{key}:{value}\n")
        for name, value in headers:
            all_raw.append(f"{name}: {value}\r\n")
        self._vars["ALL_HTTP"] = "".join(all_http)
        self._vars["ALL_RAW"] = "".join(all_raw)

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
        return _server_bytes(self._method)

    @property
    def QueryString(self) -> bytes:
        self._check()
        return _server_bytes(self._vars["QUERY_STRING"])

    @property
    def PathInfo(self) -> bytes:
        self._check()
        return _server_bytes(self._vars["PATH_INFO"])

    @property
    def PathTranslated(self) -> bytes:
        self._check()
        return _server_bytes(self._vars["PATH_TRANSLATED"])

    @property
    def ContentType(self) -> bytes:
        self._check()
        return _server_bytes(self._vars["CONTENT_TYPE"])

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

    def GetServerVariable(self, name: str, default: Any = _NO_DEFAULT) -> Any:
        """The variable as bytes (str for ``UNICODE_`` names); ``default`` or ExtensionError if unknown."""
        str_arg(name, "GetServerVariable")
        self._check()
        upper = name.upper()
        unicode = upper.startswith("UNICODE_")
        key = upper[len("UNICODE_") :] if unicode else upper
        value = self._vars.get(key)
        if value is None:
            if default is _NO_DEFAULT:
                raise ExtensionError(ERROR_INVALID_INDEX, None, "GetServerVariable")
            return default
        return value if unicode else _server_bytes(value)

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
        return _server_bytes("C:\\inetpub\\wwwroot" + url.replace("/", "\\"))

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


def call_extension(extension: Any, ecb: FakeECB, *, timeout: float | None = 5.0, raise_errors: bool = True) -> ClientResponse:
    """Call ``extension.HttpExtensionProc(ecb)`` as IIS does and return what the client got.

    For ``HSE_STATUS_PENDING`` this waits (up to ``timeout`` seconds) for
    ``DoneWithSession``. An exception from the extension ends the request with
    HSE_STATUS_ERROR, as pywin32 does, and is re-raised if ``raise_errors``.
    """
    try:
        result = extension.HttpExtensionProc(ecb)
    except Exception as exc:
        ecb.extension_returned(None, exc)
        if raise_errors:
            raise
        return ecb.response
    ecb.extension_returned(result)
    return ecb.wait(timeout)


class ExtensionHost:
    """Loads an extension as pywin32's DLL does, serves requests to it, and unloads it.

    ``extension`` is an extension object, or a module (or any object) with an
    ``__ExtensionFactory__`` function, as an IIS script defines. Use as a
    context manager: ``GetExtensionVersion`` on entry, ``TerminateExtension``
    on exit.
    """

    def __init__(self, extension: Any) -> None:
        if not hasattr(extension, "HttpExtensionProc"):
            extension = extension.__ExtensionFactory__()
        self.extension = extension
        self.version_info = FakeVersionInfo()

    def __enter__(self) -> ExtensionHost:
        result = self.extension.GetExtensionVersion(self.version_info)
        if result is not None and not result:
            raise RuntimeError(f"{self.extension!r}.GetExtensionVersion refused to load")
        return self

    def __exit__(self, *exc: object) -> None:
        self.extension.TerminateExtension(HSE_TERM_MUST_UNLOAD)

    def request(self, method: str = "GET", path: str = "/", *, timeout: float | None = 5.0, **options: Any) -> ClientResponse:
        """Send one request (``FakeECB`` arguments) and return what the client got."""
        return call_extension(self.extension, FakeECB(method, path, **options), timeout=timeout)

    def get(self, path: str = "/", **options: Any) -> ClientResponse:
        """A GET request."""
        return self.request("GET", path, **options)


# -- ISAPI filters ------------------------------------------------------------------------

#: HTTP_FILTER_REVISION as the double reports it (6.0).
FILTER_REVISION = 0x00060000
#: SF_MAX_FILTER_DESC_LEN: the room HTTP_FILTER_VERSION has for FilterDesc.
SF_MAX_FILTER_DESC_LEN = 256 + 1
#: How deep the filter's own WriteClient calls may nest before the double gives up.
MAX_WRITE_DEPTH = 8
_FILTER_DEAD = "Invalid HTTP_FILTER_CONTEXT (HttpFilterProc has returned)"
_READ_ONLY_MEMBERS = frozenset({"NotificationType", "Revision", "fIsSecurePort"})
#: HttpFilterProc results that end the request, and those that also close the connection.
_REQUEST_OVER = frozenset({SF_STATUS_REQ_FINISHED, SF_STATUS_REQ_FINISHED_KEEP_CONN, SF_STATUS_REQ_ERROR})
_CONNECTION_OVER = frozenset({SF_STATUS_REQ_FINISHED, SF_STATUS_REQ_ERROR})


class FakeFilterVersion:
    """The HTTP_FILTER_VERSION handed to ``GetFilterVersion``."""

    __slots__ = ("_flags", "_version", "_desc")

    def __init__(self) -> None:
        self._flags = 0
        self._version = FILTER_REVISION
        self._desc = b""

    @property
    def ServerFilterVersion(self) -> int:
        return FILTER_REVISION

    @property
    def FilterVersion(self) -> int:
        return self._version

    @FilterVersion.setter
    def FilterVersion(self, value: int) -> None:
        if not isinstance(value, int):
            raise ValueError(f"FilterVersion must be an int (got {type(value).__name__})")
        self._version = value

    @property
    def Flags(self) -> int:
        return self._flags

    @Flags.setter
    def Flags(self, value: int) -> None:
        if not isinstance(value, int):
            raise ValueError(f"Flags must be an int (got {type(value).__name__})")
        self._flags = value

    @property
    def FilterDesc(self) -> bytes:
        return self._desc

    @FilterDesc.setter
    def FilterDesc(self, value: str | bytes) -> None:
        data = buffer_arg(value, "FilterDesc")
        if len(data) > SF_MAX_FILTER_DESC_LEN:
            raise ValueError(f"String is too long - max of {SF_MAX_FILTER_DESC_LEN} chars")
        self._desc = data


@dataclass
class Notification:
    """One HttpFilterProc call, as the double saw it."""

    #: The SF_NOTIFY_* type.
    kind: int
    #: What HttpFilterProc returned (SF_STATUS_REQ_ERROR if it raised or returned a non-int).
    result: int = SF_STATUS_REQ_NEXT_NOTIFICATION
    #: For SEND_RAW_DATA: the bytes offered in ``InData``, and those that went on.
    offered: bytes | None = None
    sent: bytes | None = None
    #: Whether the filter assigned ``InData``.
    replaced: bool = False
    #: Whether the notification came from the filter's own WriteClient.
    nested: bool = False


@dataclass
class FilterResponse:
    """What the client received for one request on a connection through an ISAPI filter."""

    #: Every byte the client received for the request, as it came.
    raw: bytes = b""
    #: The final response parsed from ``raw`` (None if it does not parse).
    status: int | None = None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: The body, de-chunked.
    body: bytes = b""
    #: Whether the body came chunked.
    chunked: bool = False
    #: Interim (1xx) statuses received before the final response.
    interim: list[int] = field(default_factory=list)
    #: The notifications the filter got for this request, in order.
    notifications: list[Notification] = field(default_factory=list)
    #: Whether the connection was closed at the end of this request.
    closed: bool = False

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def raw_data(self) -> list[Notification]:
        """The SEND_RAW_DATA notifications for the site's own response (not the filter's writes)."""
        return [n for n in self.notifications if n.kind == SF_NOTIFY_SEND_RAW_DATA and not n.nested]


def _filter_variable(variables: dict[str, str], name: str, default: Any) -> Any:
    """GetServerVariable on a filter context: as on an ECB, with FilterError for an unknown name."""
    str_arg(name, "GetServerVariable")
    upper = name.upper()
    unicode = upper.startswith("UNICODE_")
    value = variables.get(upper[len("UNICODE_") :] if unicode else upper)
    if value is None:
        if default is _NO_DEFAULT:
            raise FilterError(ERROR_INVALID_INDEX, None, "GetServerVariable")
        return default
    return value if unicode else _server_bytes(value)


class FakeRawData:
    """HTTP_FILTER_RAW_DATA: the ``InData`` bytes of a SEND_RAW_DATA (or READ_RAW_DATA) notification.

    pywin32 takes only ``bytes`` for ``InData``, and copies none of them: IIS
    would send uninitialised memory of that length. Setting empty bytes (to
    withhold the data) works; the double raises RuntimeError for any other value.
    """

    __slots__ = ("_fc",)

    def __init__(self, fc: FakeFilterContext) -> None:
        self._fc = fc

    @property
    def InData(self) -> bytes | None:
        self._fc._check()
        return self._fc._in_data

    @InData.setter
    def InData(self, value: bytes) -> None:
        fc = self._fc
        fc._check()
        if not isinstance(value, bytes):
            raise TypeError(f"InData must be a string (got {type(value).__name__})")
        if value:
            raise RuntimeError("pywin32 does not copy a replacement InData: only b'' (withhold the data) works")
        fc._in_data = value
        fc._replaced = True


class FakePreprocHeaders:
    """HTTP_FILTER_PREPROC_HEADERS: the request headers before IIS acts on them.

    Names end with a colon (``'Range:'``); ``'method'``, ``'url'`` and
    ``'version'`` are the request line. Values are bytes out and str in; an
    empty value deletes the header. Changes are what the site and later
    server variables see.
    """

    __slots__ = ("_fc",)
    _LINE = ("method", "url", "version")

    def __init__(self, fc: FakeFilterContext) -> None:
        self._fc = fc

    def GetHeader(self, name: str, default: Any = _NO_DEFAULT) -> Any:
        str_arg(name, "GetHeader")
        self._fc._check()
        request = self._fc._connection._request
        assert request is not None
        if name in self._LINE:
            return _server_bytes(request.line(name))
        values = [value for key, value in request.headers if f"{key.lower()}:" == name.lower()]
        if not name.endswith(":") or not values:
            if default is _NO_DEFAULT:
                raise FilterError(ERROR_INVALID_INDEX, None, "GetHeader")
            return default
        return _server_bytes(", ".join(values))

    def SetHeader(self, name: str, value: str) -> None:
        self._change("SetHeader", name, value, replace=True)

    def AddHeader(self, name: str, value: str) -> None:
        self._change("AddHeader", name, value, replace=False)

    def _change(self, call: str, name: str, value: str, *, replace: bool) -> None:
        str_arg(name, call)
        str_arg(value, call)
        self._fc._check()
        request = self._fc._connection._request
        assert request is not None
        if name in self._LINE:
            request.set_line(name, value)
            return
        if not name.endswith(":") or len(name) < 2:
            raise FilterError(ERROR_INVALID_PARAMETER, None, call)
        key = name[:-1]
        headers = list(request.headers)
        if replace or not value:
            headers = [(k, v) for k, v in headers if k.lower() != key.lower()]
        if value:
            headers.append((key, value))
        request.set_headers(headers)


class _SiteRequest:
    """The request on a connection: its line and headers (which PREPROC_HEADERS may change)."""

    def __init__(self, method: str, path: str, query: str, headers: list[tuple[str, str]], options: dict[str, Any]) -> None:
        self.method, self.path, self.query_string, self.version = method, path, query, "HTTP/1.1"
        self.options = options
        self.headers = headers
        self.ecb = self._ecb()

    def _ecb(self) -> FakeECB:
        return FakeECB(self.method, self.path, self.query_string, self.headers, **self.options)

    @property
    def variables(self) -> dict[str, str]:
        return self.ecb._vars

    def line(self, name: str) -> str:
        if name == "method":
            return self.method
        if name == "url":
            return self.path + (f"?{self.query_string}" if self.query_string else "")
        return self.version

    def set_line(self, name: str, value: str) -> None:
        if name == "method":
            self.method = value
        elif name == "url":
            self.path, _, self.query_string = value.partition("?")
        else:
            self.version = value
        self.ecb = self._ecb()

    def set_headers(self, headers: list[tuple[str, str]]) -> None:
        self.headers = headers
        self.ecb = self._ecb()


class FakeFilterContext:
    """One notification's HTTP_FILTER_CONTEXT, as pywin32 hands it to ``HttpFilterProc``.

    ``NotificationType``, ``Revision`` and ``fIsSecurePort`` are read-only;
    ``FilterContext`` is the connection's slot (None until set). ``GetData()``
    gives a :class:`FakeRawData` for raw-data notifications and a
    :class:`FakePreprocHeaders` for PREPROC_HEADERS, and raises ValueError for
    the others, as pywin32 does. ``WriteClient`` sends at once, and IIS shows
    the bytes to the filter again in a nested SEND_RAW_DATA notification.
    Once HttpFilterProc has returned the context is dead: every use raises
    RuntimeError.
    """

    __slots__ = ("_connection", "_kind", "_in_data", "_replaced", "_dead")
    _connection: FakeConnection
    _kind: int
    _in_data: bytes | None
    _replaced: bool
    _dead: bool

    def __init__(self, connection: FakeConnection, kind: int, in_data: bytes | None = None) -> None:
        object.__setattr__(self, "_connection", connection)
        object.__setattr__(self, "_kind", kind)
        object.__setattr__(self, "_in_data", in_data)
        object.__setattr__(self, "_replaced", False)
        object.__setattr__(self, "_dead", False)

    # -- members ----------------------------------------------------------------------

    @property
    def NotificationType(self) -> int:
        return self._kind

    @property
    def Revision(self) -> int:
        return FILTER_REVISION

    @property
    def fIsSecurePort(self) -> int:
        return int(self._connection.https)

    @property
    def FilterContext(self) -> Any:
        self._check()
        return self._connection.filter_context

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "FilterContext":
            self._check()
            self._connection.filter_context = value
        elif name in _READ_ONLY_MEMBERS:
            raise AttributeError("readonly attribute")
        elif name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            raise AttributeError(f"'HTTP_FILTER_CONTEXT' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("can't delete ECB attributes")

    # -- methods ----------------------------------------------------------------------

    def GetData(self) -> Any:
        self._check()
        kind = self._kind
        if kind in (SF_NOTIFY_SEND_RAW_DATA, SF_NOTIFY_READ_RAW_DATA):
            return FakeRawData(self)
        if kind == SF_NOTIFY_PREPROC_HEADERS:
            return FakePreprocHeaders(self)
        raise ValueError(f"Don't understand data of type 0x{kind:x}")

    def GetServerVariable(self, name: str, default: Any = _NO_DEFAULT) -> Any:
        """The request's variable as bytes (str for ``UNICODE_`` names); ``default`` or FilterError if unknown."""
        self._check()
        request = self._connection._request
        variables = request.variables if request is not None else {}
        return _filter_variable(variables, name, default)

    def WriteClient(self, data: str | bytes, reserved: int = 0) -> None:
        """Send ``data`` to the client now (through a nested SEND_RAW_DATA notification)."""
        payload = buffer_arg(data, "WriteClient")
        int_arg(reserved, "WriteClient")
        self._check()
        self._connection._send(payload, nested=True)

    write = WriteClient

    def AddResponseHeaders(self, headers: str, reserved: int = 0) -> None:
        """Have IIS add ``Name: value\\r\\n`` lines to the response head, before it is sent."""
        str_arg(headers, "AddResponseHeaders")
        int_arg(reserved, "AddResponseHeaders")
        self._check()
        self._connection._add_response_headers(headers)

    def SendResponseHeader(self, status: str | None, header: str | None) -> None:
        """Send a status line and headers from the filter itself (``'401 Denied'``, ``'Name: v\\r\\n\\r\\n'``)."""
        for value in (status, header):
            if value is not None:
                str_arg(value, "SendResponseHeader")
        self._check()
        text = f"HTTP/1.1 {status or '200 OK'}\r\n{header if header is not None else chr(13) + chr(10)}"
        self._connection._send(text.encode("latin-1", "replace"), nested=True)

    def DisableNotifications(self, flags: int) -> None:
        """Stop the notifications in ``flags`` for the rest of the request."""
        int_arg(flags, "DisableNotifications")
        self._check()
        self._connection._disable(flags)

    def _check(self) -> None:
        if self._dead:
            raise RuntimeError(_FILTER_DEAD)

    def __repr__(self) -> str:
        return f"<FakeFilterContext 0x{self._kind:x}{' (dead)' if self._dead else ''}>"


def raw_response(
    status: str,
    headers: Iterable[tuple[str, str]] = (),
    chunks: Iterable[bytes] = (),
    *,
    chunked: bool = False,
    http_version: str = "1.1",
) -> bytes:
    """A raw HTTP response as IIS sends it: status line, headers, then the body chunks
    (chunk-encoded with ``chunked``, which adds ``Transfer-Encoding: chunked``)."""
    pairs = list(headers) + ([("Transfer-Encoding", "chunked")] if chunked else [])
    head = f"HTTP/{http_version} {status}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in pairs) + "\r\n"
    parts = [head.encode("latin-1")]
    for chunk in chunks:
        if chunked:
            if chunk:
                parts += [b"%x\r\n" % len(chunk), chunk, b"\r\n"]
        else:
            parts.append(chunk)
    if chunked:
        parts.append(b"0\r\n\r\n")
    return b"".join(parts)


def extension_site(extension: Any) -> Callable[[FakeECB], bytes]:
    """A site served by an ISAPI extension: its response as IIS puts it on the wire (by its
    Content-Length if it gives one, else chunked, one chunk per write)."""

    def site(ecb: FakeECB) -> bytes:
        head_request = ecb.Method == b"HEAD"
        response = call_extension(extension, ecb)
        status = f"{response.status or 200} {response.reason}".rstrip()
        framed = response.header("Content-Length") is not None or head_request
        return raw_response(status, response.headers, response.writes, chunked=not framed)

    return site


def _parse_client_bytes(method: str, data: bytes, result: FilterResponse) -> None:
    """Read ``data`` as a client would (h11) into ``result``; status None if it does not parse."""
    conn = h11.Connection(h11.CLIENT)
    conn.send(h11.Request(method=method, target="/", headers=[("Host", "localhost")]))
    conn.send(h11.EndOfMessage())
    conn.receive_data(data)
    conn.receive_data(b"")
    body: list[bytes] = []
    try:
        while True:
            event = conn.next_event()
            if isinstance(event, h11.InformationalResponse):
                result.interim.append(event.status_code)
            elif isinstance(event, h11.Response):
                result.status, result.reason = event.status_code, event.reason.decode("latin-1")
                result.headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers.raw_items()]
                result.chunked = any(k.lower() == b"transfer-encoding" for k, _ in event.headers.raw_items())
            elif isinstance(event, h11.Data):
                body.append(bytes(event.data))
            else:
                break
    except h11.RemoteProtocolError:
        result.status = None
    result.body = b"".join(body)


class FakeConnection:
    """One client connection to IIS with an ISAPI filter loaded: requests in sequence.

    Each request's response comes from ``response``: raw bytes, or a site
    (a callable taking the request's :class:`FakeECB` and returning raw bytes,
    see :func:`raw_response` and :func:`extension_site`). It is sent split at
    the offsets in ``splits``, one SEND_RAW_DATA notification per piece, then
    END_OF_REQUEST, as IIS notifies a filter; PREPROC_HEADERS comes first, and
    END_OF_NET_SESSION when the connection closes, for a filter that asked.
    """

    def __init__(self, host: FilterHost, *, https: bool = False) -> None:
        self.host = host
        self.https = https
        #: The filter's per-connection slot (``fc.FilterContext``).
        self.filter_context: Any = None
        #: Every byte the client received on this connection.
        self.received = bytearray()
        #: What the filter raised, in order (pywin32 logs it and fails the request).
        self.errors: list[BaseException] = []
        self.closed = False
        self._request: _SiteRequest | None = None
        self._notes: list[Notification] = []
        self._disabled = 0
        self._head_sent = False
        self._added: list[str] = []
        self._depth = 0
        self._over = False

    def __enter__(self) -> FakeConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str = "GET",
        path: str = "/",
        *,
        response: bytes | Callable[[FakeECB], bytes],
        splits: Iterable[int] = (),
        headers: Iterable[tuple[str, str]] = (),
        query_string: str = "",
        **options: Any,
    ) -> FilterResponse:
        """Send one request and return what the client received for it."""
        if self.closed:
            raise RuntimeError("the connection is closed")
        options.setdefault("https", self.https)
        self._request = _SiteRequest(method, path, query_string, list(headers), options)
        self._notes, self._disabled, self._head_sent, self._added, self._over = [], 0, False, [], False
        start = len(self.received)
        errors = len(self.errors)
        self._notify(SF_NOTIFY_PREPROC_HEADERS)
        if not self._over:
            raw = response(self._request.ecb) if callable(response) else response
            for piece in self._pieces(self._with_added_headers(raw), splits):
                self._send(piece, nested=False)
                if self._over:
                    break
        self._notify(SF_NOTIFY_END_OF_REQUEST)
        result = FilterResponse(raw=bytes(self.received[start:]), notifications=self._notes)
        _parse_client_bytes(self._request.method, result.raw, result)
        if any(note.result in _CONNECTION_OVER for note in self._notes):
            self.close()
        result.closed = self.closed
        self._request = None
        if self.host.raise_errors and len(self.errors) > errors:
            raise self.errors[errors]
        return result

    def close(self) -> None:
        """The client goes away: END_OF_NET_SESSION, after which pywin32 drops the FilterContext."""
        if self.closed:
            return
        self.closed = True
        self._notify(SF_NOTIFY_END_OF_NET_SESSION)
        self.filter_context = None

    # -- what the fake IIS does --------------------------------------------------------

    @staticmethod
    def _pieces(raw: bytes, splits: Iterable[int]) -> list[bytes]:
        cuts = sorted({cut for cut in splits if 0 < cut < len(raw)})
        bounds = [0, *cuts, len(raw)]
        return [raw[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a] or [raw]

    def _with_added_headers(self, raw: bytes) -> bytes:
        if not self._added:
            return raw
        end = raw.find(b"\r\n\r\n")
        if end < 0:
            return raw
        return raw[: end + 2] + "".join(self._added).encode("latin-1") + raw[end + 2 :]

    def _wants(self, kind: int) -> bool:
        flags = self.host.flags
        if not flags & kind or self._disabled & kind:
            return False
        ports = flags & (SF_NOTIFY_SECURE_PORT | SF_NOTIFY_NONSECURE_PORT)
        return not ports or bool(ports & (SF_NOTIFY_SECURE_PORT if self.https else SF_NOTIFY_NONSECURE_PORT))

    def _notify(self, kind: int, in_data: bytes | None = None, nested: bool = False) -> FakeFilterContext | None:
        """Call HttpFilterProc as pywin32 does; None if the filter did not ask for ``kind``."""
        if not self._wants(kind):
            return None
        fc = FakeFilterContext(self, kind, in_data)
        note = Notification(kind, offered=in_data, nested=nested)
        self._notes.append(note)
        try:
            result = self.host.filter.HttpFilterProc(fc)
        except Exception as exc:
            log.exception("ISAPI filter raised in HttpFilterProc")
            self.errors.append(exc)
            result = SF_STATUS_REQ_ERROR
        finally:
            fc._dead = True
        if result is None:
            result = SF_STATUS_REQ_NEXT_NOTIFICATION
        elif not isinstance(result, int):
            self.errors.append(TypeError(f"Filter should return an int, or None (got {type(result).__name__})"))
            result = SF_STATUS_REQ_ERROR
        note.result = result
        note.replaced = fc._replaced
        note.sent = fc._in_data
        if result in _REQUEST_OVER and kind != SF_NOTIFY_END_OF_NET_SESSION:
            self._over = True
        return fc

    def _send(self, data: bytes, *, nested: bool) -> None:
        """Put ``data`` on the wire, through the filter's SEND_RAW_DATA notification."""
        if self.closed:
            raise RuntimeError("the connection is closed")
        if self._depth >= MAX_WRITE_DEPTH:
            raise RuntimeError("WriteClient nested too deep: the filter writes on every SEND_RAW_DATA")
        self._depth += 1
        try:
            fc = self._notify(SF_NOTIFY_SEND_RAW_DATA, data, nested)
        finally:
            self._depth -= 1
        out = data if fc is None else fc._in_data
        if fc is not None and self._over and not nested:
            return  # the filter ended the request: this data does not go out
        if out:
            self._head_sent = True
            self.received += out

    def _add_response_headers(self, headers: str) -> None:
        if self._head_sent:
            raise FilterError(ERROR_INVALID_PARAMETER, "the response headers were already sent", "AddResponseHeaders")
        self._added.append(headers)

    def _disable(self, flags: int) -> None:
        self._disabled |= flags


class FilterHost:
    """Loads an ISAPI filter as pywin32's DLL does and opens client connections through it.

    ``filter`` is a filter object, or a module (or any object) with a
    ``__FilterFactory__`` function, as an IIS script defines. As a context
    manager: ``GetFilterVersion`` on entry (pywin32 then adds
    SF_NOTIFY_END_OF_NET_SESSION to the flags), ``TerminateFilter`` on exit.
    With ``raise_errors``, what the filter raises in ``HttpFilterProc`` is
    raised again once the request is over.
    """

    def __init__(self, filter: Any, *, raise_errors: bool = True) -> None:
        if not hasattr(filter, "HttpFilterProc"):
            filter = filter.__FilterFactory__()
        self.filter = filter
        self.version = FakeFilterVersion()
        self.raise_errors = raise_errors
        #: The notifications the filter gets.
        self.flags = 0

    def __enter__(self) -> FilterHost:
        result = self.filter.GetFilterVersion(self.version)
        if result is not None and not result:
            raise RuntimeError(f"{self.filter!r}.GetFilterVersion refused to load")
        self.flags = self.version.Flags | SF_NOTIFY_END_OF_NET_SESSION
        return self

    def __exit__(self, *exc: object) -> None:
        self.filter.TerminateFilter(0)

    def connection(self, *, https: bool = False) -> FakeConnection:
        """A new client connection."""
        return FakeConnection(self, https=https)

    def request(self, method: str = "GET", path: str = "/", **options: Any) -> FilterResponse:
        """One request on a connection of its own (closed afterwards)."""
        with self.connection(https=options.pop("https", False)) as connection:
            return connection.request(method, path, **options)
