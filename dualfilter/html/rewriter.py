"""``Rewriter``: a streaming filter that edits HTML through handlers on CSS selectors."""

from __future__ import annotations

import codecs
import inspect
import logging
import os
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any, TypeVar

from .. import charsets
from ..decision import page_type
from ..errors import FilterError
from ..filter import Filter
from ..headers import Headers
from ..mediatypes import format_content_type, parse_content_type
from . import engine
from .nodes import GONE, Document, Element, Replacement, Text
from .worker import Lease

log = logging.getLogger("dualfilter")

F = TypeVar("F", bound=Callable[..., Any])

#: Where a handler's selectors are kept on the function.
_MARK = "__dualfilter_on__"


class _On:
    """``@on(selector)`` marks an element handler, ``@on.text(selector)`` a text handler."""

    def __call__(self, selector: str) -> Callable[[F], F]:
        """Call the method with each element ``selector`` matches: ``method(self, element, environ)``."""
        return self._mark("element", selector)

    def text(self, selector: str) -> Callable[[F], F]:
        """Call the method with each whole text node inside an element ``selector``
        matches, descendants included: ``method(self, text, environ)``."""
        return self._mark("text", selector)

    @staticmethod
    def _mark(kind: str, selector: str) -> Callable[[F], F]:
        if not isinstance(selector, str) or not selector.strip():
            raise ValueError(f"a selector must be a non-empty string, not {selector!r}")

        def mark(method: F) -> F:
            marks = getattr(method, _MARK, ())
            setattr(method, _MARK, (*marks, (kind, selector)))
            return method

        return mark


on = _On()


class OversizeError(FilterError):
    """What a streaming filter must hold grew past ``max_buffer_size``: a text node a
    text handler needs, or the page after the place ``Inject`` may put its snippet."""


def outgrown(flt: Filter, held: str, outcome: str) -> None:
    """What a stream of ``flt`` holds (``held``, say "a text node") grew past its
    ``max_buffer_size``: OversizeError under ``oversize='error'``, else a warning
    that the stream lets it go (``outcome``) and goes on."""
    if flt.oversize == "error":
        raise OversizeError(f"{held} is longer than max_buffer_size ({flt.max_buffer_size})")
    log.warning("%s: %s is longer than max_buffer_size (%d); %s", flt.name, held, flt.max_buffer_size, outcome)


class Rewriter(Filter):
    """Edit HTML as it streams through: handlers on CSS selectors, the rest untouched.

    Subclass it and mark methods with ``@on(selector)`` (``method(self, element,
    environ)``) or ``@on.text(selector)`` (``method(self, text, environ)``, a
    whole text node); define ``end(self, document, environ)`` to add to the end
    of the document. Output leaves as input arrives; markup no handler changes
    comes out byte for byte. Needs the ``dualfilter[html]`` extra.
    """

    filter_content_types = ("text/html", "application/xhtml+xml")

    #: (kind, selector, function) for every handler, in the order they run.
    _handlers: tuple[tuple[str, str, Callable[..., Any]], ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        found: dict[str, tuple[tuple[str, str, Callable[..., Any]], ...]] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                marks = getattr(value, _MARK, None)
                if marks is not None:  # (re)defined with @on: runs after what is found so far
                    found.pop(name, None)
                    found[name] = tuple((kind, selector, value) for kind, selector in marks)
                elif name in found:  # overridden without @on: no longer a handler
                    del found[name]
        cls._handlers = tuple(handler for handlers in found.values() for handler in handlers)

    def _configure(self) -> None:
        engine.require()
        super()._configure()
        if self.decode_unicode or self.format is not None or self.format_output is not None:
            raise ValueError("a Rewriter reads bytes: decode_unicode, format and format_output do not apply")
        if codecs.lookup(self.output_encoding).name != "utf-8":
            raise ValueError(
                f"output_encoding={self.output_encoding!r}: a Rewriter writes what its page's charset cannot hold as UTF-8"
            )
        for name, method in [*((method.__name__, method) for _, _, method in self._handlers), ("end", type(self).end)]:
            if inspect.iscoroutinefunction(method):
                raise TypeError(f"{type(self).__name__}.{name}: a Rewriter's handlers run as the page streams, not async def")
        # A wrong selector fails now, not on the first response, naming the handler.
        for _, selector, method in self._handlers:
            try:
                engine.build(lambda data: None, [(selector, _Probe())], None)
            except Exception as exc:  # the binding's own error, by its message
                name = f"{type(self).__name__}.{method.__name__}"
                raise ValueError(f"{name}: the engine cannot match the selector {selector!r}: {exc}") from None

    def end(self, document: Document, environ: Mapping[str, Any]) -> None:
        """Called at the end of each document; ``document.append`` adds to it."""

    def stream(self, environ: Mapping[str, Any], headers: Headers) -> RewriteStream:
        """The response's body, rewritten chunk by chunk."""
        return RewriteStream(self, environ, headers, post=self._post_process(environ))

    def _post_process(self, environ: Mapping[str, Any]) -> Any:
        """For built-in filters: an object whose ``feed(data)`` / ``finish(data)`` see the
        engine's output (UTF-8) before it is encoded back, or None. Its ``codec`` is set
        to the page's codec once the stream knows it (what it holds is measured in it)."""
        return None

    def _inserts(self) -> str:
        """For built-in filters: text every response may have inserted, known before the
        page is read; a streamed page whose charset cannot hold it leaves as UTF-8 from
        its first byte (later, only character references could stand for it)."""
        return ""

    def _comment_marks(self, environ: Mapping[str, Any]) -> tuple[str, str] | None:
        """For built-in filters: HTML the engine puts before and after every comment
        of the page (so its output shows where comments are), or None."""
        return None

    def filter(self, environ: Mapping[str, Any], headers: Headers, data: bytes) -> bytes:
        """The whole body rewritten at once (compressed responses come this way).

        A page in another charset than UTF-8 stays in it when it can hold what
        the handlers inserted; else it leaves as UTF-8, and the Content-Type
        says so."""
        stream = RewriteStream(self, environ, headers, whole=True, post=self._post_process(environ))
        out = stream.feed(data) + stream.finish()
        if stream.switched_to_utf8:
            value = headers.get("content-type") or ""
            media_type, params = parse_content_type(value)
            headers["Content-Type"] = format_content_type(media_type, {**params, "charset": "utf-8"})
        return out


class _Probe:
    def element(self, raw: Any) -> None:
        pass


# -- one response ------------------------------------------------------------------


class _Run:
    """A response's state as the engine's hooks see it: it holds no engine object,
    so the engine, its hooks and this never form a cycle."""

    __slots__ = (
        "rewriter", "environ", "out", "error", "marks", "pieces", "size", "passing", "text_handlers", "limit",
        "codec", "replacement",
    )  # fmt: skip

    def __init__(self, rewriter: Rewriter, environ: Mapping[str, Any]) -> None:
        self.rewriter = rewriter
        self.environ = environ
        self.out = bytearray()
        #: The first exception a handler raised (the engine reports only its text).
        self.error: BaseException | None = None
        self.marks: list[int] = []
        self.pieces: list[str] = []
        self.size = 0
        self.passing = False
        self.text_handlers: list[Callable[..., Any]] = []
        self.limit = rewriter.max_buffer_size
        #: The page's charset: a held text node is measured in its bytes, as the body is.
        self.codec = "utf-8"
        self.replacement = Replacement()

    def failed(self, exc: BaseException) -> None:
        if self.error is None:
            self.error = exc

    def text_chunk(self, raw: Any) -> None:
        """A piece of text inside an element a text handler's selector matches: held
        until its node is whole. The first ``_TextHook`` the chunk reaches does the
        work and clears ``marks``; the others find it done."""
        marks = self.marks
        if not marks:
            return
        self.marks = []
        last = raw.last_in_text_node
        if self.passing:  # an oversize node goes through as it is
            self.passing = not last
            return
        text = raw.text
        if not last:
            self.pieces.append(text)
            self.size += len(text.encode(self.codec, "replace"))
            if self.size > self.limit:
                self._oversize(raw)
            else:
                raw.remove()
            return
        held, self.pieces, self.size = self.pieces, [], 0
        whole = "".join(held) + text if held else text
        if not whole:
            return
        node = Text(raw, whole)
        handlers = self.text_handlers
        rewriter, environ = self.rewriter, self.environ
        try:
            for index in dict.fromkeys(marks):
                handlers[index](rewriter, node, environ)
        finally:
            node._raw = GONE
        if held and not node._changed:
            raw.replace(whole, engine.kind(True))

    def _oversize(self, raw: Any) -> None:
        outgrown(self.rewriter, "a text node", "it goes out unfiltered")
        raw.replace("".join(self.pieces), engine.kind(True))
        self.pieces, self.size, self.passing = [], 0, True


class _ElementHook:
    """Calls one element handler; ``last`` when no other handler can follow it on an
    element, so it writes what ``replace`` gave itself (else ``_Flush`` does)."""

    __slots__ = ("run", "method", "last")

    def __init__(self, run: _Run, method: Callable[..., Any], last: bool) -> None:
        self.run = run
        self.method = method
        self.last = last

    def element(self, raw: Any) -> None:
        run = self.run
        node = Element(raw, run.replacement, run.codec)
        try:
            self.method(run.rewriter, node, run.environ)
        except BaseException as exc:
            run.failed(exc)
            raise
        finally:
            node._raw = GONE  # what the handler kept (or its error holds) lets go of the engine's object
        if self.last:
            run.replacement.flush(raw)


class _Flush:
    """Registered after the element hooks, on all their selectors: the last hook on
    every element a handler saw, it writes what ``replace`` gave in the element's place."""

    __slots__ = ("replacement",)

    def __init__(self, replacement: Replacement) -> None:
        self.replacement = replacement

    def element(self, raw: Any) -> None:
        self.replacement.flush(raw)


class _TextMark:
    """Notes that a chunk is inside an element a text handler's selector matches;
    a ``_TextHook``, which the engine calls after all of these, does the work."""

    __slots__ = ("run", "index")

    def __init__(self, run: _Run, index: int) -> None:
        self.run = run
        self.index = index

    def text(self, raw: Any) -> None:
        self.run.marks.append(self.index)


class _TextHook:
    """Registered after the ``_TextMark`` hooks, one for each text selector (not for
    the whole document, so the engine decodes only the text handlers read: bytes
    that are not valid UTF-8 elsewhere go through as they are): hands the chunk
    to the run, once however many of these it reaches."""

    __slots__ = ("run",)

    def __init__(self, run: _Run) -> None:
        self.run = run

    def text(self, raw: Any) -> None:
        try:
            self.run.text_chunk(raw)
        except BaseException as exc:
            self.run.failed(exc)
            raise


class _DocumentEnd:
    """The document's end: calls the rewriter's ``end``."""

    __slots__ = ("run",)

    def __init__(self, run: _Run) -> None:
        self.run = run

    def end(self, raw: Any) -> None:
        run = self.run
        document = Document(raw)
        try:
            run.rewriter.end(document, run.environ)
        except BaseException as exc:
            run.failed(exc)
            raise
        finally:
            document._raw = GONE


class _MarkedComments(_DocumentEnd):
    """The end, and every comment, which gets the rewriter's comment marks around it
    (a comment hook leaves the comment's own bytes as they are)."""

    __slots__ = ("marks",)

    def __init__(self, run: _Run, marks: tuple[str, str]) -> None:
        super().__init__(run)
        self.marks = marks

    def comments(self, raw: Any) -> None:
        raw.before(self.marks[0], engine.kind(True))
        raw.after(self.marks[1], engine.kind(True))


#: Where this package's frames come from: those of them an error holds may hold the engine's objects.
_HERE = os.path.dirname(os.path.abspath(__file__)) + os.sep


def _clear_frames(exc: BaseException) -> None:
    """Drop the local variables of this package's finished frames that ``exc`` holds, and
    the exceptions it chains (a hook's ``raw``, a node method's), up to the frames that
    called them. The handlers' own frames keep theirs, for an error report to show: the
    nodes they hold let go of the engine's objects as each handler returns (``GONE``),
    and a suspended generator's frame is not cleared (that would close it)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        tb = current.__traceback__
        while tb is not None:
            frame: FrameType | None = tb.tb_frame
            while frame is not None:
                if frame.f_code.co_filename.startswith(_HERE):
                    try:
                        frame.clear()
                    except RuntimeError:  # still running: this one and its callers stay
                        break
                frame = frame.f_back
            tb = tb.tb_next
        pending += [current.__context__, current.__cause__]


def _open_engine(run: _Run) -> engine.Rewriter:
    """The engine for one response, its hooks in handler order."""
    hooks: list[tuple[str, Any]] = []
    selectors = [selector for kind, selector, _ in run.rewriter._handlers if kind == "element"]
    text_selectors = [selector for kind, selector, _ in run.rewriter._handlers if kind == "text"]
    for kind, selector, method in run.rewriter._handlers:
        if kind == "element":
            hooks.append((selector, _ElementHook(run, method, last=len(selectors) == 1)))
        else:
            hooks.append((selector, _TextMark(run, len(run.text_handlers))))
            run.text_handlers.append(method)
    if len(selectors) > 1:  # one flush a selector (a later one on the same element finds nothing to write)
        flush = _Flush(run.replacement)
        hooks += [(selector, flush) for selector in dict.fromkeys(selectors)]
    if text_selectors:  # after every mark, so the first one a chunk reaches sees them all
        text = _TextHook(run)
        hooks += [(selector, text) for selector in dict.fromkeys(text_selectors)]
    marks = run.rewriter._comment_marks(run.environ)
    document = _DocumentEnd(run) if marks is None else _MarkedComments(run, marks)
    return engine.build(run.out.extend, hooks, document)


class _Engine:
    """The engine of one response and the run it reports to; lives on the leased thread."""

    __slots__ = ("run", "rewriter")

    def __init__(self, run: _Run) -> None:
        self.run = run
        self.rewriter: engine.Rewriter | None = None

    def write(self, data: bytes, final: bool) -> bytes:
        run = self.run
        if self.rewriter is None:
            self.rewriter = _open_engine(run)
        failure: BaseException | None = None
        try:
            if data:
                self.rewriter.write(data)
            if final:
                self.rewriter.end()
        except engine.EngineError as exc:
            failure = run.error or exc
            run.error = None
        finally:
            if final or failure is not None:
                self.rewriter = None  # a finished or failed engine is freed here, on its thread
        if failure is not None:
            # The traceback's frames hold the engine's objects: clear them here, so
            # none is freed on the thread that receives the error.
            _clear_frames(failure)
            try:
                raise failure
            finally:
                del failure  # this frame goes into its traceback: it must not hold it back
        out = bytes(run.out)
        run.out.clear()
        return out

    def close(self) -> None:
        self.rewriter = None


def _fits(text: str, codec: str) -> bool:
    """Whether ``codec`` can write all of ``text``."""
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def _unfinished_declaration(head: bytes) -> bool:
    """Whether ``head``, an XML page's first bytes, may be an XML declaration not yet whole."""
    start = head[:5]
    return b"<?xml".startswith(start) and b"?>" not in head and len(head) < charsets.SNIFF_BYTES


class RewriteStream:
    """One response's body through the engine: ``feed`` chunks, then ``finish``.

    The charset comes from the Content-Type, else a byte order mark or a
    ``<meta>`` in the first 1024 bytes (held until then), else UTF-8 when
    the bytes held are valid UTF-8, else windows-1252 as browsers read it
    (the page stays undeclared, as ``charsets.decode`` reads it). UTF-8 goes
    to the engine as it is; another charset is decoded, and the output
    encoded back in it (an iso-8859-1 or us-ascii label in windows-1252, as
    browsers read it). When the first output holds a character inserted that
    the charset cannot hold, the output leaves as UTF-8 (``charset`` names it,
    for the held start); such characters inserted later, once output is out in
    the page's charset, are written as character references (``&#8594;``).
    With ``whole`` (the buffered path) such output leaves as UTF-8 whenever it
    comes (``switched_to_utf8``), and under those labels so does output their
    strict reading cannot hold, unless the page itself has bytes only
    windows-1252 reads.
    """

    def __init__(
        self, rewriter: Rewriter, environ: Mapping[str, Any], headers: Headers, *, whole: bool = False, post: Any = None
    ) -> None:
        self.rewriter = rewriter
        self._post = post
        self.whole = whole
        self.switched_to_utf8 = False
        #: The charset the output is in when it is not the page's (the machine reads it
        #: as it releases the held start: the Content-Type then names it).
        self.charset: charsets.Charset | None = None
        self._out_started = False
        self._media_type, params = page_type(rewriter, headers.list)  # of several types, the one filtered
        self._declared = params.get("charset")
        self._head = b""
        self._decided = False
        self._decoder: codecs.IncrementalDecoder | None = None
        self._codec = "utf-8"
        #: The page's label is one of the "replacement" encoding's: its output is never relabelled.
        self._neutralized = False
        #: Buffered under an iso-8859-1 or us-ascii label, while the page fits the
        #: label's strict reading: the codec of that reading, for the output.
        self._strict: str | None = None
        self._out_decoder: codecs.IncrementalDecoder | None = None
        self._encoder: codecs.IncrementalEncoder | None = None
        self._text_out: list[str] = []
        self._engine: _Engine | None = _Engine(_Run(rewriter, environ))
        self._lease: Lease | None = None

    # -- charset ---------------------------------------------------------------

    def read_as(self, charset: charsets.Charset) -> None:
        """The page is in ``charset`` (a chain's stage before switched to it), if none of it was read yet."""
        if not self._decided and not self._head:
            self._declared = charset.header_name

    def _decide(self, final: bool) -> bool:
        """Pick the charset once enough of the body is here; False to keep holding."""
        head = self._head
        declared = self._declared
        if declared:
            try:
                charsets.lookup(declared)
            except FilterError:
                declared = None  # an unknown label is ignored, as browsers do
        if declared is None and len(head) < charsets.SNIFF_BYTES and not final:
            return False
        if declared is not None and len(head) < 3 and not final:
            return False  # the byte order mark decides between UTF-8 with and without it
        if not final and charsets.is_xml(self._media_type or "") and _unfinished_declaration(head):
            return False  # whole in the first output, which may have to name UTF-8 (_declaring_utf8)
        # Undeclared: UTF-8 if the first 1024 bytes are (streamed, so that how the app
        # chunked the page cannot change it; a whole page is read whole).
        sniffed = head if self.whole else head[: charsets.SNIFF_BYTES]
        ends = final and len(sniffed) == len(head)
        try:
            # Undeclared and not UTF-8: windows-1252, as charsets.decode reads such a
            # body; the page stays undeclared, its output goes back in windows-1252.
            found = charsets.fallback(charsets.detect(head, declared, self._media_type or "text/html"), sniffed, ends)
            codec, self._neutralized = found.codec, charsets.neutralized(found)
        except FilterError:
            codec = "utf-8"
        codec = charsets.byte_order(codec, head)
        # An iso-8859-1 or us-ascii label is windows-1252 to browsers: read and
        # written back in it, the bytes 0x80-0xFF the page holds stay as they are.
        # Buffered, the label's strict reading is kept for the output while the
        # page fits it, as charsets.encode keeps it (see _from_engine).
        wide = charsets.STREAM_CODEC.get(codec, codec)
        self._strict = codec if wide != codec and self.whole else None
        codec = self._codec = wide
        measure = "utf-8" if codec == "utf-8-sig" else codec
        if self._engine is not None:
            self._engine.run.codec = measure
        if self._post is not None:
            self._post.codec = measure
        if codec not in ("utf-8", "utf-8-sig"):
            errors = self.rewriter.unicode_errors
            self._decoder = codecs.getincrementaldecoder(codec)(errors)
            self._out_decoder = codecs.getincrementaldecoder("utf-8")()
            if self.whole:
                pass
            elif self._neutralized or _fits(self.rewriter._inserts(), codec):
                self._encoder = codecs.getincrementalencoder(codec)("xmlcharrefreplace")
            else:  # what will be inserted is known, and the start is still held
                self._leave_as_utf8()
        self._decided = True
        return True

    def _leave_as_utf8(self) -> None:
        """The output goes out as UTF-8, which ``charset`` names for the held start."""
        self._encoder = codecs.getincrementalencoder("utf-8")()
        self.charset = self._utf8()
        self.switched_to_utf8 = True

    def _to_engine(self, data: bytes, final: bool) -> bytes:
        if self._decoder is None:
            return data
        text = self._decoder.decode(data, final)
        if self._strict is not None:
            try:
                text.encode(self._strict)
            except UnicodeEncodeError:  # the page needs windows-1252 itself: its output stays in it
                self._strict = None
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates: the bytes unicode_errors='surrogateescape' kept, which the engine
            # cannot read (UTF-8 has none); as U+FFFD, what a browser shows for them.
            return charsets.without_surrogates(text).encode("utf-8")

    def _from_engine(self, data: bytes, final: bool) -> bytes:
        if self._out_decoder is None:
            return data
        text = self._out_decoder.decode(data, final)
        if self._encoder is not None:
            if not self._out_started and text:
                self._out_started = True
                if not self.switched_to_utf8 and not self._neutralized and not _fits(text, self._codec):
                    self._leave_as_utf8()  # the start is still held: the page can leave as UTF-8, and say so
                if self.switched_to_utf8:
                    text = self._declaring_utf8(text)
            return self._encoder.encode(text, final)
        self._text_out.append(text)  # whole: encoded at the end, in one charset
        if not final:
            return b""
        text = "".join(self._text_out)
        self._text_out = []
        try:
            return text.encode(self._strict or self._codec)
        except UnicodeEncodeError:
            if self._neutralized:  # never relabelled (charsets.neutralized)
                return text.encode(self._codec, "xmlcharrefreplace")
            self.switched_to_utf8 = True
            return self._declaring_utf8(text).encode("utf-8")

    def _declaring_utf8(self, text: str) -> str:
        """The output's start ``text``, leaving as UTF-8: an XML page's declaration, if
        it names an encoding, names UTF-8 (as ``charsets.encode`` has it for a page whose
        charset cannot hold the filtered text)."""
        if not charsets.is_xml(self._media_type or ""):
            return text
        return charsets.xml_declaring(text, self._utf8())

    def _utf8(self) -> charsets.Charset:
        """UTF-8, the charset the output leaves in when the page's own cannot hold it."""
        return charsets.Charset("utf-8", "output", "utf-8", self._media_type)

    # -- the engine --------------------------------------------------------------

    def _run(self, data: bytes, final: bool) -> bytes:
        eng = self._engine
        if eng is None:
            raise RuntimeError("this stream is finished")
        if not engine.THREAD_BOUND:
            return eng.write(data, final)
        lease = self._lease
        if lease is None:
            lease = self._lease = Lease()
        try:
            return lease.call(eng.write, data, final)
        except BaseException:
            self._close()
            raise
        finally:
            if final:
                self._close()

    def _close(self) -> None:
        eng, self._engine = self._engine, None
        lease, self._lease = self._lease, None
        if lease is not None and eng is not None:
            lease.release(eng.close)  # the engine is freed on its own thread
        elif lease is not None:
            lease.release()

    def feed(self, data: bytes) -> bytes:
        """The output for the next chunk of the body."""
        if not self._decided:
            self._head += data
            if not self._decide(False):
                return b""
            data, self._head = self._head, b""
        if not data:
            return b""
        out = self._run(self._to_engine(data, False), False)
        if self._post is not None:
            out = self._post_call(self._post.feed, out)
        return self._from_engine(out, False)

    def finish(self) -> bytes:
        """The rest of the output, the document's end included."""
        data = b""
        if not self._decided:
            self._decide(True)
            data, self._head = self._head, b""
        out = self._run(self._to_engine(data, True), True)
        if self._post is not None:
            out = self._post_call(self._post.finish, out)
        return self._from_engine(out, True)

    def _post_call(self, method: Callable[[bytes], bytes], out: bytes) -> bytes:
        """``method(out)``; when it fails, the engine is freed at once (on its thread),
        not when the stream is collected: the error may keep the stream alive."""
        try:
            return method(out)
        except BaseException:
            self._close()
            raise

    def close(self) -> None:
        """The response was dropped before its end (the client went away): the engine is
        freed now, on its own thread, and its thread goes back to the pool."""
        self._close()

    def __del__(self) -> None:
        # A response dropped before its end (the client went away) still frees
        # its engine on the engine's thread; release() never waits.
        if getattr(self, "_lease", None) is not None:
            self._close()
