"""Request headers a filter takes away before the app sees the request.

Range and If-Range always go, so a filtered type can never come back as a 206
that holds only part of the body and skips the filter. If-Modified-Since and
If-None-Match go under ``force_no_conditional``, so the app sends a full body
to filter instead of a 304 for a body the client holds only in filtered form;
without it, If-None-Match is translated (``dualfilter.validators``). Each host
applies the same rules to its own request structure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from .validators import translate_if_none_match

if TYPE_CHECKING:
    from .filter import Filter

RANGE_HEADERS = frozenset({"range", "if-range"})
CONDITIONAL_HEADERS = frozenset({"if-modified-since", "if-none-match"})


def removed_headers(flt: Filter) -> frozenset[str]:
    """The lower-case names of the request headers ``flt`` removes."""
    return RANGE_HEADERS | CONDITIONAL_HEADERS if flt.force_no_conditional else RANGE_HEADERS


def environ_key(name: str) -> str:
    """``'if-none-match'`` -> ``'HTTP_IF_NONE_MATCH'``."""
    return "HTTP_" + name.upper().replace("-", "_")


_RANGE_KEYS = tuple(environ_key(name) for name in sorted(RANGE_HEADERS))
_ALL_KEYS = _RANGE_KEYS + tuple(environ_key(name) for name in sorted(CONDITIONAL_HEADERS))


def strip_environ(environ: Mapping[str, Any], flt: Filter) -> Mapping[str, Any]:
    """``environ`` as the app should see it: without the removed headers, and
    with derived ETags translated (a copy only if anything changes)."""
    keys = _ALL_KEYS if flt.force_no_conditional else _RANGE_KEYS
    token = flt.etag_token
    translate = token is not None and "HTTP_IF_NONE_MATCH" in environ
    if not translate:
        for key in keys:
            if key in environ:
                break
        else:
            return environ
    stripped = dict(environ)
    for key in keys:
        stripped.pop(key, None)
    if translate and token is not None:
        stripped["HTTP_IF_NONE_MATCH"] = translate_if_none_match(stripped["HTTP_IF_NONE_MATCH"], token)
    return stripped


def strip_pairs(pairs: Iterable[tuple[bytes, bytes]], flt: Filter) -> list[tuple[bytes, bytes]]:
    """Raw ``(name, value)`` byte pairs (ASGI) as the app should see them."""
    names = removed_headers(flt)
    token = flt.etag_token
    kept = []
    for name, value in pairs:
        lowered = name.decode("latin-1").lower()
        if lowered in names:
            continue
        if token is not None and lowered == "if-none-match":
            value = translate_if_none_match(value.decode("latin-1"), token).encode("latin-1")
        kept.append((name, value))
    return kept
