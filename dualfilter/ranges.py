"""Byte ranges of a filtered body (RFC 9110 section 14).

A filtered response is never a partial of the unfiltered body; a Range
request for it is answered from the filtered body instead: one satisfiable
range gives a 206 with a true Content-Range, an unsatisfiable one a 416, and
anything else (several ranges, units other than bytes, a bad header, an
If-Range: the filtered response's validators are weak or absent, so it never
matches) the whole body, as RFC 9110 allows a server to.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_SINGLE = re.compile(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*")

#: The answer for a range no byte of the body satisfies.
UNSATISFIABLE = "unsatisfiable"


def requested(environ: Mapping[str, Any], size: int) -> tuple[int, int] | str | None:
    """The ``(first, last)`` byte positions the request asks of a ``size``-byte
    body, ``UNSATISFIABLE``, or None to send the whole body."""
    value = environ.get("HTTP_RANGE")
    if not value or environ.get("REQUEST_METHOD") != "GET" or environ.get("HTTP_IF_RANGE"):
        return None
    found = _SINGLE.fullmatch(value)
    if found is None:
        return None
    first_text, last_text = found.groups()
    if not first_text:
        if not last_text:
            return None
        suffix = int(last_text)
        if suffix == 0:
            return UNSATISFIABLE
        if size == 0:
            # Satisfiable (RFC 9110 section 14.1.2), yet no Content-Range can say so: the whole, empty body.
            return None
        return max(0, size - suffix), size - 1
    first = int(first_text)
    last = int(last_text) if last_text else size - 1
    if last_text and last < first:
        return None  # invalid: ignored
    if first >= size:
        return UNSATISFIABLE
    return first, min(last, size - 1)


def content_range(first: int, last: int, size: int) -> str:
    """``bytes 0-99/1234``."""
    return f"bytes {first}-{last}/{size}"
