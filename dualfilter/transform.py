"""One filtering of a buffered response: decode the body, hand it over, encode the result.

Decoding undoes the Content-Encoding, then gives the filter bytes, text
(``decode_unicode``) or the parsed object of its format; encoding reverses each
step and reports the charset the new body is in. In a chain, a stage's input
comes from the previous stage's :class:`~dualfilter.payload.Payload`
(``handed``) and its result stays one (``settle``), serialized only when the
next stage needs another kind.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import charsets, codings
from .charsets import Charset
from .errors import FilterError
from .events import HeaderList, ResponseStart
from .headers import Headers, get_header
from .mediatypes import parse_content_type
from .payload import Payload
from .responses import fixed_headers

if TYPE_CHECKING:
    from .filter import Filter
    from .formats import Format


class NothingToParse(Exception):
    """An empty body for a format filter: there is no document to hand over."""


def _format_for(flt: Filter, media_type: str) -> Format | None:
    """``flt.format_for``, its LookupError made the FilterError that gives a 500."""
    try:
        return flt.format_for(media_type)
    except LookupError as exc:
        raise FilterError(str(exc)) from None


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
        self.format: Format | None = _format_for(flt, self.media_type)
        self._decode(body)

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
        if type(result) is Payload:
            return result.serialize()
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
        return charsets.encode(text, self._text_charset(), self.filter.output_encoding)

    def _text_charset(self) -> Charset | None:
        """The charset text output is written in when it can hold it."""
        charset = self.charset
        if charset is None and self.declared:
            charset = Charset(charsets.lookup(self.declared), "header", self.declared)
        return charset

    def _serialize_chunks(self, chunks: Iterable[Any]) -> tuple[bytes, Charset | None]:
        items = list(chunks)
        if all(type(item) is bytes for item in items):
            return b"".join(items), None
        if all(isinstance(item, str) for item in items):
            return self._encode_text("".join(items))
        kinds = sorted({type(item).__name__ for item in items})
        raise FilterError(f"{self.filter.name}.filter() returned chunks of {', '.join(kinds)}; expected all bytes or all str")

    # -- stages of a chain -----------------------------------------------------------

    @classmethod
    def handed(cls, flt: Filter, headers: HeaderList, payload: Payload) -> Transform:
        """``flt``'s view of a body an earlier stage left as ``payload`` (content
        codings already undone): taken as it is when ``flt`` wants that kind,
        else serialized and decoded as a response carrying it would be."""
        self = cls.__new__(cls)
        self.filter = flt
        self.codings = []
        content_type = get_header(headers, "content-type")
        self.media_type, params = parse_content_type(content_type) if content_type else ("", {})
        self.declared = params.get("charset")
        self.format = _format_for(flt, self.media_type)
        wanted: Any = self.format or ("text" if flt.decode_unicode else "bytes")
        if flt._stages:
            self.data, self.charset = payload, None  # a chain hands it to its stages as it is
        elif payload.kind == wanted:
            self.data, self.charset = payload.value, payload.charset
        else:
            body, charset = payload.serialize()
            if charset is not None:
                # What a response carrying these bytes would declare.
                headers = fixed_headers(headers, headers, None, charset)
                self.declared = charset.header_name
            self._decode(body)
        self.headers = Headers(headers)
        self.original_headers = headers.copy()
        return self

    def _decode(self, body: bytes) -> None:
        """Give the filter ``body`` parsed, decoded or as it is, by its options."""
        flt = self.filter
        self.charset: Charset | None = None
        if self.format is not None:
            if not body:
                raise NothingToParse
            self.data, self.charset = self.format.parse(body, self.declared, self.media_type)
        elif flt.decode_unicode:
            self.data, self.charset = charsets.decode(body, self.declared, self.media_type, flt.unicode_errors)
        else:
            self.data = body

    def settle(self, result: Any) -> Payload:
        """The filter's ``result`` as a Payload for the next stage, not serialized;
        FilterError if it is not a kind this filter may return."""
        flt = self.filter
        if type(result) is bytes:
            return Payload(result, producer=flt)
        if type(result) is Payload:
            return result
        if isinstance(result, (bytearray, memoryview)):
            return Payload(bytes(result), producer=flt)
        fmt = self.format
        if fmt is not None:
            if not fmt.accepts(result):
                raise FilterError(f"{flt.name}.filter() returned {type(result).__name__}, which format {fmt.name} cannot write")
            return Payload(result, fmt, self.charset, self.media_type, flt.output_encoding, flt)
        if isinstance(result, str):
            return Payload(result, None, self._text_charset(), self.media_type, flt.output_encoding, flt)
        if isinstance(result, Iterable) and not isinstance(result, (dict, set)):
            items = list(result)
            if all(type(item) is bytes for item in items):
                return Payload(b"".join(items), producer=flt)
            if all(isinstance(item, str) for item in items):
                return Payload("".join(items), None, self._text_charset(), self.media_type, flt.output_encoding, flt)
            kinds = sorted({type(item).__name__ for item in items})
            raise FilterError(f"{flt.name}.filter() returned chunks of {', '.join(kinds)}; expected all bytes or all str")
        raise FilterError(f"{flt.name}.filter() returned {type(result).__name__}; expected bytes or str")
