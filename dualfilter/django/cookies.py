"""``RawCookie``: a ``Set-Cookie`` line a filter added, kept in ``response.cookies`` exactly as written.

Django sends cookies from ``response.cookies`` (its handlers emit each morsel's
``OutputString``), not from the headers. Parsing a line into a ``SimpleCookie``
would change it: attributes the standard library does not know (``Partitioned``)
drop the whole line, others (``Priority=High``) become a cookie of their own, and
two lines of one name collapse into one. Every other host sends such lines as
written; a ``RawCookie`` makes Django do the same.
"""

from __future__ import annotations

from collections.abc import Container
from http.cookies import BaseCookie, CookieError, Morsel, SimpleCookie
from typing import Any


class RawCookie(Morsel[str]):
    """One ``Set-Cookie`` field line, output verbatim. ``key`` and ``value`` name the
    cookie (when the standard library takes the name), so Django's test client keeps it."""

    def __init__(self, line: str) -> None:
        super().__init__()
        pair = line.split(";", 1)[0]
        name, equals, value = pair.partition("=")
        name, value = (name.strip(), value.strip()) if equals else ("", name.strip())
        try:
            super().set(name, SimpleCookie().value_decode(value)[0], value)
        except CookieError:
            pass  # a name Morsel refuses (reserved, or not a token): the line still goes out
        #: The line as written; None once Django's ``set_cookie`` made this an ordinary cookie.
        self.line: str | None = line

    def set(self, key: str, val: str, coded_val: str) -> None:
        """What ``response.set_cookie()`` on this name does: replace the line with an ordinary cookie."""
        self.line = None
        super().set(key, val, coded_val)

    def OutputString(self, attrs: Container[str] | None = None) -> str:
        return super().OutputString(attrs) if self.line is None else self.line

    def copy(self) -> RawCookie:
        twin = RawCookie.__new__(RawCookie)
        dict.update(twin, self)
        twin.__dict__.update(self.__dict__)
        return twin

    # Morsel pickles its key and value only; the line goes too (CacheMiddleware pickles responses).
    def __getstate__(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def add_cookie_line(cookies: BaseCookie[Any], line: str) -> None:
    """``line`` into ``cookies``: under the cookie's name when that is free, or when the
    cookie there has the same Path and Domain and is partitioned alike (a browser lets
    the later line replace it, a deletion by ``Max-Age=0`` included, and so does
    Django's test client then); else under a key no cookie can have (a name never
    holds ``;``), so both lines go out."""
    cookie = RawCookie(line)
    key = cookie.key or ""
    there = cookies.get(key) if key else None
    if there is not None and _scope(there) == _scope(cookie):
        dict.__setitem__(cookies, key, cookie)  # the later line wins, where the first stood
        return
    if not key or key in cookies:
        key = f"{key};{len(cookies)}"
        while key in cookies:
            key += "+"
    cookies[key] = cookie


def _scope(morsel: Morsel[Any]) -> tuple[str, str, bool]:
    """The Path and Domain a cookie line sets, and whether it is ``Partitioned`` (what, with
    its name, makes it the same cookie: browsers keep a partitioned cookie apart, CHIPS)."""
    if isinstance(morsel, RawCookie) and morsel.line is not None:
        attributes = {}
        for part in morsel.line.split(";")[1:]:
            name, _, value = part.partition("=")
            attributes[name.strip().lower()] = value.strip()
        return attributes.get("path", ""), attributes.get("domain", "").lstrip(".").lower(), "partitioned" in attributes
    return morsel["path"], morsel["domain"].lstrip(".").lower(), bool(morsel.get("partitioned"))
