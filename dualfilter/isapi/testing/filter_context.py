"""The HTTP_FILTER_CONTEXT double: :class:`FakeFilterContext` and what ``GetData()`` returns."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..constants import (
    ERROR_INVALID_INDEX,
    ERROR_INVALID_PARAMETER,
    SF_NOTIFY_PREPROC_HEADERS,
    SF_NOTIFY_READ_RAW_DATA,
    SF_NOTIFY_SEND_RAW_DATA,
)
from ..errors import FilterError
from . import args
from .request import NO_DEFAULT, server_bytes, server_variable
from .version import FILTER_REVISION

if TYPE_CHECKING:
    from .filter_host import FakeConnection

__all__ = ["FakeFilterContext", "FakeRawData", "FakePreprocHeaders"]

_FILTER_DEAD = "Invalid HTTP_FILTER_CONTEXT (HttpFilterProc has returned)"
_READ_ONLY_MEMBERS = frozenset({"NotificationType", "Revision", "fIsSecurePort"})
#: The buffer pywin32's ``HTTP_FILTER_PREPROC_HEADERS.GetHeader`` reads a value into (PyFilterObjects.cpp).
_GET_HEADER_BUFFER = 8192


class FakeRawData:
    """HTTP_FILTER_RAW_DATA: the ``InData`` bytes of a SEND_RAW_DATA (or READ_RAW_DATA) notification.

    pywin32's ``PyRAW_DATA::setattro`` takes only ``bytes`` for ``InData``
    (TypeError otherwise), allocates a buffer of that length with
    ``AllocMem`` and never copies the bytes into it: IIS would send
    uninitialised memory. Setting ``b''`` (to withhold the data) works; the
    double raises RuntimeError for any other value. Write a replacement with
    ``fc.WriteClient`` instead.
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

    def GetHeader(self, name: str, default: Any = NO_DEFAULT, /) -> Any:
        args.s(name, "GetHeader")
        self._fc._check()
        request = self._fc._connection._request
        assert request is not None
        if name in self._LINE:
            return server_bytes(request.line(name))
        values = [value for key, value in request.headers if f"{key.lower()}:" == name.lower()]
        # pywin32 reads the value into an 8192-byte buffer: a longer one (with its NUL) fails.
        if not name.endswith(":") or not values or len(server_bytes(", ".join(values))) + 1 > _GET_HEADER_BUFFER:
            if default is NO_DEFAULT:
                raise FilterError(ERROR_INVALID_INDEX, None, "GetHeader")
            return default
        return server_bytes(", ".join(values))

    def SetHeader(self, name: str, value: str, /) -> None:
        self._change("SetHeader", name, value, replace=True)

    def AddHeader(self, name: str, value: str, /) -> None:
        self._change("AddHeader", name, value, replace=False)

    def _change(self, call: str, name: str, value: str, *, replace: bool) -> None:
        name, value = args.wire(args.s(name, call)), args.wire(args.s(value, call))  # IIS gets UTF-8
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


class FakeFilterContext:
    """One notification's HTTP_FILTER_CONTEXT, as pywin32 hands it to ``HttpFilterProc``.

    ``NotificationType``, ``Revision`` and ``fIsSecurePort`` are read-only;
    ``FilterContext`` is the connection's slot (None until set). ``GetData()``
    gives a :class:`FakeRawData` for raw-data notifications and a
    :class:`FakePreprocHeaders` for PREPROC_HEADERS, and raises ValueError for
    the others, as pywin32 does. ``WriteClient`` sends at once, and IIS shows
    the bytes to the filter again in a nested SEND_RAW_DATA notification.
    Every method is positional-only, with pywin32's argument formats.

    Once HttpFilterProc has returned, pywin32 has reset the object
    (``PyHFC::Reset``): its members still read, but ``WriteClient`` and
    ``AddResponseHeaders`` silently do nothing, ``GetServerVariable`` returns
    8192 NUL bytes and ``FilterContext`` dereferences a null pointer. The
    double raises RuntimeError for every such use.
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

    def GetData(self, /) -> Any:
        self._check()
        kind = self._kind
        if kind in (SF_NOTIFY_SEND_RAW_DATA, SF_NOTIFY_READ_RAW_DATA):
            return FakeRawData(self)
        if kind == SF_NOTIFY_PREPROC_HEADERS:
            return FakePreprocHeaders(self)
        raise ValueError(f"Don't understand data of type 0x{kind:x}")

    def GetServerVariable(self, name: str, default: Any = NO_DEFAULT, /) -> Any:
        """The request's variable as bytes (str for ``UNICODE_`` names); ``default`` or FilterError if unknown."""
        self._check()
        request = self._connection._request
        variables = request.variables if request is not None else {}
        return server_variable(variables, name, default, FilterError)

    def WriteClient(self, data: str | bytes, reserved: int = 0, /) -> None:
        """Send ``data`` to the client now (through a nested SEND_RAW_DATA notification)."""
        payload = args.s_hash(data, "WriteClient")
        args.i(reserved, "WriteClient")
        self._check()
        self._connection._send(payload, nested=True)

    write = WriteClient

    def AddResponseHeaders(self, headers: str, reserved: int = 0, /) -> None:
        """Have IIS add ``Name: value\\r\\n`` lines to the response head, before it is sent."""
        args.s(headers, "AddResponseHeaders")
        args.i(reserved, "AddResponseHeaders")
        self._check()
        self._connection._add_response_headers(headers)

    def SendResponseHeader(self, status: str | None, header: str | None, /) -> None:
        """Send a status line from the filter itself (``'401 Denied'``).

        pywin32 hands IIS the ``header`` string as a 32-bit ``DWORD`` (``PyHFC::SendResponseHeader``:
        ``(DWORD)header``), so on 64-bit IIS its address is cut and IIS reads elsewhere: the
        double refuses any but None (send headers with ``AddResponseHeaders`` or ``WriteClient``)."""
        for value in (status, header):
            args.z(value, "SendResponseHeader")
        if header is not None:
            raise ValueError(
                "SendResponseHeader: pywin32 passes the header string to IIS as a 32-bit DWORD, "
                "which 64-bit IIS cannot read; pass None and send headers with AddResponseHeaders or WriteClient"
            )
        self._check()
        self._connection._send(f"HTTP/1.1 {status or '200 OK'}\r\n\r\n".encode(), nested=True)  # format "zz": UTF-8

    def DisableNotifications(self, flags: int, /) -> None:
        """Stop the notifications in ``flags`` for the rest of the request."""
        args.i(flags, "DisableNotifications")
        self._check()
        self._connection._disable(flags)

    def _check(self) -> None:
        if self._dead:
            raise RuntimeError(_FILTER_DEAD)

    def __repr__(self) -> str:
        return f"<FakeFilterContext 0x{self._kind:x}{' (dead)' if self._dead else ''}>"
