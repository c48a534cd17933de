"""The first part of a ``multipart/byteranges`` body (RFC 9110 section 14.6):
the one place a 206 of several ranges names the type of its page."""

from __future__ import annotations

import email.parser

from .mediatypes import parse_content_type

#: How far into the body the first part's header is looked for; past it, none is taken to come.
HEADER_LIMIT = 16 * 1024


def first_part_type(body: bytes, boundary: str) -> str | None:
    """The media type the first part's header names, or None while that header
    is not complete in ``body`` (or names none)."""
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    at = body.find(delimiter)
    if at < 0:
        return None
    line_end = body.find(b"\r\n", at)
    if line_end < 0:
        return None
    header_end = body.find(b"\r\n\r\n", line_end)
    if header_end == line_end:  # no header fields at all
        return None
    if header_end < 0:
        return None
    fields = email.parser.BytesHeaderParser().parsebytes(body[line_end + 2 : header_end + 4])
    content_type = fields.get("Content-Type")
    return parse_content_type(str(content_type))[0] or None if content_type else None
