"""What the app is shown of the request: one policy object per filter, used by every host.

Range and If-Range always go, so a filtered type can never come back as a 206
that holds only part of the body and skips the filter. If-Modified-Since and
If-None-Match go under ``force_no_conditional``, so the app sends a full body
to filter instead of a 304 for a body the client holds only in filtered form;
without it, If-None-Match is translated (``dualfilter.validators``). Each host
asks the same policy about its own request structure: a WSGI environ, ASGI
header pairs, ISAPI server variables and raw header blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .validators import translate_if_none_match

if TYPE_CHECKING:
    from .filter import Filter

RANGE_HEADERS = frozenset({"range", "if-range"})
CONDITIONAL_HEADERS = frozenset({"if-modified-since", "if-none-match"})


def environ_key(name: str) -> str:
    """``'if-none-match'`` -> ``'HTTP_IF_NONE_MATCH'``."""
    return "HTTP_" + name.upper().replace("-", "_")


class RequestPolicy:
    """The request headers one filter removes or translates, for every host."""

    __slots__ = ("removed", "keys", "token", "_raw_names")

    def __init__(self, flt: Filter) -> None:
        #: Lower-case names of the request headers the app never sees.
        self.removed = RANGE_HEADERS | CONDITIONAL_HEADERS if flt.force_no_conditional else RANGE_HEADERS
        #: Their CGI / WSGI environ keys (``HTTP_RANGE``), in a fixed order.
        self.keys = tuple(environ_key(name) for name in sorted(self.removed))
        #: The filter's validator token when If-None-Match is translated, else None.
        self.token = flt.etag_token
        touched = self.removed | ({"if-none-match"} if self.token is not None else set())
        self._raw_names = frozenset(name.encode("latin-1") for name in touched)

    def translate(self, value: str) -> str:
        """An If-None-Match value as the app sees it: its own tag after each derived one."""
        assert self.token is not None
        return translate_if_none_match(value, self.token)

    def environ(self, environ: Mapping[str, Any]) -> Mapping[str, Any]:
        """A WSGI environ as the app should see it (a copy only if anything changes)."""
        translate = self.token is not None and "HTTP_IF_NONE_MATCH" in environ
        if not translate:
            for key in self.keys:
                if key in environ:
                    break
            else:
                return environ
        stripped = dict(environ)
        for key in self.keys:
            stripped.pop(key, None)
        if translate:
            stripped["HTTP_IF_NONE_MATCH"] = self.translate(stripped["HTTP_IF_NONE_MATCH"])
        return stripped

    def pairs(self, pairs: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]] | None:
        """Raw ``(name, value)`` byte pairs (ASGI) as the app should see them,
        or None when the policy changes nothing in them."""
        touched = self._raw_names
        for name, _ in pairs:
            if name.lower() in touched:
                break
        else:
            return None
        kept = []
        for name, value in pairs:
            lowered = name.lower()
            if lowered in touched:
                if lowered.decode("latin-1") in self.removed:
                    continue
                value = self.translate(value.decode("latin-1")).encode("latin-1")
            kept.append((name, value))
        return kept
