"""The first part of a ``multipart/byteranges`` body (RFC 9110 section 14.6):
the one place a 206 of several ranges names the type of its page."""

from __future__ import annotations

import email.parser
import re

#: How far into the body the first part's header is looked for; past it, none is taken to come.
HEADER_LIMIT = 16 * 1024
#: The empty line that ends a part's header.
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def first_part_type(body: bytes, boundary: str) -> str | None:
    """The Content-Type the first part's header names (``''`` when it names none:
    the page has no type), or None while that header is not complete in ``body``.
    Lines may end in a bare LF, as lenient clients read them."""
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    at = body.find(delimiter)
    if at < 0:
        return None
    line_end = body.find(b"\n", at)
    if line_end < 0:
        return None
    start = line_end + 1
    if body.startswith(b"\r\n", start) or body.startswith(b"\n", start):  # no header fields at all
        return ""
    blank = _BLANK_LINE.search(body, start)
    if blank is None:
        return None
    fields = email.parser.BytesHeaderParser().parsebytes(body[start : blank.end()])
    content_type = fields.get("Content-Type")
    return str(content_type).strip() if content_type else ""
