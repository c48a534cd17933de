"""Streaming filters: a body filtered chunk by chunk, in constant memory.

A filter that defines ``stream(environ, headers)`` returns a :class:`Stream`
for each response it filters: ``feed(chunk)`` gives the output for a chunk as
soon as it can, ``finish()`` the rest. The response machine sends the start at
once (no Content-Length) and each chunk's output as it comes. With
``decode_unicode`` the stream sees ``str``: the body is decoded and its output
encoded incrementally, in the charset the Content-Type declares.
"""

from __future__ import annotations

import codecs
import inspect
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from . import charsets
from .charsets import Charset
from .decision import page_type, wants
from .errors import FilterError
from .headers import Headers
from .responses import fixed_headers

if TYPE_CHECKING:
    from .filter import Filter


@runtime_checkable
class Stream(Protocol):
    """What ``Filter.stream()`` returns: a filter for one response's body, chunk by chunk.

    Both methods take and give ``bytes``, or ``str`` under ``decode_unicode``;
    an empty result means "nothing yet". The output for any way of cutting the
    body into chunks must be the same: hold back what a later chunk may change.

    Optional, read by the core: ``charset`` (a
    :class:`~dualfilter.charsets.Charset`), the charset the output is in when it
    is not the response's own, read when the stream opens and again as its
    first output byte releases the held start, so the Content-Type names it;
    ``read_as(charset)``, which a chain calls before a stage has read a
    byte when a stage before it switched its output to ``charset``; and
    ``close()``, called when the response is dropped before its end (the client
    went away), so the stream lets go of what it holds at once.
    """

    def feed(self, data: Any, /) -> Any:
        """The output for the next chunk of the body (its parameter may have any name)."""
        ...

    def finish(self) -> Any:
        """The rest of the output, at the end of the body."""
        ...


def run_whole(stream: Stream, data: Any) -> Any:
    """A stream's output for a whole body at once: the buffered form of a streaming filter."""
    head = stream.feed(data) if data else data[:0]
    tail = stream.finish()
    return head + tail if head else tail


def open_stream(flt: Filter, environ: Mapping[str, Any], headers: Headers) -> Stream | None:
    """``flt``'s stream for this response, taking and giving bytes, or None to
    buffer it instead (``stream()`` declined, or text whose charset the
    Content-Type does not declare: only the whole body could tell it).

    An event stream (``text/event-stream``) is UTF-8 whatever its header says,
    and streams with no charset declared: it may never end. So is JSON unless
    a byte order mark names another charset (RFC 8259); a charset its header
    declares is then named UTF-8, as the ``json`` format names it."""
    if not flt.decode_unicode:
        return flt.stream(environ, headers)
    media_type, params = page_type(flt, headers.list)  # of several types, the one filtered
    declared = params.get("charset")
    if media_type == "text/event-stream" or charsets.is_json(media_type):
        charset: Charset | None = None  # UTF-8 whatever the header says (HTML's event streams; RFC 8259)
    else:
        if not declared:
            return None
        charset = Charset(charsets.lookup(declared), "header", declared.strip(), media_type)
        if not _streamable(charset.codec):
            return None
    inner = flt.stream(environ, headers)
    if inner is None:
        return None
    return TextStream(inner, charset, flt.unicode_errors, media_type, relabel=bool(declared) and charsets.is_json(media_type))


def _streamable(codec: str) -> bool:
    """Whether text in ``codec`` can be read and written back chunk by chunk, each
    chunk's bytes as they came: not Python's ``utf-8-sig`` (a label browsers lack,
    whose codec writes a byte order mark of its own), nor a codec that shifts
    modes (``iso-2022-*`` and ``hz``, whose bytes for a text depend on the mode before
    it). Such text is filtered whole."""
    name = codecs.lookup(codec).name
    return name != "utf-8-sig" and "iso2022" not in name and name != "hz"


class TextStream:
    """A ``str`` stream behind a bytes one: decodes each chunk and encodes the
    output incrementally, so a character split across chunks comes out whole.

    The first bytes are held until they show whether the body starts with a
    byte order mark (those ``charsets.bom`` reads for ``media_type``); one that
    does is read in the charset the mark names, whatever the header says (as
    browsers read it), and the mark is written back. The text is read and
    written in the codec a browser decodes the declared label with, and the
    Content-Type is left as it is. With ``charset`` None the body is an event
    stream or JSON: UTF-8 without a mark, and for JSON a charset the header
    declares (``relabel``) is then named UTF-8.
    Output equal to the text a chunk decoded to goes out as the very bytes it
    came from (under ``unicode_errors='replace'`` a byte that was not in the
    charset stays as it was); other output the charset cannot hold is replaced.
    """

    __slots__ = (
        "inner",
        "charset",
        "errors",
        "media_type",
        "_relabel",
        "_codec",
        "_decoder",
        "_encoder",
        "_head",
        "_mark",
        "_raw",
        "_carry",
    )

    def __init__(
        self, inner: Stream, charset: Charset | None, errors: str = "strict", media_type: str = "", relabel: bool = False
    ) -> None:
        self.inner = inner
        #: The charset the Content-Type declares (None: it is left as it is).
        self.charset = charset
        self.errors = errors
        self.media_type = media_type
        self._relabel = relabel  # JSON whose header names a charset: named UTF-8 when no mark says otherwise
        self._codec = charset.codec if charset is not None else "utf-8"
        self._decoder: codecs.IncrementalDecoder | None = None
        self._encoder: codecs.IncrementalEncoder | None = None
        self._head = b""
        self._mark = b""  # a byte order mark still to be written back
        self._raw = b""  # the bytes the text last decoded came from (empty: not known)
        self._carry = b""  # bytes read that decoded to no text (unicode_errors='ignore'): they go with the next

    def read_as(self, charset: Charset) -> None:
        """The body is in ``charset`` (the stage before switched to it), if none of it was read yet."""
        if self._decoder is None and not self._head:
            self.charset, self._codec = charset, charset.codec

    def _decode(self, data: bytes, final: bool = False) -> str:
        if self._decoder is None:
            head = self._head = self._head + data
            if not final and charsets.may_be_bom(head, self.media_type):
                return ""
            data, self._head = head, b""
            marked = charsets.bom(data, self.media_type)
            codec = marked or charsets.byte_order(self._codec, data)
            if marked:
                self._mark = data[: len(charsets.BOM_OF[marked])]
                data = data[len(self._mark) :]
            elif self._relabel:
                self.charset = Charset("utf-8", "default", "", self.media_type)  # named as the held start goes out
            self._decoder = codecs.getincrementaldecoder(codec)(self.errors)
            encoding = charsets.STREAM_CODEC.get(codec, codec)
            errors = self.errors if self.errors in ("strict", "surrogateescape") else "replace"  # the byte it kept goes back
            self._encoder = codecs.getincrementalencoder(encoding)(errors)
        decoder = self._decoder
        held = decoder.getstate()[0]
        text = decoder.decode(data, final)
        raw = held + data
        still = decoder.getstate()[0]
        read = raw[: len(raw) - len(still)] if still else raw
        if text:
            self._raw, self._carry = self._carry + read, b""
        else:
            self._raw, self._carry = b"", self._carry + read
        return text

    def _encode(self, text: str, final: bool = False, decoded: str | None = None) -> bytes:
        assert self._encoder is not None
        if decoded is not None and text == decoded and self._raw and not final:
            out = self._raw  # the text as it came: its own bytes
        else:
            out = self._encoder.encode(text, final) if text or final else b""
        if self._mark and (out or final):
            out, self._mark = self._mark + out, b""
        return out

    def feed(self, data: bytes) -> bytes:
        """Decode ``data``, filter what is complete, encode the output."""
        text = self._decode(data)
        out = _text(self.inner.feed(text), "feed") if text else ""
        return self._encode(out, decoded=text) if out else b""

    def close(self) -> None:
        """The response was dropped before its end: the text stream is told so, if it can be."""
        close = getattr(self.inner, "close", None)
        if close is not None:
            close()

    def finish(self) -> bytes:
        """The end of the body: the decoder's and the filter's last output."""
        text = self._decode(b"", final=True)
        out = _text(self.inner.feed(text), "feed") if text else ""
        if out and out == text and self._raw:
            return self._encode(out, decoded=text) + self._encode(_text(self.inner.finish(), "finish"), final=True)
        out += _text(self.inner.finish(), "finish")
        if not out and self._carry:  # the last bytes decoded to nothing, and nothing was added: as they came
            carry, self._carry = self._carry, b""
            return self._encode(out, final=True) + carry
        return self._encode(out, final=True)


def _text(out: Any, method: str) -> str:
    """A text stream's output: ``str``, else the filter's error (never an empty page for a mistake)."""
    if type(out) is str:
        return out
    if isinstance(out, str):
        return str.__str__(out)  # a subclass (markupsafe's Markup) as the plain text it holds
    kind = "a coroutine (feed and finish are plain functions)" if inspect.isawaitable(out) else type(out).__name__
    if inspect.iscoroutine(out):
        out.close()
    raise FilterError(f"a stream's {method}() returned {kind}; expected str under decode_unicode")


class StageFailed(Exception):
    """A stage of a chain raised while its stream was opened; its exception is the cause."""

    def __init__(self, stage: Filter) -> None:
        super().__init__(stage.name)
        self.stage = stage


def open_streams(chain: Filter, environ: Mapping[str, Any], status: int, headers: Headers) -> Stream | None:
    """One stream through every stage of ``chain`` that wants this response, or
    None to buffer it: when one of them cannot stream it, the whole chain buffers.

    Each stage decides on the headers the streams before it left; ``headers``
    gets the final ones only when the chain streams.
    """
    current = list(headers.list)
    streams: list[tuple[Filter, Stream]] = []
    refused = chain._refused_stages(environ) if chain.asks_requests else frozenset()
    # A stage that wants the response and cannot stream it makes the chain buffer: known before
    # any stream() is called (each is called once a response; the buffered run calls it itself).
    for stage in chain._stages:
        try:
            if not stage.is_streaming and id(stage) not in refused and wants(stage, environ, status, current):
                return None
        except Exception as exc:
            raise StageFailed(stage) from exc
    for stage in chain._stages[::-1]:
        try:
            if id(stage) in refused or not wants(stage, environ, status, current):
                continue
            if not stage.is_streaming:
                return None
            stage_headers = Headers(list(current))
            stream = stage._open_stream(environ, status, stage_headers)
            if stream is None:
                return None
            current = fixed_headers(stage_headers.list, current, None, getattr(stream, "charset", None))
        except Exception as exc:
            raise StageFailed(stage) from exc
        streams.append((stage, stream))
    if not streams:
        return None
    headers.list[:] = current
    return ChainStream(streams)


class ChainStream:
    """Several stages' streams, each one's output the next one's input.

    A stage whose output leaves in another charset than its page's (a rewriter
    whose first output holds what the page's charset cannot) names it before
    the next stage has read a byte: the next stages read it in that charset,
    as nested middlewares read the Content-Type the inner one sent."""

    __slots__ = ("streams", "failed", "_charset")

    def __init__(self, streams: list[tuple[Filter, Stream]]) -> None:
        self.streams = streams
        #: The stage whose stream raised, if one did.
        self.failed: Filter | None = None
        self._charset: Charset | None = None  # the last charset handed on

    @property
    def charset(self) -> Charset | None:
        """The charset the output is in when a stage changed it, if one did."""
        return getattr(self.streams[-1][1], "charset", None) or self._charset

    def _hand_on(self, index: int, stream: Stream) -> None:
        """Tell the stages after ``index`` the charset ``stream`` switched its output to, if it did."""
        charset = getattr(stream, "charset", None)
        if charset is None or charset.source != "output" or charset is self._charset:
            return  # no switch: the output is in the charset its headers name
        self._charset = charset
        for _, later in self.streams[index + 1 :]:
            read_as = getattr(later, "read_as", None)
            if read_as is not None:
                read_as(charset)

    def feed(self, data: bytes) -> bytes:
        """Each stream's output for this chunk, fed to the next."""
        for index, (stage, stream) in enumerate(self.streams):
            if not data:
                return b""
            try:
                data = stream.feed(data)
            except Exception:
                self.failed = stage
                raise
            if data:
                self._hand_on(index, stream)
        return data

    def close(self) -> None:
        """The response was dropped before its end: each stream that can be told so is."""
        for _, stream in self.streams:
            close = getattr(stream, "close", None)
            if close is not None:
                close()

    def finish(self) -> bytes:
        """Finish each stream in turn, feeding its last output to the next."""
        data = b""
        for index, (stage, stream) in enumerate(self.streams):
            try:
                head = stream.feed(data) if data else b""
                data = head + stream.finish()
            except Exception:
                self.failed = stage
                raise
            if data:
                self._hand_on(index, stream)
        return data
