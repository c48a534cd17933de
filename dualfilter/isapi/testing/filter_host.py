"""Hosting an ISAPI filter as IIS does: :class:`FilterHost`, :class:`FakeConnection`, and what the client received.

:class:`FilterHost` loads a filter (``GetFilterVersion``, plus
END_OF_NET_SESSION as pywin32 adds it) and :class:`FakeConnection` replays
raw responses through it, split at chosen offsets, with a
:class:`~.filter_context.FakeFilterContext` per notification.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ...extras import require
from ..constants import (
    ERROR_INVALID_PARAMETER,
    SF_NOTIFY_END_OF_NET_SESSION,
    SF_NOTIFY_END_OF_REQUEST,
    SF_NOTIFY_NONSECURE_PORT,
    SF_NOTIFY_PREPROC_HEADERS,
    SF_NOTIFY_SECURE_PORT,
    SF_NOTIFY_SEND_RAW_DATA,
    SF_STATUS_REQ_ERROR,
    SF_STATUS_REQ_FINISHED,
    SF_STATUS_REQ_FINISHED_KEEP_CONN,
    SF_STATUS_REQ_NEXT_NOTIFICATION,
)
from ..errors import FilterError
from .ecb import FakeECB
from .extension_host import call_extension
from .filter_context import FakeFilterContext
from .request import Request
from .version import FakeFilterVersion

__all__ = ["FilterHost", "FakeConnection", "FilterResponse", "Notification", "raw_response", "extension_site"]

#: What needs h11 here (the client reading what a filter sent): an ISAPI filter, as filter mode does.
_PURPOSE = "dualfilter.isapi.testing's FilterHost"

log = logging.getLogger("dualfilter.isapi.testing")

#: How deep the filter's own WriteClient calls may nest before the double gives up.
MAX_WRITE_DEPTH = 8
#: HttpFilterProc results that end the request, and those that also close the connection.
_REQUEST_OVER = frozenset({SF_STATUS_REQ_FINISHED, SF_STATUS_REQ_FINISHED_KEEP_CONN, SF_STATUS_REQ_ERROR})
_CONNECTION_OVER = frozenset({SF_STATUS_REQ_FINISHED, SF_STATUS_REQ_ERROR})


class SiteRequest:
    """The request on a connection: its description, and the ECB the site serves it with
    (PREPROC_HEADERS may change the request line and headers before the site sees them)."""

    def __init__(self, request: Request) -> None:
        self.version = "HTTP/1.1"
        self.request = request
        self.ecb = FakeECB(request)

    @property
    def headers(self) -> list[tuple[str, str]]:
        return self.request.header_list()

    @property
    def variables(self) -> dict[str, str]:
        return self.ecb.variables

    def line(self, name: str) -> str:
        if name == "method":
            return self.request.method
        if name == "url":
            query = self.request.query_string
            return self.request.path + (f"?{query}" if query else "")
        return self.version

    def set_line(self, name: str, value: str) -> None:
        if name == "method":
            self._change(method=value)
        elif name == "url":
            path, _, query = value.partition("?")
            self._change(path=path, query_string=query)
        else:
            self.version = value

    def set_headers(self, headers: list[tuple[str, str]]) -> None:
        self._change(headers=tuple(headers))

    def _change(self, **changes: Any) -> None:
        self.request = self.request.changed(**changes)
        self.ecb = FakeECB(self.request)


@dataclass
class Notification:
    """One HttpFilterProc call, as the double saw it."""

    #: The SF_NOTIFY_* type.
    kind: int
    #: What IIS acted on: SF_STATUS_REQ_ERROR if HttpFilterProc raised; otherwise what it
    #: returned only if the host lets results reach IIS, else SF_STATUS_REQ_NEXT_NOTIFICATION.
    result: int = SF_STATUS_REQ_NEXT_NOTIFICATION
    #: What HttpFilterProc returned (None read as SF_STATUS_REQ_NEXT_NOTIFICATION; None if it raised).
    returned: Any = SF_STATUS_REQ_NEXT_NOTIFICATION
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
    """A site served by an ISAPI extension: its response as IIS puts it on the wire, as the
    extension wrote it (IIS frames nothing: one that streams sends its own chunks, or a body
    that ends with the connection, which IIS then closes unless the extension asked to keep it)."""

    def site(ecb: FakeECB) -> bytes:
        response = call_extension(extension, ecb)
        head = response.raw_head + b"\r\n" if response.raw_head else b""
        return head + b"".join(response.writes)

    return site


def _parse_client_bytes(method: str, data: bytes, result: FilterResponse) -> None:
    """Read ``data`` as a client would (h11) into ``result``; status None if it does not parse."""
    h11 = require("isapi", "h11", purpose=_PURPOSE)
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
        self._request: SiteRequest | None = None
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
        self._request = SiteRequest(Request(method, path, query_string, tuple(headers), **options))
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
        _parse_client_bytes(self._request.request.method, result.raw, result)
        served = self._request.ecb.response  # what an extension site sent through the ECB, if it did
        if any(note.result in _CONNECTION_OVER for note in self._notes) or served.raw_head and not served.keep_alive:
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
        return raw[: end + 2] + "".join(self._added).encode("utf-8") + raw[end + 2 :]  # format "s": UTF-8

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
            returned = self.host.filter.HttpFilterProc(fc)
        except Exception as exc:
            # pywin32 sets the action it returns to SF_STATUS_REQ_ERROR on this path only.
            log.exception("ISAPI filter raised in HttpFilterProc")
            self.errors.append(exc)
            note.returned, result = None, SF_STATUS_REQ_ERROR
        else:
            if returned is None:
                returned = SF_STATUS_REQ_NEXT_NOTIFICATION
            elif not isinstance(returned, int):
                self.errors.append(TypeError(f"Filter should return an int, or None (got {type(returned).__name__})"))
            note.returned = returned
            # pyISAPI.cpp's HttpFilterProc stores the result in an inner variable that
            # shadows the one it returns: unless told otherwise, IIS goes on as usual.
            result = returned if self.host.results_reach_iis and isinstance(returned, int) else SF_STATUS_REQ_NEXT_NOTIFICATION
        finally:
            fc._dead = True
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

    Two pywin32 defects (``pyISAPI.cpp``) are reproduced: ``TerminateFilter``
    is never called (pywin32 bug 206; release per-connection state at
    SF_NOTIFY_END_OF_NET_SESSION), and what ``HttpFilterProc`` returns does
    not reach IIS unless it raised (an inner ``DWORD action`` shadows the one
    returned, which is left uninitialised): the double then goes on as for
    SF_STATUS_REQ_NEXT_NOTIFICATION. ``results_reach_iis=True`` lets the
    results through instead, as a fixed pywin32 would, so a filter can be
    checked under both.
    """

    def __init__(self, filter: Any, *, raise_errors: bool = True, results_reach_iis: bool = False) -> None:
        require("isapi", "h11", purpose=_PURPOSE)  # at once: what the client receives is read with it
        if not hasattr(filter, "HttpFilterProc"):
            filter = filter.__FilterFactory__()
        self.filter = filter
        self.version = FakeFilterVersion()
        self.raise_errors = raise_errors
        self.results_reach_iis = results_reach_iis
        #: The notifications the filter gets.
        self.flags = 0

    def __enter__(self) -> FilterHost:
        result = self.filter.GetFilterVersion(self.version)
        if result is not None and (not isinstance(result, int) or not result):
            raise RuntimeError(f"{self.filter!r}.GetFilterVersion refused to load (it returned {result!r})")
        self.flags = self.version.Flags | SF_NOTIFY_END_OF_NET_SESSION
        return self

    def __exit__(self, *exc: object) -> None:
        """IIS unloads the filter; pywin32 never calls ``TerminateFilter``."""

    def connection(self, *, https: bool = False) -> FakeConnection:
        """A new client connection."""
        return FakeConnection(self, https=https)

    def request(self, method: str = "GET", path: str = "/", **options: Any) -> FilterResponse:
        """One request on a connection of its own (closed afterwards)."""
        with self.connection(https=options.pop("https", False)) as connection:
            return connection.request(method, path, **options)
