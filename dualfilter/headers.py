"""Response headers: the collection a filter edits, and the rules applied to it."""

from __future__ import annotations

import wsgiref.headers
from collections.abc import Iterable

from .errors import FilterError

HeaderList = list[tuple[str, str]]

#: Connection-level headers that never belong in an application's response
#: (RFC 9110 section 7.6.1, PEP 3333 "hop-by-hop").
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


class Headers(wsgiref.headers.Headers):
    """A mutable, case-insensitive, ordered multi-map of ``str`` headers.

    It is the standard library's WSGI header collection, so filters written for
    WSGI code feel at home; the list it wraps is the one the response carries,
    and edits made in ``filter()`` are what the client receives.
    """

    def __init__(self, headers: HeaderList | None = None) -> None:
        # No per-header type check here: every header a filter may have
        # touched is checked on the way out (check_header), once.
        self._headers = headers if headers is not None else []

    _headers: HeaderList

    @property
    def list(self) -> HeaderList:
        """The underlying list of ``(name, value)`` pairs."""
        return self._headers

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            return self._headers == other._headers
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]


def get_header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    """The first value of header ``name`` (lower-case) in a header list, or None."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


def get_all(headers: Iterable[tuple[str, str]], name: str) -> list[str]:
    """Every value of header ``name`` (lower-case) in a header list."""
    return [value for key, value in headers if key.lower() == name]


def without(headers: Iterable[tuple[str, str]], names: frozenset[str]) -> HeaderList:
    """A new header list without the (lower-case) ``names``."""
    return [(k, v) for k, v in headers if k.lower() not in names]


def check_header(name: object, value: object) -> None:
    """Raise FilterError unless ``name: value`` is safe to put on the wire.

    Names and values must be ``str`` encodable as latin-1 (PEP 3333) with no
    CR, LF or NUL, which would let a value split the header block.
    """
    for part in (name, value):
        if type(part) is not str:
            raise FilterError(f"header {name!r}: {part!r} is not a str")
        if "\r" in part or "\n" in part or "\0" in part:
            raise FilterError(f"header {name!r}: control character in {part!r}")
        try:
            part.encode("latin-1")
        except UnicodeEncodeError:
            raise FilterError(f"header {name!r}: {part!r} is not latin-1") from None
    if not name or ":" in name or " " in name:  # type: ignore[operator]
        raise FilterError(f"invalid header name {name!r}")
