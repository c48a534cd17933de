"""``Replace``: literal or regular-expression replacement on the text of a response."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..filter import Filter
from ..headers import Headers

#: The letters ``flags`` accepts, as in a regular expression's inline ``(?aimsx)``.
FLAG_LETTERS = {"a": re.ASCII, "i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def parse_flags(flags: str | int) -> int:
    """``'im'`` -> ``re.I | re.M``; an int (``re.RegexFlag``) is taken as is."""
    if isinstance(flags, int) and not isinstance(flags, bool):
        return flags
    if not isinstance(flags, str):
        raise TypeError(f"flags must be regex flag letters (str) or an int (re.RegexFlag), not {flags!r}")
    value = 0
    for letter in flags.replace(",", "").replace(" ", "").lower():
        try:
            value |= FLAG_LETTERS[letter]
        except KeyError:
            raise ValueError(f"unknown regex flag {letter!r} in {flags!r}; use letters from {''.join(FLAG_LETTERS)}") from None
    return value


class Replace(Filter):
    """Replace ``pattern`` with ``repl`` in the text of each response.

    Literal by default; with ``regex=True`` the pattern is a Python regular
    expression and ``repl`` may refer to groups (``\\1``, ``\\g<name>``). The
    body is decoded by its charset (header, BOM or in-document declaration)
    and written back in it, so non-ASCII patterns work in any charset.
    By default it filters ``text/*``, JSON (``application/json``, ``*/*+json``),
    XML (``application/xml``, ``*/*+xml``) and ``application/javascript``.
    """

    #: Every ``text/*`` type, JSON, XML and JavaScript (as docs/filters.md says).
    filter_content_types = ("text/*", "application/json", "*/*+json", "application/xml", "*/*+xml", "application/javascript")
    decode_unicode = True
    #: The text (or, with ``regex``, the regular expression) to find.
    pattern: str = ""
    #: What each match becomes; group references only with ``regex``.
    repl: str = ""
    #: Treat ``pattern`` as a regular expression.
    regex: bool = False
    #: Replace at most this many matches (0: all).
    count: int = 0
    #: Match regardless of case.
    ignore_case: bool = False
    #: Regular-expression flags as letters (``'ims'``) or an ``re`` flag value.
    flags: str | int = ""

    def _configure(self) -> None:
        if self.format is not None or self.format_output is not None or not self.decode_unicode:
            raise ValueError("Replace reads the page as text: format, format_output and decode_unicode=False do not apply")
        super()._configure()
        if not self.pattern:
            raise ValueError("Replace needs the pattern option: the text to find")
        if not isinstance(self.count, int) or self.count < 0:
            raise ValueError(f"count must be a non-negative int, not {self.count!r}")
        flags = parse_flags(self.flags) | (re.IGNORECASE if self.ignore_case else 0)
        self._literal = not self.regex and not flags
        if self._literal:
            return
        source = self.pattern if self.regex else re.escape(self.pattern)
        try:
            self._compiled = re.compile(source, flags)
        except re.error as exc:
            raise ValueError(f"invalid pattern {self.pattern!r}: {exc}") from None
        if self.regex:
            try:
                self._compiled.sub(self.repl, "")  # checks the group references now
            except (re.error, IndexError) as exc:
                raise ValueError(f"invalid repl {self.repl!r}: {exc}") from None
            self._repl: Any = self.repl
        else:
            repl = self.repl
            self._repl = lambda match: repl  # literal: no backslash processing

    def filter(self, environ: Mapping[str, Any], headers: Headers, data: str) -> str:
        """The text with the replacements made."""
        if self._literal:
            return data.replace(self.pattern, self.repl, self.count or -1)
        return self._compiled.sub(self._repl, data, count=self.count)
