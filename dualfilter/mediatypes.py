"""Content-Type parsing and the matching of media types against patterns."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from types import MappingProxyType

_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_WHITESPACE = " \t\r\n"


@lru_cache(maxsize=256)
def parse_content_type(value: str) -> tuple[str, Mapping[str, str]]:
    """``'Text/HTML; Charset="UTF-8"'`` -> ``('text/html', {'charset': 'UTF-8'})``.

    Read as browsers read it (WHATWG MIME Sniffing, "parse a MIME type"): the
    type and subtype are tokens, lower-cased, as are parameter names; a quoted
    value is unquoted (spaces around ``=`` are forgiven); of a parameter given
    twice the first counts; a parameter whose name is not a token, or with no
    value, is left out (``charset*`` is a parameter of its own, not RFC
    2231's). A value with no valid type
    gives ``('', {})``. Results are cached, so the parameters come as a
    read-only mapping.
    """
    text = value.strip(_WHITESPACE)
    slash = text.find("/")
    end = text.find(";")
    if end < 0:
        end = len(text)
    if slash < 0 or slash > end:
        return "", _NO_PARAMS
    main, sub = text[:slash], text[slash + 1 : end].rstrip(_WHITESPACE)
    if not _TOKEN.fullmatch(main) or not _TOKEN.fullmatch(sub):
        return "", _NO_PARAMS
    params: dict[str, str] = {}
    position = end
    while position < len(text):
        position += 1  # past the ";"
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
        name_end = position
        while name_end < len(text) and text[name_end] not in ";=":
            name_end += 1
        name = text[position:name_end].rstrip(_WHITESPACE).lower()
        position = name_end
        if position >= len(text) or text[position] == ";":
            continue  # a name with no value
        position += 1  # past the "=", and spaces around it (as Chrome and Python's email read it)
        while position < len(text) and text[position] in _WHITESPACE:
            position += 1
        if position < len(text) and text[position] == '"':
            chars = []
            position += 1
            while position < len(text) and text[position] != '"':
                if text[position] == "\\" and position + 1 < len(text):
                    position += 1
                chars.append(text[position])
                position += 1
            parameter = "".join(chars)
            next_semicolon = text.find(";", position)
            position = len(text) if next_semicolon < 0 else next_semicolon
        else:
            next_semicolon = text.find(";", position)
            value_end = len(text) if next_semicolon < 0 else next_semicolon
            parameter = text[position:value_end].rstrip(_WHITESPACE)
            position = value_end
            if not parameter:
                continue
        if _TOKEN.fullmatch(name) and name not in params:
            params[name] = parameter
    return f"{main}/{sub}".lower(), MappingProxyType(params) if params else _NO_PARAMS


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
        if not _TOKEN_VALUE.fullmatch(value):  # RFC 9110 section 5.6.6: a token, else a quoted-string
            value = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        parts.append(f"{key}={value}")
    return "; ".join(parts)


#: A parameter value that may go unquoted: a token (RFC 9110 section 5.6.2).
_TOKEN_VALUE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


#: Media types of responses that may never end: a pattern captures them only by
#: naming them exactly, never through a wildcard (``text/*``, ``*/*``), so that
#: a filter does not hold an event stream or a camera feed waiting for its end.
UNBOUNDED = frozenset({"text/event-stream", "multipart/x-mixed-replace"})


_PATTERN = re.compile(r"(\*|[!#$%&'*+\-.^_`|~0-9a-z]+)/(\*|\*\+[!#$%&'*+\-.^_`|~0-9a-z]+|[!#$%&'*+\-.^_`|~0-9a-z]+)")


def patterns(given: Iterable[str]) -> tuple[str, ...]:
    """``filter_content_types`` as :func:`matches` takes them: lower-case, parameters
    dropped (``text/html; charset=utf-8`` is ``text/html``), a list in one string split;
    ValueError naming the option for one that could match no media type (``html``)."""
    found = []
    for item in given:
        for pattern in item.split(","):
            pattern = pattern.partition(";")[0].strip().lower()
            if not _PATTERN.fullmatch(pattern):
                raise ValueError(f"filter_content_types: {item!r} is no media type pattern (type/subtype, text/*, */*+xml)")
            found.append(pattern)
    return tuple(found)


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
