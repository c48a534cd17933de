"""One filtering of a buffered response: decode the body, hand it over, encode the result.

Decoding undoes the Content-Encoding, then gives the filter bytes, text
(``decode_unicode``) or the parsed object of its format; encoding reverses each
step and reports the charset the new body is in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import charsets, codings
from .charsets import Charset
from .errors import FilterError
from .events import ResponseStart
from .headers import Headers

if TYPE_CHECKING:
    from .filter import Filter
    from .formats import Format


class NothingToParse(Exception):
    """An empty body for a format filter: there is no document to hand over."""


class Transform:
    """The decoded body of one response, ready for ``filter()``, and its way back."""

    __slots__ = ("filter", "headers", "original_headers", "codings", "media_type", "declared", "format", "charset", "data")

    def __init__(
        self,
        flt: Filter,
        start: ResponseStart,
        body: bytes,
        content_type: tuple[str, Mapping[str, str]],
        content_codings: list[str],
    ) -> None:
        self.filter = flt
        self.headers = Headers(start.headers)
        #: What the app sent, to tell which headers the filter touched.
        self.original_headers = start.headers.copy()
        self.media_type, params = content_type
        self.declared = params.get("charset")
        self.codings = content_codings
        if content_codings:
            body = codings.decode(body, self.codings, flt.max_buffer_size)
        try:
            self.format: Format | None = flt.format_for(self.media_type)
        except LookupError as exc:
            raise FilterError(str(exc)) from None
        self.charset: Charset | None = None
        if self.format is not None:
            if not body:
                raise NothingToParse
            self.data, self.charset = self.format.parse(body, self.declared, self.media_type)
        elif flt.decode_unicode:
            self.data, self.charset = charsets.decode(body, self.declared, self.media_type, flt.unicode_errors)
        else:
            self.data = body

    def encode(self, result: Any) -> tuple[bytes, Charset | None]:
        """The body for the filter's ``result``, content-coded like the original,
        and the charset to declare for it (None: leave Content-Type alone)."""
        body, charset = self._serialize(result)
        if self.codings:
            body = codings.encode(body, self.codings)
        return body, charset

    def _serialize(self, result: Any) -> tuple[bytes, Charset | None]:
        if type(result) is bytes:
            return result, None
        if isinstance(result, (bytearray, memoryview)):
            return bytes(result), None
        if self.format is not None:
            return self.format.serialize(result, self.charset, self.media_type, self.filter.output_encoding)
        if isinstance(result, str):
            return self._encode_text(result)
        if isinstance(result, Iterable) and not isinstance(result, (dict, set)):
            return self._serialize_chunks(result)
        raise FilterError(f"{self.filter.name}.filter() returned {type(result).__name__}; expected bytes or str")

    def _encode_text(self, text: str) -> tuple[bytes, Charset]:
        charset = self.charset
        if charset is None and self.declared:
            charset = Charset(charsets.lookup(self.declared), "header", self.declared)
        return charsets.encode(text, charset, self.filter.output_encoding)

    def _serialize_chunks(self, chunks: Iterable[Any]) -> tuple[bytes, Charset | None]:
        items = list(chunks)
        if all(type(item) is bytes for item in items):
            return b"".join(items), None
        if all(isinstance(item, str) for item in items):
            return self._encode_text("".join(items))
        kinds = sorted({type(item).__name__ for item in items})
        raise FilterError(f"{self.filter.name}.filter() returned chunks of {', '.join(kinds)}; expected all bytes or all str")
