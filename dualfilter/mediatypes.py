"""Content-Type parsing and the matching of media types against patterns."""

from __future__ import annotations

import email.message
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


@lru_cache(maxsize=256)
def parse_content_type(value: str) -> tuple[str, Mapping[str, str]]:
    """``'Text/HTML; Charset="UTF-8"'`` -> ``('text/html', {'charset': 'UTF-8'})``.

    The media type is lower-cased, parameter names too; values are unquoted.
    An empty or unparseable value gives ``('', {})``. Results are cached, so
    the parameters come as a read-only mapping.
    """
    message = email.message.Message()
    message["content-type"] = value
    params = message.get_params()
    if not params or "/" not in params[0][0]:
        return "", _NO_PARAMS
    media_type = params[0][0].strip().lower()
    return media_type, MappingProxyType({k.lower(): str(v) for k, v in params[1:]})


#: One item of a comma-separated list; commas inside quoted strings do not split.
_ITEM = re.compile(r'(?:[^,"]|"(?:[^"\\]|\\.)*"?)+')


def content_type_items(value: str) -> list[str]:
    """The Content-Types in a value that may be a comma-separated list: several
    field lines combined (RFC 9110 section 5.3), which browsers read taking the
    last valid type."""
    return [item for item in _ITEM.findall(value) if item.strip()]


def format_content_type(media_type: str, params: Mapping[str, str]) -> str:
    """The header value for ``media_type`` with ``params`` (quoted where needed)."""
    parts = [media_type]
    for key, value in params.items():
        if not value or any(c in value for c in ' ()<>@,;:\\"/[]?='):
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{key}={value}")
    return "; ".join(parts)


#: Media types of responses that may never end: a pattern captures them only by
#: naming them exactly, never through a wildcard (``text/*``, ``*/*``), so that
#: a filter does not hold an event stream or a camera feed waiting for its end.
UNBOUNDED = frozenset({"text/event-stream", "multipart/x-mixed-replace"})


@lru_cache(maxsize=1024)
def matches(media_type: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``media_type`` (lower-case, no parameters) matches any pattern.

    Patterns are case-insensitive: ``text/html``, ``text/*``, ``*/*``, and
    structured-syntax suffixes such as ``*/*+xml`` or ``application/*+json``.
    A type in :data:`UNBOUNDED` matches only a pattern that names it exactly.
    """
    if "/" not in media_type:
        return False
    if media_type in UNBOUNDED:
        return any(pattern.strip().lower() == media_type for pattern in patterns)
    main, sub = media_type.split("/", 1)
    for pattern in patterns:
        p_main, _, p_sub = pattern.strip().lower().partition("/")
        if p_main not in ("*", main):
            continue
        if p_sub in ("*", sub):
            return True
        if p_sub.startswith("*+") and sub.endswith(p_sub[1:]):
            return True
    return False
