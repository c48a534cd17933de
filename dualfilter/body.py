"""A response body in flight between filters: one value, converted only when needed.

A :class:`BodyValue` holds the body as bytes, text, or a format's object (an
lxml tree, JSON data). Each filter of a chain — a plain filter is a chain of
one — gets its :func:`view` of it (taken as it is when the filter wants that
kind, else serialized and decoded as a response carrying it would be), and
its result is :func:`settle`-d back into a BodyValue. Consecutive stages of
one format so share one parse and one serialization; ``serialize`` writes the
final body.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import charsets, codings
from .charsets import Charset
from .codings import TooLarge
from .decision import page_type
from .errors import FilterError
from .headers import Headers
from .mediatypes import parse_content_type
from .responses import fixed_headers

if TYPE_CHECKING:
    from .filter import Filter
    from .formats import Format

_NO_PARAMS: Mapping[str, str] = MappingProxyType({})


class NothingToParse(Exception):
    """An empty body for a format filter: there is no document to hand over."""


class BodyValue:
    """A body as bytes, ``str`` or the object of ``format``, and how to write it back.

    ``charset`` is the charset text or a format's object is written in when it
    can hold it (else ``output_encoding``); for bytes it is the charset the
    Content-Type should declare, or None to leave the header as it is.
    ``producer`` is the filter whose result this is, to blame if writing fails.
    ``codings`` are content codings still applied to bytes (the app's body
    before the first view undoes them, bounded by ``limit``).
    """

    __slots__ = ("value", "format", "charset", "media_type", "output_encoding", "producer", "codings", "limit")

    def __init__(
        self,
        value: Any,
        format: Format | None = None,
        charset: Charset | None = None,
        media_type: str = "",
        output_encoding: str = "utf-8",
        producer: Filter | None = None,
        codings: tuple[str, ...] = (),
        limit: int = 0,
    ) -> None:
        self.value = value
        self.format = format
        self.charset = charset
        self.media_type = media_type
        self.output_encoding = output_encoding
        self.producer = producer
        self.codings = codings
        self.limit = limit

    @property
    def kind(self) -> Format | str:
        """``'bytes'``, ``'text'`` or the Format whose object this holds."""
        if self.format is not None:
            return self.format
        return "text" if type(self.value) is str else "bytes"

    def serialize(self) -> tuple[bytes, Charset | None]:
        """The body as bytes, and the charset to declare for it (None: leave the header)."""
        value = self.value
        if self.format is not None:
            written = self.format.serialize(value, self.charset, self.media_type, self.output_encoding)
            if type(written) is not tuple or len(written) != 2 or type(written[0]) is not bytes:
                kind = type(written[0] if type(written) is tuple and written else written).__name__
                raise FilterError(f"format {self.format.name}'s serialize() gave {kind}; expected (bytes, Charset or None)")
            return written
        if type(value) is str:
            return charsets.encode(value, self.charset, self.output_encoding)
        if self.codings:
            return codings.decode(value, list(self.codings), self.limit), self.charset
        return value, self.charset

    def __repr__(self) -> str:
        kind = self.kind
        return f"<BodyValue {kind if isinstance(kind, str) else kind.name} from {self.producer!r}>"


class View:
    """One filter's view of a body: what ``filter()`` gets as ``data``, and what
    its result is written back with."""

    __slots__ = ("data", "format", "charset", "media_type", "declared")

    def __init__(self, data: Any, format: Format | None, charset: Charset | None, media_type: str, declared: str | None):
        self.data = data
        self.format = format
        self.charset = charset
        self.media_type = media_type
        self.declared = declared

    def text_charset(self, headers: Headers | None = None) -> Charset | None:
        """The charset text output is written in when it can hold it: the one the
        filter's ``headers`` now declare, if it changed the Content-Type charset (the
        bytes must be what the header says), else the one the body was read in."""
        if headers is not None:
            header = headers.get("Content-Type")
            label = parse_content_type(header)[1].get("charset") if header else None
            if label and (self.declared or "").strip().lower() != label.strip().lower():
                try:
                    return Charset(charsets.lookup(label), "header", label.strip(), self.media_type)
                except FilterError:
                    pass  # a label nobody knows: the body's own charset
        charset = self.charset
        if charset is None and self.declared:
            charset = Charset(charsets.lookup(self.declared), "header", self.declared)
        return charset


class Unwritable(Exception):
    """The stage before could not write its result for the next stage to read:
    that stage (``producer``) failed, with ``error``."""

    def __init__(self, producer: Filter | None, error: Exception) -> None:
        super().__init__(producer, error)
        self.producer = producer
        self.error = error


def format_for(flt: Filter, media_type: str) -> Format | None:
    """``flt.format_for``, its LookupError made the FilterError that gives a 500."""
    try:
        return flt.format_for(media_type)
    except LookupError as exc:
        raise FilterError(str(exc)) from None


def view(value: BodyValue, flt: Filter, headers: Headers, content_type: tuple[str, Mapping[str, str]] | None = None) -> View:
    """``flt``'s view of ``value`` for a response with ``headers`` (which get the
    charset the bytes now declare, if serializing changed it). ``content_type``
    is the response's parsed Content-Type when the caller knows it already."""
    if content_type is None:
        content_type = page_type(flt, headers.list)  # of several types, the one filtered
    media_type, params = content_type
    declared = params.get("charset")
    if flt._plain_bytes and type(value.value) is bytes and not value.codings:
        return View(value.value, None, value.charset, media_type, declared)  # bytes as they are: nothing to read
    fmt = format_for(flt, media_type)
    wanted: Any = fmt or ("text" if flt.decode_unicode else "bytes")
    if value.kind == wanted and not value.codings:
        return View(value.value, fmt, value.charset, media_type, declared)
    try:
        body, charset = value.serialize()
    except TooLarge:
        raise
    except Exception as exc:
        raise Unwritable(value.producer, exc) from exc
    if charset is not None:
        # What a response carrying these bytes would declare.
        headers.list[:] = fixed_headers(headers.list, headers.list, None, charset)
        declared = charset.header_name
    if fmt is not None:
        if not body:
            raise NothingToParse
        data, charset = _parsed(fmt, body, declared, media_type, flt.unicode_errors)
    elif flt.decode_unicode:
        data, charset = charsets.decode(body, declared, media_type, flt.unicode_errors)
    else:
        data, charset = body, None
    return View(data, fmt, charset, media_type, declared)


def _parsed(fmt: Format, body: bytes, declared: str | None, media_type: str, errors: str) -> tuple[Any, Charset | None]:
    """``fmt``'s parse of ``body``, given ``errors`` (the filter's ``unicode_errors``) when its
    ``parse`` takes them: a format written without them reads strictly, as it always did."""
    if errors != "strict" and _takes_errors(type(fmt).parse):
        return fmt.parse(body, declared, media_type, errors=errors)
    return fmt.parse(body, declared, media_type)


@functools.lru_cache(maxsize=64)
def _takes_errors(parse: Callable[..., Any]) -> bool:
    """Whether a format's ``parse`` takes an ``errors`` argument."""
    return any(p.name == "errors" or p.kind is p.VAR_KEYWORD for p in inspect.signature(parse).parameters.values())


def settle(flt: Filter, seen: View, result: Any, headers: Headers | None = None) -> BodyValue:
    """``flt``'s ``result`` for the body it saw as ``seen``, as a BodyValue for the
    next stage (not serialized); FilterError if it is not a kind ``flt`` may return."""
    if type(result) is bytes:
        return BodyValue(result, producer=flt)
    if type(result) is BodyValue:
        return result
    if isinstance(result, (bytes, bytearray, memoryview)):  # a subclass of bytes too
        return BodyValue(bytes(result), producer=flt)
    fmt = seen.format
    if fmt is not None:
        if not fmt.accepts(result):
            kind, expects = type(result).__name__, fmt.expects
            raise FilterError(f"{flt.name}.filter() returned {kind}, which format {fmt.name} cannot write (expected {expects})")
        charset = seen.text_charset(headers) if headers is not None else seen.charset  # a charset the filter declared
        return BodyValue(result, fmt, charset, seen.media_type, flt.output_encoding, flt)
    if isinstance(result, str):  # a subclass (markupsafe's Markup) as the plain text it holds
        text = result if type(result) is str else str.__str__(result)
        return BodyValue(text, None, seen.text_charset(headers), seen.media_type, flt.output_encoding, flt)
    if isinstance(result, Iterable) and not isinstance(result, (dict, set)):
        items = list(result)
        if all(type(item) is bytes for item in items):
            return BodyValue(b"".join(items), producer=flt)
        if all(isinstance(item, str) for item in items):
            return BodyValue("".join(items), None, seen.text_charset(headers), seen.media_type, flt.output_encoding, flt)
        kinds = sorted({type(item).__name__ for item in items})
        raise FilterError(f"{flt.name}.filter() returned chunks of {', '.join(kinds)}; expected all bytes or all str")
    raise FilterError(f"{flt.name}.filter() returned {type(result).__name__}; expected bytes or str")
