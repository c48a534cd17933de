"""Response headers: the collection a filter edits, and the rules applied to it."""

from __future__ import annotations

import re
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
        # touched is checked on the way out (check_headers), once.
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


def asks_close(headers: Iterable[tuple[str, str]] | None) -> bool:
    """Whether a header list holds a Connection field with the ``close`` option: an app's
    instruction to its server to close the connection after the response (RFC 9112 section
    9.6), which async servers honour and a filtered response keeps where the host allows it."""
    for name, value in headers or ():
        if name.lower() == "connection" and "close" in (token.strip().lower() for token in value.split(",")):
            return True
    return False


#: RFC 9110 section 5.6.2: a field name is a token of these characters.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Characters a field value may not hold (RFC 9110 section 5.5): the controls
#: but HTAB, and DEL; the rest of latin-1 is visible ASCII, SP and obs-text.
_NOT_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]|[^\x00-\xff]")


def check_headers(headers: Iterable[object]) -> None:
    """Raise FilterError unless every entry of ``headers`` is a ``(name, value)`` pair
    HTTP/1.1 can carry (:func:`check_header`)."""
    for entry in headers:
        # A list of two is taken too: servers take an app's (waitress does), so the filter passes it on.
        if (type(entry) is not tuple and type(entry) is not list) or len(entry) != 2:
            raise FilterError(f"header entry {entry!r} is not a (name, value) pair")
        check_header(*entry)


def check_header(name: object, value: object) -> None:
    """Raise FilterError unless ``name: value`` is a field HTTP/1.1 can carry.

    Both are ``str`` (PEP 3333). The name is a token (RFC 9110 section 5.1).
    The value holds no control character but HTAB, no DEL and nothing beyond
    latin-1 (section 5.5), and starts and ends with neither space nor tab:
    surrounding whitespace is not part of a field value, and servers built on
    h11 refuse to send it. Such a field is refused, never repaired, so a filter
    learns of its mistake from the 500 and the log.
    """
    if type(name) is not str:
        raise FilterError(f"header {name!r}: {name!r} is not a str")
    if type(value) is not str:
        raise FilterError(f"header {name!r}: {value!r} is not a str")
    if not _TOKEN.fullmatch(name):
        raise FilterError(f"invalid header name {name!r}: a name is a token (letters, digits and !#$%&'*+-.^_`|~)")
    bad = _NOT_IN_VALUE.search(value)
    if bad:
        what = "is not latin-1" if ord(bad.group()) > 0xFF else "is a control character"
        raise FilterError(f"header {name!r}: {bad.group()!r} in {value!r} {what}")
    if value[:1] in (" ", "\t") or value[-1:] in (" ", "\t"):
        raise FilterError(f"header {name!r}: {value!r} starts or ends with whitespace, which is not part of a field value")
