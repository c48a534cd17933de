"""Turning a response body into text and back, with the charset kept right.

Decoding looks, in order, at the Content-Type ``charset`` parameter, a byte
order mark, and (for HTML and XML) an in-document declaration; with none of
them it tries UTF-8 and falls back to ISO-8859-1, which maps every byte and so
loses nothing. Encoding keeps the charset the body came in when it can hold the
result, else uses the filter's ``output_encoding``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from .errors import FilterError

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META = re.compile(rb"""<meta\b[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9._:()-]+)""", re.I)
_XML_DECL = re.compile(rb"""^\s*<\?xml\b[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)""")
#: How many leading bytes are searched for an in-document declaration.
SNIFF_BYTES = 1024
#: The IANA name a Content-Type should carry for codecs whose Python name differs.
_HEADER_NAME = {
    "utf-8-sig": "utf-8",
    "iso8859-1": "iso-8859-1",
    "iso8859-15": "iso-8859-15",
    "cp1252": "windows-1252",
    "euc_jp": "euc-jp",
}


@dataclass(frozen=True, slots=True)
class Charset:
    """The codec a body was decoded with, and where that knowledge came from."""

    codec: str
    source: str  # 'header', 'bom', 'document', 'default', 'fallback' or 'output'
    label: str = ""  # the name the response used, kept when writing it back

    @property
    def header_name(self) -> str:
        """The name to declare in a Content-Type ``charset`` parameter."""
        return self.label or _HEADER_NAME.get(self.codec, self.codec)


def lookup(name: str) -> str:
    """The canonical codec name for a charset label; FilterError if unknown."""
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        raise FilterError(f"unknown charset {name!r}") from None


def _bom(data: bytes) -> str | None:
    for mark, codec in _BOMS:
        if data.startswith(mark):
            return codec
    return None


def _document_charset(data: bytes, media_type: str) -> str | None:
    head = data[:SNIFF_BYTES]
    if media_type.endswith("xml"):
        found = _XML_DECL.match(head)
    elif media_type == "text/html" or media_type == "application/xhtml+xml":
        found = _XML_DECL.match(head) or _META.search(head)
    else:
        found = None
    return found.group(1).decode("ascii") if found else None


def detect(data: bytes, declared: str | None, media_type: str) -> Charset:
    """Which charset ``data`` is in, by header, BOM, document, then default."""
    if declared:
        codec = lookup(declared)
        if codec == "utf-8" and data.startswith(codecs.BOM_UTF8):
            codec = "utf-8-sig"  # keeps the mark out of the text and puts it back
        return Charset(codec, "header", declared.strip())
    bom = _bom(data)
    if bom:
        return Charset(bom, "bom")
    in_document = _document_charset(data, media_type)
    if in_document:
        return Charset(lookup(in_document), "document")
    return Charset("utf-8", "default")


def decode(data: bytes, declared: str | None, media_type: str, errors: str = "strict") -> tuple[str, Charset]:
    """Decode a body to text; FilterError if it is not in the charset it claims."""
    charset = detect(data, declared, media_type)
    try:
        return data.decode(charset.codec, errors), charset
    except UnicodeDecodeError as exc:
        if charset.source == "default":
            # Undeclared and not UTF-8: ISO-8859-1 maps every byte, so the
            # body round-trips unchanged through a filter that leaves it be.
            return data.decode("latin-1"), Charset("iso8859-1", "fallback")
        raise FilterError(f"body is not valid {charset.codec}: {exc.reason} at byte {exc.start}") from None


def encode(text: str, charset: Charset | None, output_encoding: str) -> tuple[bytes, Charset]:
    """Encode text in ``charset`` if it can hold it, else in ``output_encoding``."""
    if charset is not None:
        try:
            return text.encode(charset.codec), charset
        except UnicodeEncodeError:
            pass
    fallback = Charset(lookup(output_encoding), "output")
    try:
        return text.encode(fallback.codec), fallback
    except UnicodeEncodeError as exc:
        raise FilterError(f"output_encoding {output_encoding!r} cannot encode the filtered text: {exc.reason}") from None
