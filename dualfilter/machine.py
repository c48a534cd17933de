"""The sans-IO response machine: one per response, on every host (a host
forwards a response the decision leaves untouched without one).

Hosts feed it events — ``start``, ``body``, ``end`` — and send on the events
it returns. It decides once, at the start (``dualfilter.decision``), what the
response gets: a passthrough response goes on as it came (a ``PASSTHROUGH``
event says the host may stop feeding it); a filtered one is held until the
end, then goes to the filters, and leaves as one start, one body, one end with
headers made true to the new body (a range of it when one was asked); a
streaming filter's response leaves with the stream's first output byte, then
chunk by chunk. A 206, 304 or 416 that may stand for a filtered page cannot
reach the client: the machine answers ``REDISPATCH``, and a host that can asks
the app again for the full response (``dualfilter.request_policy``).

The machine never runs user code, never awaits, never starts a thread: where
the filter's code must run it returns a ``FilterCall`` as the last event, and
the host's driver (``dualfilter.drivers``) runs it and hands the result back
through ``filtered()`` — or the exception through ``failed()``. States and
their transitions are in ``dualfilter.state``.
"""

from __future__ import annotations

import functools
import logging
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import charsets, codings, multipart, ranges, responses, validators
from .body import BodyValue, NothingToParse, Unwritable, View, settle, view
from .charsets import Charset
from .codings import TooLarge
from .decision import Decision, decide, untyped_partial, wants
from .errors import FilterError, ProtocolError, StreamError
from .events import PASSTHROUGH, REDISPATCH, Body, End, Event, FilterCall, HeaderList, ResponseStart, make
from .headers import Headers, check_headers, get_header, without
from .http1 import content_length
from .request_policy import RequestPolicy
from .state import NEXT, READS_BODY, State, transition
from .streaming import StageFailed

if TYPE_CHECKING:
    from .filter import Filter
    from .streaming import Stream

log = logging.getLogger("dualfilter")

_START, _PASSTHROUGH, _BUFFERING, _OPENING, _FILTERING = (
    State.START,
    State.PASSTHROUGH,
    State.BUFFERING,
    State.OPENING,
    State.FILTERING,
)
_HOLDING, _HOLDING_FEED, _HOLDING_FINISH = State.HOLDING, State.HOLDING_FEED, State.HOLDING_FINISH
_STREAMING, _FEEDING, _FINISHING = State.STREAMING, State.FEEDING, State.FINISHING
_BODILESS, _ANSWERED, _DONE, _FAILED = State.BODILESS, State.ANSWERED, State.DONE, State.FAILED
_REDISPATCHING, _PEEKING = State.REDISPATCHING, State.PEEKING
#: The end of a response without trailers (events are immutable: one serves every response).
_END = End()
#: The fields that frame a body, which a response with no content cannot keep.
_FRAMING = frozenset({"content-length", "transfer-encoding"})
#: What a 304 confirming a filtered page keeps of the app's: RFC 9110 section 15.4.5's
#: fields (the ETag is the derived one) and the cookies it sets.
_NOT_MODIFIED_FIELDS = frozenset({"cache-control", "content-location", "date", "expires", "vary", "set-cookie"})
#: Fields of a multipart 206 that describe it, not its page (whose type its first part names).
_PART_BOUND = frozenset({"content-type", "content-length", "content-range"})
#: States in which a FilterCall is out.
_PENDING = frozenset({_OPENING, _FILTERING, _HOLDING_FEED, _HOLDING_FINISH, _FEEDING, _FINISHING})


def _declared_length(headers: HeaderList) -> int | None:
    """The length the app's Content-Length states for a body it frames by length (none with
    a Transfer-Encoding, which overrides it: RFC 9112 section 6.3); one that is no length
    is the app's error (ProtocolError)."""
    value = None
    for name, field in headers:
        lowered = name.lower()
        if lowered == "content-length":
            value = field if value is None else f"{value}, {field}"
        elif lowered == "transfer-encoding":
            return None
    if value is None:
        return None
    if value.isdigit() and value.isascii():  # the usual one plain number, read directly
        return int(value)
    try:
        return content_length([("Content-Length", value)])
    except ValueError as exc:
        raise ProtocolError(f"the app's Content-Length is not a length: {exc}") from None


def _detached(exc: BaseException) -> BaseException:
    """``exc``, kept as the response's error without keeping the response alive:
    a traceback's frames hold the driver's and the host's frames through their
    callers, and those hold this machine, the request and the body. So ``exc``
    and the exceptions chained to it keep no traceback; the one it was raised
    with stays as text, a note printed with it (``__notes__``, PEP 678)."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)).rstrip("\n")
    notes = getattr(exc, "__notes__", None)
    try:
        exc.__notes__ = [*(notes if isinstance(notes, list) else []), f"-- raised as:\n{text}"]  # type: ignore[attr-defined]
    except AttributeError:  # an exception type that takes no attributes: the log has the traceback
        pass
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        chained = pending.pop()
        if chained is not None and id(chained) not in seen:
            seen.add(id(chained))
            chained.__traceback__ = None
            pending += (chained.__cause__, chained.__context__)
    return exc


class ResponseMachine:
    """Decides, buffers or streams, and fixes up one response for one filter."""

    # Per-response values start as these class defaults, so making a machine
    # (once per request, filtered or not) sets only what differs.
    #: What ``decide`` said at the start, once there was one.
    decision: Decision | None = None
    #: The exception that made the response fail, if one did (for logs and tests).
    error: BaseException | None = None
    #: True once the response is the machine's own answer in the app's place (an error page,
    #: a 412): nothing of the app's goes with it, its cookies included.
    own_answer = False
    _start: ResponseStart | None = None
    _size = 0
    _declared: int | None = None  # the length the app's Content-Length states, of a body read to filter it
    _trailers: HeaderList | None = None
    _stream: Stream | None = None
    _stream_headers: Headers | None = None
    _held_start: ResponseStart | None = None  # a stream's start, until its first output byte
    _held_charset: Charset | None = None  # the charset the stream named when its start was held
    _answer: ResponseStart | None = None  # the app's 304 or 416, while it is asked again (REDISPATCHING)
    _peek_asks = True  # PEEKING: a first part of a filtered type is asked again (else: the 502)
    # A filtered body on its way through the stages (state FILTERING).
    _value: BodyValue | None = None
    _headers: HeaderList = []  # the headers as the stages so far left them; never mutated
    _index = 0
    _stage: Filter | None = None
    _seen: View | None = None
    _raw: bytes | None = None  # the body a plain bytes filter got as it came
    _stage_headers: Headers | None = None
    _changed = False  # whether any stage filtered the body

    def __init__(self, flt: Filter, environ: Mapping[str, Any], can_redispatch: bool = False) -> None:
        self.filter = flt
        self.environ = environ
        #: Whether the host can ask the app again for this request (see ``REDISPATCH``);
        #: the machine asks it only when that could change the answer (``RequestPolicy.may_redispatch``).
        self.can_redispatch = can_redispatch
        self.state = _START
        self._chunks: list[bytes] = []

    def _to(self, cause: str) -> None:
        # The table's answer; transition() raises the ProtocolError for a pair it lacks.
        try:
            self.state = NEXT[self.state][cause]
        except KeyError:
            transition(self.state, cause)

    # -- events in ---------------------------------------------------------------

    def start(
        self,
        status: int | str,
        headers: HeaderList,
        reason: str = "",
        *,
        restart: bool = False,
        decision: Decision | None = None,
    ) -> list[Event]:
        """The response's status and headers (a WSGI status string is parsed).
        ``restart`` replaces an earlier start (WSGI's ``exc_info``); ``decision``
        is what ``decide`` said of this start, when the host asked it already."""
        if restart and self.state is _REDISPATCHING:
            return []  # a restart of the answer being dropped (WSGI exc_info): the app is asked again all the same
        if self.state is not _START and self.state is not _REDISPATCHING:
            if not restart:
                raise ProtocolError("response already started")
            self._to("restart")
            self._chunks, self._size, self._stream, self._start = [], 0, None, None
        if type(status) is str:
            code, _, reason = status.partition(" ")
            status = int(code)
        elif not isinstance(status, int):
            raise TypeError(f"a response status is an int or a status line str, not {type(status).__name__}")
        environ = self.environ
        flt = self.filter
        if decision is None:
            decision = decide(flt, environ.get("REQUEST_METHOD", "GET"), status, headers, environ)
        self.decision = decision
        action = decision.action
        if action == "fail":
            assert decision.error is not None
            self._to("failed")
            return self._fail(decision.error)
        if action == "redispatch":
            typed = not untyped_partial(flt, status, decision, environ, headers)
            can_ask = self.can_redispatch and self.state is _START and typed and RequestPolicy.may_redispatch(environ)
            if status == 304 and validators.confirms(environ.get("HTTP_IF_NONE_MATCH"), flt.etag_token):
                # A 304 to "*" naming no type may be of a page not filtered at all, whose own 304
                # then stands, its tag included: asked again, which tells (see below). Else the
                # client holds the filtered page, or asked for any.
                if not (can_ask and not decision.media_type and validators.is_any(environ.get("HTTP_IF_NONE_MATCH"))):
                    return self._confirm(headers, reason, "bodiless")
            if (
                status == 206
                and (can_ask or typed and environ.get("HTTP_RANGE"))
                and decision.media_type == "multipart/byteranges"
                and decision.params.get("boundary")
                and not codings.parse(get_header(headers, "content-encoding"))  # coded: cannot be read here
                and get_header(headers, "transfer-encoding") is None  # framed by the app (an ISAPI extension): neither
                and environ.get("REQUEST_METHOD", "GET") != "HEAD"  # no body to read: asked again, as the GET is
            ):
                # The parts name the page's type: read on to the first part's header (then
                # asked again, or, where it cannot be, answered as a single range is).
                self._start = make(ResponseStart, (status, headers, reason))
                self._peek_asks = can_ask
                self._to("peek")
                return []
            if can_ask:
                self._answer = self._held_answer(status, headers, reason)
                self._to("redispatch")
                return [REDISPATCH]
            if status == 416:
                # Not to be asked again: a 416 is then a page of that status like any other,
                # filtered when its type and status are (filter_all_status).
                decision = self.decision = decide(
                    flt, environ.get("REQUEST_METHOD", "GET"), status, headers, environ, plainly=True
                )
                action = decision.action
            elif (
                status == 206
                and environ.get("HTTP_RANGE")
                and decision.media_type != "multipart/byteranges"  # its parts' types are not known here
                and not untyped_partial(flt, status, decision, environ, headers)
            ):
                # A range the client asked for, of what may be a filtered page, and the app cannot
                # be asked again (an unsafe method, whose Range RFC 9110 section 14.2 has it ignore;
                # a host that cannot ask twice): never passed on, so never a part of the unfiltered page.
                return self._unaskable_range()
            else:  # a 206 or 304 nobody asked for, or an untyped 206: as it came
                action = "bodiless" if status == 304 or environ.get("REQUEST_METHOD", "GET") == "HEAD" else "pass"
        elif self._answer is not None:
            answer, self._answer = self._answer, None
            if not decision.wanted:
                # Asked again after a 304 or 416 for a page that is not filtered after all: that
                # answer stands, whole (it has no body), whatever becomes of the second call.
                self._to("answer_stands")
                return [answer, _END]
            if answer.status == 304 and validators.confirms(environ.get("HTTP_IF_NONE_MATCH"), flt.etag_token):
                # A 304 to "*" of a page that is filtered: it exists, so it is confirmed, for the filtered page.
                return self._confirm(answer.headers, answer.reason, "answer_stands")
        if action == "pass":
            if decision.codings:
                log.warning("%s: not filtering %s: %s", flt.name, self._path(), decision.reason)
            self._to("pass")
            return [make(ResponseStart, (status, headers, reason)), PASSTHROUGH]
        if decision.wanted and status < 300 and environ.get("HTTP_IF_MATCH") and RequestPolicy.if_match_fails(environ):
            # A filtered page has no strong tag, so If-Match is false (RFC 9110 section 13.2.2, step 1).
            return self._precondition_failed()
        if action == "precondition":  # the app's own 412, whose body may be the page
            return self._precondition_failed()
        if action == "bodiless":
            # No body may follow; one the app sends anyway is dropped. For a HEAD of a
            # filtered type, what the app says of its length and validators would not
            # describe the filtered GET, so it stays behind.
            self._to("bodiless")
            if status < 200 or status == 204 or status == 205:
                # No content, so no framing of any: a 205 says its content is empty
                # (RFC 9110 section 15.3.6); a 1xx or 204 has no Content-Length at all (8.6).
                kept = without(headers, _FRAMING)
                return [ResponseStart(status, [*kept, ("Content-Length", "0")] if status == 205 else kept, reason)]
            if not decision.wanted:
                return [ResponseStart(status, headers, reason)]
            kept = without(headers, responses.BODY_BOUND) + responses.trailer_field(headers)  # as the filtered GET has them
            return [ResponseStart(status, self._derive_etag(kept, headers), reason)]
        self._start = make(ResponseStart, (status, headers, reason))
        self._declared = _declared_length(headers)
        if action == "stream":
            self._to("open")
            stream_headers = self._stream_headers = Headers(headers.copy())
            return [make(FilterCall, (flt, flt._open_stream, (environ, status, stream_headers), None, False))]
        self._to("buffer")
        return []

    def body(self, data: bytes) -> list[Event]:
        """One body chunk (bytes; a bytearray or memoryview is taken as its bytes)."""
        if type(data) is not bytes:
            if not isinstance(data, (bytearray, memoryview)):
                raise TypeError(f"a response body chunk is bytes, not {type(data).__name__}")
            data = bytes(data)
        state = self.state
        if state is _BUFFERING:
            if data:
                self._chunks.append(data)
                size = self._size = self._size + len(data)
                if self._declared is not None and size > self._declared:
                    raise self._misframed()
                if size > self.filter.max_buffer_size:
                    return self._oversize()
            return []
        if state is _PASSTHROUGH:
            return [make(Body, (data,))] if data else []
        if state is _PEEKING:
            if data:
                self._chunks.append(data)
                self._size += len(data)
            return self._peeked(ended=False)
        if state is _STREAMING or state is _HOLDING:
            if not data:
                return []
            if self._declared is not None:
                self._size += len(data)
                if self._size > self._declared:
                    raise self._misframed()
            self._to("feed")
            assert self._stream is not None
            # A chunk of at least thread_threshold bytes is big work: an async host runs it in a thread.
            threshold = self.filter.thread_threshold
            offload = threshold is not None and len(data) >= threshold
            return [make(FilterCall, (self.filter, self._stream.feed, (data,), None, offload))]
        if state is _BODILESS or state is _ANSWERED or state is _REDISPATCHING:
            return []
        raise self._misuse("response body")

    def end(self, trailers: HeaderList | None = None) -> list[Event]:
        """The end of the response, with its trailers if it has a trailer section."""
        state = self.state
        if state is _PASSTHROUGH or state is _BODILESS:
            self._to("end")
            if trailers is not None and state is _BODILESS and self.decision is not None and self.decision.wanted:
                trailers = responses.fixed_trailers(trailers)  # a HEAD drops what its filtered GET drops
            return [_END if trailers is None else make(End, (trailers,))]
        if self._declared is not None and self._size < self._declared and state in READS_BODY:
            raise self._misframed()  # a body read to be filtered ended short of its Content-Length
        if state is _BUFFERING:
            self._to("end")
            self._trailers = trailers
            return self._begin_stages()
        if state is _STREAMING or state is _HOLDING:
            self._to("end")
            self._trailers = trailers
            assert self._stream is not None
            # The end has no chunk of its own: in a thread only when every chunk goes to one.
            threshold = self.filter.thread_threshold
            offload = threshold is not None and threshold <= 0
            return [make(FilterCall, (self.filter, self._stream.finish, (), None, offload))]
        if state is _PEEKING:
            self._trailers = trailers
            return self._peeked(ended=True)
        if state is _ANSWERED:
            self._to("end")
            return []
        if state is _REDISPATCHING:
            return []  # the end of the first answer: the second is on its way
        raise self._misuse("response end")

    # -- results of FilterCalls in -------------------------------------------------

    def filtered(self, result: Any) -> list[Event]:
        """What the last FilterCall's work gave."""
        state = self.state
        if state is _FILTERING:
            return self._took(result)
        if state is _OPENING:
            return self._opened(result)
        if state not in _PENDING:
            raise ProtocolError(f"filtered() with no FilterCall out (state {state.name})")
        # A stream's output for a chunk (FEEDING) or for the end (FINISHING),
        # with the start still held (HOLDING_*) when nothing went out yet.
        if type(result) is not bytes:
            if not isinstance(result, (bytearray, memoryview)):
                kind = type(result).__name__
                return self.failed(FilterError(f"a stream returned {kind}; expected bytes (or str under decode_unicode)"))
            result = bytes(result)
        if state is _FEEDING:
            self._to("fed")
            return [make(Body, (result,))] if result else []
        if state is _HOLDING_FEED:
            if not result:
                self._to("held")
                return []
            self._to("fed")
            return [self._release(), make(Body, (result,))]
        self._to("finished")  # FINISHING or HOLDING_FINISH
        events: list[Event] = [self._release()] if state is _HOLDING_FINISH else []
        self._stream = None
        end = _END if self._trailers is None else make(End, (responses.fixed_trailers(self._trailers),))
        return [*events, make(Body, (result,)), end] if result else [*events, end]

    def abandon(self) -> None:
        """The host drops the response before its end (the client went away, the server
        closed it): a stream still open is told so by its ``close()``, if it has one, so
        what it holds (a ``Rewriter``'s engine and thread) is let go at once, not when
        the garbage collector finds it."""
        stream, self._stream = self._stream, None
        close = getattr(stream, "close", None)
        if close is not None:
            close()

    def failed(self, exc: BaseException) -> list[Event]:
        """The last FilterCall's work raised ``exc``. Before the start went out
        the answer is a clean 500; after it, StreamError is raised and the host
        cuts the response short."""
        state = self.state
        if state is _FILTERING:
            stage = self._stage
            if isinstance(exc, NothingToParse):
                return self._next_stage()  # an empty document: the stage lets it pass, as it would alone
            if isinstance(exc, TooLarge):
                return self._oversize(ended=True)
            self._to("failed")
            if isinstance(exc, Unwritable):  # the stage before wrote what this one cannot be given
                return self._fail(exc.error, exc.producer)
            return self._fail(exc, stage)
        if state is _OPENING:
            self._to("failed")
            if isinstance(exc, StageFailed):  # a chain's stage raised as its stream was opened
                return self._fail(exc.__cause__ or exc, exc.stage)
            return self._fail(exc)
        if state is _HOLDING_FEED or state is _HOLDING_FINISH:
            # Nothing of the response went out yet: the clean 500 can replace it.
            self._to("failed")
            self._held_start = None
            return self._fail(exc, getattr(self._stream, "failed", None))
        if state is _FEEDING or state is _FINISHING:
            self._to("failed")
            name = self._name(getattr(self._stream, "failed", None))
            self._stream = None
            log.error("%s failed while streaming %s; the response is cut short", name, self._path(), exc_info=exc)
            self.error = _detached(exc)
            try:
                raise StreamError(f"{name} failed while streaming: {exc}") from exc
            finally:
                del exc  # this frame goes into the StreamError's traceback
        raise ProtocolError(f"failed() with no FilterCall out (state {state.name})")

    # -- buffered: the stages, innermost first --------------------------------------

    def _begin_stages(self) -> list[Event]:
        start = self._start
        assert start is not None and self.decision is not None
        chunks, self._chunks = self._chunks, []
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        decision = self.decision
        flt = self.filter
        if not flt._stages and flt._plain_bytes and not decision.codings:
            # The common case, directly: a plain bytes filter takes the body as it came.
            headers = self._stage_headers = Headers(list(start.headers))
            self._stage, self._index, self._raw = flt, 1, body
            return [make(FilterCall, (flt, flt.filter, (self.environ, headers, body), None, self._offload(flt)))]
        if not flt._stages and flt._plain_text and not decision.codings:
            # The next most common, as directly: a plain text filter takes the body decoded (by _decoded).
            self._stage_headers = Headers(list(start.headers))
            self._stage, self._index, self._raw = flt, 1, body
            return [make(FilterCall, (flt, flt.filter, (), self._decoded, self._offload(flt)))]
        if decision.codings:
            # Offloading goes by the body the filter gets: what it decodes to (unknown: the limit).
            size = codings.decoded_size(body, decision.codings)
            self._size = max(self._size, flt.max_buffer_size if size is None else size)
        self._value = BodyValue(body, codings=decision.codings, limit=flt.max_buffer_size)
        self._headers = start.headers
        return self._next_stage()

    def _next_stage(self) -> list[Event]:
        """The FilterCall of the next stage that filters this response, or the
        response itself when none is left."""
        flt = self.filter
        order = flt._run_order  # innermost (last named) first
        start = self._start
        assert start is not None
        refused = flt._refused_stages(self.environ) if flt.asks_requests else frozenset()
        while self._index < len(order):
            stage = order[self._index]
            self._index += 1
            if id(stage) in refused:
                continue
            if self._changed and self._outgrown():
                # A stage made more than max_buffer_size: the stages after it meet it as
                # nested middlewares would, with the oversize outcome.
                if flt.oversize != "pass":
                    return self._oversize(ended=True)
                log.warning(
                    "%s: %s grew past max_buffer_size=%d in %s; sent without the stages after it",
                    flt.name,
                    self._path(),
                    flt.max_buffer_size,
                    self._name(self._value.producer if self._value is not None else None),
                )
                break
            # A plain filter's decision was made at the start; a chain's stages
            # each decide on the response as the stages before them left it.
            try:
                if flt._stages and not wants(stage, self.environ, start.status, self._headers):
                    continue
            except Exception as exc:  # the stage's own should_filter()
                self._to("failed")
                return self._fail(exc, stage)
            headers = self._stage_headers = Headers(list(self._headers))
            self._stage = stage
            offload = self._offload(stage)
            # A plain filter reads the response's Content-Type as decided; a chain's
            # stages read it from the headers as the stages before left them.
            decision = self.decision
            content_type = None if flt._stages or decision is None else (decision.media_type, decision.params)
            value = self._value
            assert value is not None
            if stage._plain_bytes and type(value.value) is bytes and not value.codings:
                seen = self._seen = view(value, stage, headers, content_type)  # nothing to parse: done here
                return [FilterCall(stage, stage.filter, (self.environ, headers, seen.data), offload=offload)]
            prepare = functools.partial(self._prepare, stage, headers, content_type)
            return [FilterCall(stage, stage.filter, prepare=prepare, offload=offload)]
        self._stage = None
        return self._finish()

    def _outgrown(self) -> bool:
        """Whether the body a stage left (bytes or text, whose length in characters
        is the least it can take in bytes) is larger than ``max_buffer_size``."""
        value = self._value.value if self._value is not None else None
        return type(value) in (bytes, str) and len(value) > self.filter.max_buffer_size  # type: ignore[arg-type]

    def _offload(self, stage: Filter) -> bool:
        """Whether a stage's work is big and synchronous (an async host runs it in a thread)."""
        threshold = self.filter.thread_threshold
        return threshold is not None and self._size >= threshold and not stage.is_async

    def _prepare(self, stage: Filter, headers: Headers, content_type: tuple[str, Mapping[str, str]] | None) -> tuple[Any, ...]:
        """A stage's arguments (the driver asks, just before its ``filter()``): its view of the body."""
        assert self._value is not None
        seen = self._seen = view(self._value, stage, headers, content_type)
        return self.environ, headers, seen.data

    def _decoded(self) -> tuple[Any, ...]:
        """A plain text filter's arguments (the driver asks, just before its
        ``filter()``): the body as ``view`` decodes it for that filter."""
        decision, stage, raw = self.decision, self._stage, self._raw
        assert decision is not None and stage is not None and raw is not None
        declared = decision.params.get("charset")
        text, charset = charsets.decode(raw, declared, decision.media_type, stage.unicode_errors)
        self._seen = View(text, None, charset, decision.media_type, declared)
        self._raw = None  # the text stands for it from here (what the charset needs of it, it keeps)
        return self.environ, self._stage_headers, text

    def _took(self, result: Any) -> list[Event]:
        stage, seen, decision = self._stage, self._seen, self.decision
        assert stage is not None and decision is not None and self._stage_headers is not None
        chained = self.filter._stages
        stage_headers = self._stage_headers
        # What _edited_headers() says, inline: on every filtered response.
        edited = None if stage_headers._headers == (self._headers if chained else self._start.headers) else stage_headers  # type: ignore[union-attr]
        if edited is not None:
            try:  # before the headers are read: an entry that is no (name, value) pair is the filter's error
                check_headers(edited.list)
            except FilterError as exc:
                self._to("failed")
                return self._fail(exc, stage)
        # Directly out unless the page goes on coded (the app's coding, or one the filter named).
        direct = not chained and not decision.codings and (edited is None or get_header(edited.list, "content-encoding") is None)
        if direct and type(result) is bytes:
            self._value = self._seen = self._raw = None
            return self._respond(result, None, self._stage_headers._headers, stage)  # the common case, directly
        if direct and type(result) is str and seen is not None and seen.format is None:
            # A plain text filter's text, directly: what settle() then serialize() would write.
            self._value = self._seen = self._raw = None
            try:
                body, charset = charsets.encode(result, seen.text_charset(edited), stage.output_encoding)
            except Exception as exc:
                self._to("failed")
                return self._fail(exc, stage)
            return self._respond(body, charset, self._stage_headers._headers, stage)
        if seen is None:  # the body went to the filter as it came (_begin_stages)
            seen = View(self._raw, None, None, decision.media_type, decision.params.get("charset"))
            self._value = BodyValue(self._raw)
        try:
            self._value = settle(stage, seen, result, edited)
            headers = self._stage_headers.list
            self._headers = responses.fixed_headers(headers, self._headers, None, None) if chained else headers
        except Exception as exc:
            self._to("failed")
            return self._fail(exc, stage)
        self._changed = True
        self._seen = None
        if not chained:  # a plain filter is a chain of one: nothing is left to run
            return self._finish()
        self._to("next")
        return self._next_stage()

    def _edited_headers(self) -> Headers | None:
        """The headers the stage that just ran left, if it changed them (else None)."""
        headers, start = self._stage_headers, self._start
        assert headers is not None and start is not None
        baseline = self._headers if self.filter._stages else start.headers
        return None if headers._headers == baseline else headers

    def _finish(self) -> list[Event]:
        """The filtered response, or the app's own when no stage filtered it."""
        start = self._start
        value = self._value
        assert start is not None and value is not None and self.decision is not None
        self._value = None
        if not self._changed:
            self._to("finished")
            body = value.value
            return [start, Body(body), End(self._trailers)] if body else [start, End(self._trailers)]
        try:
            body, charset = value.serialize()
            # Coded as the headers the filters left say: as the app's (the usual case),
            # or as a filter changed, dropped or added the Content-Encoding.
            named = self._final_codings()
            if named:
                body = codings.encode(body, named)
        except Exception as exc:
            self._to("failed")
            return self._fail(exc, value.producer)
        return self._respond(body, charset, self._headers, value.producer)

    def _final_codings(self) -> list[str]:
        """The codings the filtered headers name; FilterError for one dualfilter cannot apply."""
        named = [coding for name, value in self._headers if name.lower() == "content-encoding" for coding in codings.parse(value)]
        unknown = [coding for coding in named if not codings.supported(coding)]
        if unknown:
            raise FilterError(f"the filtered headers name Content-Encoding {', '.join(unknown)}, which cannot be applied")
        return named

    def _respond(self, body: bytes, charset: Charset | None, headers: HeaderList, producer: Filter | None) -> list[Event]:
        """The filtered response: ``body`` with ``headers`` made true to it."""
        start = self._start
        assert start is not None
        trailers = self._trailers
        try:
            # With trailers the response goes out chunked: no Content-Length, its Trailer field kept.
            fixed = responses.fixed_headers(headers, start.headers, None if trailers else len(body), charset)
            if trailers:
                fixed += responses.trailer_field(start.headers)
            if self.filter.etag_token is not None:
                fixed = self._derive_etag(fixed, start.headers)
        except Exception as exc:
            self._to("failed")
            return self._fail(exc, producer)
        self._to("finished")
        status, reason = start.status, start.reason
        if status == 200 and not trailers and self.environ.get("HTTP_RANGE"):
            # The filtered body is whole here: a range of it is served when asked
            # (not announced: Accept-Ranges stays behind with the app's other validators).
            wanted = ranges.requested(self.environ, len(body))
            if wanted is not None:
                status, reason, fixed, body = self._partial(wanted, fixed, body)
        out = make(ResponseStart, (status, fixed, reason))
        end = _END if trailers is None else make(End, (responses.fixed_trailers(trailers),))
        return [out, make(Body, (body,)), end] if body else [out, end]

    @staticmethod
    def _partial(wanted: tuple[int, int] | str, headers: HeaderList, body: bytes) -> tuple[int, str, HeaderList, bytes]:
        """The 206 (or 416) for the range ``wanted`` of a filtered ``body``."""
        size = len(body)
        kept = [(name, value) for name, value in headers if name.lower() != "content-length"]
        if isinstance(wanted, str):  # ranges.UNSATISFIABLE
            return 416, "Range Not Satisfiable", [*kept, ("Content-Range", f"bytes */{size}"), ("Content-Length", "0")], b""
        first, last = wanted
        part = body[first : last + 1]
        headers = [*kept, ("Content-Range", ranges.content_range(first, last, size)), ("Content-Length", str(len(part)))]
        return 206, "Partial Content", headers, part

    # -- streamed ---------------------------------------------------------------------

    def _opened(self, stream: Stream | None) -> list[Event]:
        """The filter's stream, or None: it buffers this response after all."""
        start, headers = self._start, self._stream_headers
        assert start is not None and headers is not None
        self._stream_headers = None
        if stream is None:
            self._to("declined")
            return []
        try:
            if not (callable(getattr(stream, "feed", None)) and callable(getattr(stream, "finish", None))):
                kind = type(stream).__name__
                raise FilterError(f"stream() returned {kind}; expected an object with feed() and finish(), or None")
            if codings.parse(get_header(headers.list, "content-encoding")):
                raise FilterError("a streamed response cannot be given a Content-Encoding: dualfilter compresses no stream")
            fixed = responses.fixed_headers(headers.list, start.headers, None, getattr(stream, "charset", None))
            fixed += responses.trailer_field(start.headers)  # streamed: chunked, its trailers announced
            if self.filter.etag_token is not None:
                fixed = self._derive_etag(fixed, start.headers)
        except Exception as exc:
            self._to("failed")
            return self._fail(exc)
        self._to("opened")
        self._stream = stream
        self._held_start = make(ResponseStart, (start.status, fixed, start.reason))
        self._held_charset = getattr(stream, "charset", None)
        return []

    def _release(self) -> ResponseStart:
        """The held start of a streamed response, at its first output byte. A
        stream may name another charset by then (a rewriter whose insertions its
        page's charset cannot hold goes out as UTF-8): the Content-Type says so."""
        start, self._held_start = self._held_start, None
        assert start is not None
        charset = getattr(self._stream, "charset", None)
        if charset is not self._held_charset and charset is not None:
            start = ResponseStart(start.status, responses.with_charset(start.headers, charset), start.reason)
        return start

    def _unaskable_range(self) -> list[Event]:
        """The 502 for a 206 answering a Range of what may be a filtered page, which the
        app cannot be asked again for."""
        self.error = FilterError("a 206 answered a Range of what may be a filtered page, not to be asked again")
        log.error("%s: %s: %s; answered 502", self.filter.name, self._path(), self.error)
        self._to("failed")
        self.own_answer = True
        return responses.simple_response(502, "Bad Gateway", "The response was a range of a page to filter.", head=self._head())

    # -- a multipart/byteranges 206 ------------------------------------------------------

    def _peeked(self, ended: bool) -> list[Event]:
        """A multipart 206 read so far: asked again when its first part is of a
        type the filter would filter (the page's type), on as it came when not."""
        start = self._start
        assert start is not None and self.decision is not None
        body = b"".join(self._chunks)
        self._chunks = [body]
        content_type = multipart.first_part_type(body, self.decision.params["boundary"])
        if content_type is None and not ended and self._size < multipart.HEADER_LIMIT:
            return []  # the first part's header is still to come
        environ = self.environ
        if content_type is not None:
            # The page's headers as its 200 would have them: the 206's, with the part's type
            # (none: the page has none, and is not filtered).
            page = [(name, value) for name, value in start.headers if name.lower() not in _PART_BOUND]
            if content_type:
                page.append(("Content-Type", content_type))
            wanted = decide(self.filter, environ.get("REQUEST_METHOD", "GET"), 200, page, environ).wanted
        else:
            wanted = True  # no header within the limit, or none before the body ended: assume the worst
        self._chunks, self._size = [], 0
        if wanted and not self._peek_asks:
            return self._unaskable_range()
        if wanted:
            self._to("redispatch")
            return [REDISPATCH]
        self._to("pass")
        events: list[Event] = [start, Body(body)] if body else [start]
        if not ended:
            return [*events, PASSTHROUGH]
        self._to("end")
        return [*events, _END if self._trailers is None else make(End, (self._trailers,))]

    # -- answers of the machine's own ------------------------------------------------------

    def _precondition_failed(self) -> list[Event]:
        self._to("precondition_failed")
        self.own_answer = True
        return responses.simple_response(412, "Precondition Failed", "The page has changed.", head=self._head())

    def _oversize(self, ended: bool = False) -> list[Event]:
        """The response outgrew ``max_buffer_size``: pass it on or refuse it."""
        start = self._start
        assert start is not None
        flt = self.filter
        if flt.oversize == "pass":
            log.warning("%s: %s is larger than max_buffer_size=%d; sent unfiltered", flt.name, self._path(), flt.max_buffer_size)
            self._to("oversize_pass")
            value, self._value = self._value, None
            chunks = [value.value] if value is not None else self._chunks
            self._chunks = []
            events: list[Event] = [start, *(Body(chunk) for chunk in chunks if chunk)]
            return [*events, End(self._trailers)] if ended else [*events, PASSTHROUGH]
        self.error = FilterError(f"response larger than max_buffer_size={flt.max_buffer_size}")
        log.error("%s: %s is larger than max_buffer_size=%d; answered 502", flt.name, self._path(), flt.max_buffer_size)
        self._to("oversize_error")
        self.own_answer = True
        self._chunks = []
        self._value = None
        return responses.simple_response(502, "Bad Gateway", "The response was too large to filter.", head=self._head())

    def _fail(self, exc: BaseException, stage: Filter | None = None) -> list[Event]:
        self._chunks = []
        self._value = self._seen = self._raw = None
        name = self._name(stage)
        if isinstance(exc, FilterError):
            log.error("%s failed on %s: %s", name, self._path(), exc)
        else:
            log.error("%s raised on %s", name, self._path(), exc_info=exc)
        answer = responses.error_response(exc, self.filter.debug, head=self._head())
        self.error = _detached(exc)
        self.own_answer = True
        return answer

    # -- helpers -------------------------------------------------------------------------

    def _confirm(self, headers: HeaderList, reason: str, cause: str) -> list[Event]:
        """The app's 304 confirming the filtered page (:meth:`_confirmed`), reached by ``cause``:
        ``'bodiless'`` (the first answer) or ``'answer_stands'`` (the one held while the app was
        asked again, which ends the response). If-Match comes first (RFC 9110 section 13.2.2),
        false for a filtered page: the 412."""
        environ = self.environ
        if environ.get("HTTP_IF_MATCH") and RequestPolicy.if_match_fails(environ):
            return self._precondition_failed()
        self._to(cause)
        confirmed = self._confirmed(headers, reason)
        return [confirmed, _END] if cause == "answer_stands" else [confirmed]

    def _confirmed(self, headers: HeaderList, reason: str) -> ResponseStart:
        """The app's 304 (its ``headers``) confirming the filtered page the client holds (or
        any, to ``*``), with the derived tag, and nothing that describes the app's body or
        that the filter may have changed on it (a Content-Type, a CSP): a cache updates its
        stored headers from a 304 (RFC 9111 section 4.3.4), so only those RFC 9110 section
        15.4.5 lists go, and the app's cookies."""
        kept = [(name, value) for name, value in headers if name.lower() in _NOT_MODIFIED_FIELDS]
        etag = self._derive_etag(kept, headers)
        if etag is kept:  # the app's 304 names no tag: the one the client holds, which it stands for
            token = self.filter.etag_token
            assert token is not None  # confirms() holds only with one
            tag = validators.first_derived(self.environ.get("HTTP_IF_NONE_MATCH") or "", token)
            etag = [*kept, ("ETag", tag)] if tag else kept
        return ResponseStart(304, etag, reason)

    def _derive_etag(self, headers: HeaderList, original: HeaderList) -> HeaderList:
        """``headers`` plus the ETag derived from the app's, if it sent one (and the
        filter set none of its own for its body, which then stands)."""
        token = self.filter.etag_token
        if get_header(headers, "etag") is not None:
            return headers
        etag = get_header(original, "etag")
        derived = validators.derive(etag, token) if etag and token else None
        return [*headers, ("ETag", derived)] if derived else headers

    @staticmethod
    def _held_answer(status: int, headers: HeaderList, reason: str) -> ResponseStart | None:
        """The app's answer to keep while it is asked again, should its page turn out
        not to be filtered: a 304, or a 416 (which then goes out without its body)."""
        if status == 304:
            return make(ResponseStart, (status, headers, reason))
        if status == 416:
            kept = [(name, value) for name, value in headers if name.lower() not in responses.BODY_BOUND | {"content-type"}]
            kept += [(name, value) for name, value in headers if name.lower() == "content-range"]
            return ResponseStart(status, [*kept, ("Content-Length", "0")], reason)
        return None

    def _misframed(self) -> ProtocolError:
        """The app's body is longer, or ended shorter, than its Content-Length says: its
        error, as a server would take it (PEP 3333 has a server send no more than the header
        allows), never made a complete-looking filtered response. The host raises it to the
        app or the server, which answers its own 500 or cuts the response short."""
        self._chunks = []
        declared = self._declared
        if self._size > (declared or 0):
            return ProtocolError(f"the app's body is longer than its Content-Length: more than the {declared} bytes")
        return ProtocolError(f"the app's body ended after {self._size} of the {declared} bytes its Content-Length declares")

    def _misuse(self, what: str) -> ProtocolError:
        state = self.state
        if state is _START:
            return ProtocolError(f"{what} before the response start")
        if state in _PENDING:
            return ProtocolError(f"{what} while a FilterCall is out: hand its result to filtered() first")
        if what == "response end":
            return ProtocolError("response ended twice")
        return ProtocolError(f"{what} after the response end")

    def _name(self, stage: Filter | None) -> str:
        """The failing filter's name in logs: a chain's stage is named in its chain."""
        if stage is None or stage is self.filter:
            return self.filter.name
        return f"{stage.name} in {self.filter.name}"

    def _head(self) -> bool:
        """Whether the request is a HEAD: the machine's own answers then carry no body."""
        return self.environ.get("REQUEST_METHOD") == "HEAD"

    def _path(self) -> str:
        return responses.request_path(self.environ)
