"""The request policy over the server variables an extension reads.

Under ISAPI an extension reads request headers through ``GetServerVariable``:
``HTTP_RANGE``, ``HEADER_Range``, their ``UNICODE_`` forms, and the
``ALL_HTTP`` / ``ALL_RAW`` lists. A :class:`RequestHeaders` hides some headers
in every one of those forms and shows derived tags in If-None-Match as the
extension's own: none hidden when it is first asked, every range and
conditional header when it is asked again (``dualfilter.request_policy``).
"""

from __future__ import annotations

from collections.abc import Iterable

from ...request_policy import environ_key
from ...validators import translate_if_none_match

#: ``kind()`` results.
HIDDEN = "hidden"
HEADER_LIST = "list"
TRANSLATED = "translated"

_LIST_VARIABLES = {"ALL_HTTP": "http", "ALL_RAW": "raw"}
#: The request headers that describe its content, gone with it from a request asked again.
BODY_HEADERS = frozenset({"content-length", "content-type", "transfer-encoding"})
#: The server variables that describe it, as a request without content has them.
BODY_VARIABLES = {"CONTENT_LENGTH": "0", "CONTENT_TYPE": ""}


class RequestHeaders:
    """Which server variables show the removed request headers, and how to hide them."""

    __slots__ = ("names", "keys", "token", "bodiless")

    def __init__(self, removed: Iterable[str], token: str | None = None, *, bodiless: bool = False) -> None:
        #: Whether the request is shown without content (asked again: the first call read it).
        self.bodiless = bodiless
        if bodiless:
            removed = {*removed, *BODY_HEADERS}
        #: Lower-case header names (``range``).
        self.names = frozenset(name.lower() for name in removed)
        #: Their CGI keys (``HTTP_RANGE``).
        self.keys = frozenset(environ_key(name) for name in self.names)
        #: The filter's validator token: If-None-Match is shown translated (dualfilter.validators).
        self.token = token

    def kind(self, variable: str) -> str | None:
        """``HIDDEN`` for a variable that is one removed header, ``HEADER_LIST`` for
        ALL_HTTP / ALL_RAW, None for any other."""
        upper = variable.upper()
        if upper.startswith("UNICODE_"):
            upper = upper[len("UNICODE_") :]
        if upper in self.keys:
            return HIDDEN
        if upper.startswith("HEADER_") and variable[-(len(upper) - len("HEADER_")) :].lower() in self.names:
            return HIDDEN
        if self.token is not None and upper in ("HTTP_IF_NONE_MATCH", "HEADER_IF-NONE-MATCH"):
            return TRANSLATED
        if upper in _LIST_VARIABLES:
            return HEADER_LIST
        return None

    def translate(self, value: bytes | str) -> bytes | str:
        """An If-None-Match value as the app sees it: its own tag after each derived one."""
        assert self.token is not None
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        translated = translate_if_none_match(text, self.token)
        return translated.encode("latin-1") if isinstance(value, bytes) else translated

    def strip_list(self, variable: str, value: bytes | str) -> bytes | str:
        """An ALL_HTTP (``HTTP_NAME:value``) or ALL_RAW (``Name: value``) list without the removed headers."""
        upper = variable.upper()
        raw = _LIST_VARIABLES[upper.removeprefix("UNICODE_")] == "raw"
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        inm = "IF-NONE-MATCH" if raw else "HTTP_IF_NONE_MATCH"
        lines = text.splitlines(keepends=True)
        # Several If-None-Match lines are one list (RFC 9110 section 5.3): translated as
        # one, and shown as one line where the first stood (as IIS joins HTTP_IF_NONE_MATCH).
        joined = None
        if self.token is not None:
            values = [line.partition(":")[2].strip() for line in lines if line.partition(":")[0].strip().upper() == inm]
            joined = translate_if_none_match(", ".join(values), self.token) if values else None
        kept = []
        shown = False  # the joined list went out, in place of the first line
        for line in lines:
            name = line.partition(":")[0].strip()
            if (name.lower() in self.names) if raw else (name.upper() in self.keys):
                continue
            if joined is not None and name.upper() == inm:
                if shown:
                    continue  # a later line of the list: shown in the first
                head = line.partition(":")[0]
                end = line[len(line.rstrip("\r\n")) :]
                line, shown = f"{head}:{' ' if raw else ''}{joined}{end}", True
            kept.append(line)
        stripped = "".join(kept)
        return stripped.encode("latin-1") if isinstance(value, bytes) else stripped
