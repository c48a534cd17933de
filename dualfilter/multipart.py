"""The first part of a ``multipart/byteranges`` body (RFC 9110 section 14.6):
the one place a 206 of several ranges names the type of its page."""

from __future__ import annotations

import email.parser

#: How far into the body the first part's header is looked for; past it, none is taken to come.
HEADER_LIMIT = 16 * 1024


def first_part_type(body: bytes, boundary: str) -> str | None:
    """The Content-Type the first part's header names (``''`` when it names none:
    the page has no type), or None while that header is not complete in ``body``."""
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    at = body.find(delimiter)
    if at < 0:
        return None
    line_end = body.find(b"\r\n", at)
    if line_end < 0:
        return None
    if body.startswith(b"\r\n", line_end + 2):  # no header fields at all
        return ""
    header_end = body.find(b"\r\n\r\n", line_end)
    if header_end < 0:
        return None
    fields = email.parser.BytesHeaderParser().parsebytes(body[line_end + 2 : header_end + 4])
    content_type = fields.get("Content-Type")
    return str(content_type).strip() if content_type else ""
