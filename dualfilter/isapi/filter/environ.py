"""The filter's ``environ`` under an ISAPI filter: built from the filter context's server variables.

An HTTP_FILTER_CONTEXT has no ``Method`` or ``QueryString`` attributes as an
ECB has, only server variables, and each notification brings a new context
that is dead once it returns. :class:`FilterRequest` gives
:func:`~dualfilter.isapi.environ.server_environ` the ECB attributes it reads,
from the live context of the current notification; :class:`FilterEnviron` is
the same lazy mapping as under an extension, with the context under
``'isapi.filter_context'``.
"""

from __future__ import annotations

from typing import Any

from ..environ import ServerEnviron, server_environ

_NO_DEFAULT: Any = object()


class FilterRequest:
    """The request behind a filter notification, with the ECB attributes read from server variables."""

    __slots__ = ("fc",)

    def __init__(self, fc: Any) -> None:
        #: The HTTP_FILTER_CONTEXT of the notification being handled.
        self.fc = fc

    def _bytes(self, name: str) -> bytes:
        value = self.fc.GetServerVariable(name, None)
        return value if isinstance(value, bytes) else b""

    @property
    def Method(self) -> bytes:
        return self._bytes("REQUEST_METHOD") or b"GET"

    @property
    def QueryString(self) -> bytes:
        return self._bytes("QUERY_STRING")

    @property
    def ContentType(self) -> bytes:
        return self._bytes("CONTENT_TYPE")

    @property
    def TotalBytes(self) -> int:
        length = self._bytes("CONTENT_LENGTH").strip()
        return int(length) if length.isdigit() else 0

    def GetServerVariable(self, name: str, default: Any = _NO_DEFAULT) -> Any:
        """The filter context's server variable."""
        if default is _NO_DEFAULT:
            return self.fc.GetServerVariable(name)
        return self.fc.GetServerVariable(name, default)


class FilterEnviron(ServerEnviron):
    """A mutable mapping that turns into the request's WSGI-style environ when first read.

    It shows the request as the client sent it, as the WSGI and ASGI hosts
    do: the headers the filter took away from the site at PREPROC_HEADERS
    (``restored``, such as ``HTTP_RANGE``) are put back, so a filtered page's
    ranges are served from the filtered body.
    """

    __slots__ = ("restored",)

    def __init__(self, request: FilterRequest, restored: dict[str, str] | None = None) -> None:
        super().__init__(request)
        self.restored = restored or {}

    @property
    def data(self) -> dict[str, Any]:
        """The environ dict, built now (from the live filter context) if it was not yet."""
        data = self._data
        if data is None:
            data = server_environ(self.ecb)
            del data["isapi.ecb"]
            data.update(self.restored)
            data["isapi.filter_context"] = self.ecb.fc
            self._data = data
        return data

    def refresh(self, fc: Any) -> None:
        """A new notification for this request: read from ``fc`` from now on."""
        self.ecb.fc = fc
        if self._data is not None:
            self._data["isapi.filter_context"] = fc

    def __repr__(self) -> str:
        return f"FilterEnviron({self.data!r})"
