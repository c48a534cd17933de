"""The sans-IO response state machine: one per response, on every host.

Hosts feed it events (``start``, ``body``, ``end``) and send on the events it
returns. It decides once, at the start, whether the response is filtered. A
passthrough response is handed on chunk by chunk as it came; a filtered one is
held until the end, then filtered, and leaves as one start, one body, one end
with headers made true to the new body. No I/O happens here, no threads, no
event loop: ``end_async`` only awaits the user's own ``async def filter``.

A streaming filter's response leaves at once instead: the start without a
Content-Length, then each chunk through the filter's stream as it comes.

States::

    START ──start()──▶ PASSTHROUGH ──end()──▶ DONE
      │                    ▲
      ├──────────▶ BUFFERING ──end()──▶ DONE | ERROR (a 500 went out)
      │                │
      │                └─ too large ─▶ PASSTHROUGH ('pass') | DRAINING ('error': a 502 went out)
      └──────────▶ STREAMING ──end()──▶ DONE | ERROR (the stream failed: StreamError raised)

A chain's machine buffers when any of its stages wants the response, then runs
the stages in turn (``dualfilter.stages``).
"""

from __future__ import annotations

import enum
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from . import codings, responses, running, validators
from .charsets import Charset
from .errors import FilterError, ProtocolError, StreamError
from .events import Body, End, Event, HeaderList, ResponseStart
from .headers import Headers, get_header, without
from .mediatypes import content_type_items, parse_content_type
from .payload import Held, Payload
from .stages import StageFailed, StageRun
from .transform import NothingToParse, Transform

if TYPE_CHECKING:
    from .filter import Filter
    from .streaming import Stream

log = logging.getLogger("dualfilter")

#: How many (status, Content-Type, Content-Encoding) decisions a filter remembers.
DECISION_CACHE_SIZE = 512
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})
#: wanted, (media type, params), codings, unsupported codings (for the warning).
Decision = tuple[bool, tuple[str, Mapping[str, str]], list[str], str]

#: Statuses that never carry a body (RFC 9110 section 6.4.1).
NO_BODY_STATUS = frozenset({204, 205, 304})

RunSync = Callable[[Callable[[], Any]], Awaitable[Any]]


class State(enum.Enum):
    START = "start"
    PASSTHROUGH = "passthrough"
    BUFFERING = "buffering"
    STREAMING = "streaming"
    DRAINING = "draining"
    DONE = "done"
    ERROR = "error"


_START, _PASSTHROUGH, _BUFFERING, _STREAMING, _DRAINING, _DONE, _ERROR = State


def _content_type(flt: Filter, status: int, value: str) -> tuple[str, Mapping[str, str]]:
    """The Content-Type a response is filtered as. Of several (a list, or field
    lines combined), the first this filter takes: a client may read that one
    (browsers read the last), so it must not pass unfiltered. Else the first."""
    if "," not in value:
        return parse_content_type(value)
    parsed = [parse_content_type(item) for item in content_type_items(value)]
    for candidate in parsed:
        if flt.accepts(status, candidate[0]):
            return candidate
    return parsed[0] if parsed else ("", _NO_PARAMS)


class ResponseMachine:
    """Decides, buffers and filters one response for one filter."""

    # Per-response state starts as these class defaults, so making a machine
    # (once per request, filtered or not) sets only what differs.
    #: The exception that made the response a 500 or 502, if one did.
    error: BaseException | None = None
    _start: ResponseStart | None = None
    _content_type: tuple[str, Mapping[str, str]] = ("", _NO_PARAMS)
    _codings: list[str] = []  # never mutated: replaced by each decision
    _size = 0
    _body_out = False
    _stream: Stream | None = None
    #: end_native(): None normally; True while ending, then the Held response.
    _native: Held | bool | None = None
    #: A payload an inner filter handed over instead of body chunks (take()).
    _handed: Payload | None = None

    def __init__(self, flt: Filter, environ: Mapping[str, Any]) -> None:
        self.filter = flt
        self.environ = environ
        self.state = _START
        self._chunks: list[bytes] = []
        self._limit = flt.max_buffer_size

    @property
    def passthrough(self) -> bool:
        """True once the response is known to go out unfiltered: from then on a
        host may forward the rest of the body itself, without the machine."""
        return self.state is _PASSTHROUGH

    @property
    def started(self) -> bool:
        """Whether a response start has been received."""
        return self.state is not _START

    # -- events in ---------------------------------------------------------------

    def start(self, status: int | str, headers: HeaderList, reason: str = "", *, restart: bool = False) -> list[Event]:
        """The response's status and headers. ``restart`` replaces an earlier
        start (WSGI's ``exc_info``), allowed until any body has gone out."""
        if self.state is not _START:
            if not restart:
                raise ProtocolError("response already started")
            if self.state in (_DONE, _ERROR) or (self.state is _DRAINING and self.error is not None) or self._body_out:
                raise ProtocolError("cannot restart a response whose body has been sent")
            self._chunks, self._size, self._stream = [], 0, None
        if type(status) is str:
            status, _, reason = status.partition(" ")
            status = int(status)
        start = ResponseStart(status, headers, reason)  # type: ignore[arg-type]
        wanted = self._wants(start)
        if wanted and self.environ.get("REQUEST_METHOD") != "HEAD":
            if self.filter.is_streaming and not self._codings:
                streamed = self._start_stream(start)
                if streamed is not None:
                    return streamed
            self.state = _BUFFERING
            self._start = start
            return []
        if wanted:
            # A HEAD has no body to filter; what the app says of its length and
            # validator would not describe the filtered GET, so it stays behind.
            start = ResponseStart(
                start.status, self._derive_etag(without(headers, responses.HEAD_DROPPED), headers), start.reason
            )
            # Nor does it get a body: one the app sends anyway is unfiltered, and dropped.
            self.state = _DRAINING
            return [start]
        elif start.status == 304 and self.filter.etag_token is not None:
            if validators.mentions_derived(self.environ.get("HTTP_IF_NONE_MATCH"), self.filter.etag_token):
                # The client holds the filtered body: confirm the tag it holds.
                start = ResponseStart(304, self._derive_etag(without(headers, frozenset({"etag"})), headers), start.reason)
        self.state = _PASSTHROUGH
        return [start]

    def body(self, data: bytes) -> list[Event]:
        """One body chunk."""
        state = self.state
        if state is _BUFFERING:
            if data:
                self._chunks.append(data)
                self._size += len(data)
                if self._size > self._limit:
                    return self._oversize()
            return []
        if state is _PASSTHROUGH:
            if not data:
                return []
            self._body_out = True
            return [Body(data)]
        if state is _STREAMING:
            return self._stream_body(data) if data else []
        if state is _DRAINING:
            return []
        if state is _START:
            raise ProtocolError("response body before the response start")
        raise ProtocolError("response body after the response end")

    def end(self, trailers: HeaderList | None = None) -> list[Event]:
        """The end of the response; for a filtered one, runs ``filter()`` now
        (an ``async def`` filter is run to completion)."""
        if self.state is not _BUFFERING:
            return self._ending(trailers)
        transform = self._transform(trailers)
        if isinstance(transform, list):
            return transform
        if self.filter._stages:
            return self._chain(transform, trailers)
        try:
            result = self.filter.filter(self.environ, transform.headers, transform.data)
            if type(result) is not bytes and type(result) is not str:
                result = running.resolve(result)
        except Exception as exc:
            return self._fail(exc)
        return self._finish(transform, result, trailers)

    async def end_async(self, trailers: HeaderList | None = None, run_sync: RunSync | None = None) -> list[Event]:
        """``end`` for async hosts: awaits an ``async def`` filter; a sync one
        runs through ``run_sync`` (a worker thread) when the body is at least
        ``thread_threshold`` bytes."""
        if self.state is not _BUFFERING:
            return self._ending(trailers)
        if not self.filter.is_async:
            threshold = self.filter.thread_threshold
            if run_sync is not None and threshold is not None and self._size >= threshold:
                return await run_sync(lambda: self._filter(trailers))
            return self._filter(trailers)
        transform = self._transform(trailers)
        if isinstance(transform, list):
            return transform
        if self.filter._stages:
            return await self._chain_async(transform, trailers, run_sync)
        try:
            result = await self._call(transform)
        except Exception as exc:
            return self._fail(exc)
        return self._finish(transform, result, trailers)

    # -- filters stacked directly: the body handed on unserialized -----------------

    def would_buffer(self, status: int, headers: HeaderList) -> bool:
        """Whether ``start(status, headers)`` would hold the response for
        filtering (not pass it through, nor stream it). Asks ``should_filter``
        without starting anything."""
        if self.state is not _START or self.environ.get("REQUEST_METHOD") == "HEAD":
            return False
        if not self._wants(ResponseStart(status, headers)):
            return False
        return not (self.filter.is_streaming and not self._codings)

    def take(self, held: Held) -> None:
        """Take an inner filter's ``end_native()`` response as this one's whole
        body: the start is ``held.start``, the body its payload, as it is."""
        if self.state is not _START:
            raise ProtocolError("take() needs a machine that has not started")
        if self.start(held.start.status, held.start.headers, held.start.reason):
            raise ProtocolError("take() of a response this filter does not buffer (ask would_buffer() first)")
        self._handed = held.payload
        self._size = held.size

    def end_native(self, trailers: HeaderList | None = None) -> Held | list[Event]:
        """``end()``, but a filtered response comes back as a :class:`Held`
        (its body not yet serialized) for a filter stacked directly around this
        one; anything else (passthrough, errors, content-coded) as events."""
        if self.state is not _BUFFERING or self._codings:
            return self.end(trailers)
        self._native = True
        return self._held(self.end(trailers))

    async def end_native_async(self, trailers: HeaderList | None = None, run_sync: RunSync | None = None) -> Held | list[Event]:
        """``end_async`` for ``end_native``."""
        if self.state is not _BUFFERING or self._codings:
            return await self.end_async(trailers, run_sync)
        self._native = True
        return self._held(await self.end_async(trailers, run_sync))

    def _held(self, events: list[Event]) -> Held | list[Event]:
        """What end_native gives: the Held response, or the events of any other ending."""
        held, self._native = self._native, None  # the Held refers to this machine: no cycle back
        return held if isinstance(held, Held) else events

    def _take_handed(self) -> Transform | list[Event]:
        """The filter's view of a handed payload (see ``take``)."""
        assert self._start is not None and self._handed is not None
        try:
            return Transform.handed(self.filter, self._start.headers, self._handed)
        except NothingToParse:
            self.state = _DONE
            return self._realize_payload(self._start, self._handed, [])
        except Exception as exc:
            return self._fail(exc)

    def _hold(self, transform: Transform, result: Any, trailers: HeaderList | None) -> list[Event]:
        """``_finish`` for ``end_native``: the response as a Held, not serialized."""
        assert self._start is not None
        try:
            payload = transform.settle(result)
            start = self._filtered_start(transform, None, None)
        except Exception as exc:
            return self._fail(exc)
        self._native = Held(start, payload, trailers or [], self._size, self._realize)
        return []

    def _realize(self, held: Held) -> list[Event]:
        """A Held response written out (``Held.events()``)."""
        return self._realize_payload(held.start, held.payload, held.trailers)

    def _realize_payload(self, start: ResponseStart, payload: Payload, trailers: HeaderList) -> list[Event]:
        try:
            body, charset = payload.serialize()
            headers = responses.fixed_headers(start.headers, start.headers, len(body), charset)
        except Exception as exc:
            return self._fail(exc, payload.producer)
        start = ResponseStart(start.status, headers, start.reason)
        return [start, Body(body), End(trailers)] if body else [start, End(trailers)]

    # -- decision ----------------------------------------------------------------

    def _wants(self, start: ResponseStart) -> bool:
        status = start.status
        if status < 200 or status in NO_BODY_STATUS:
            return False
        content_type = content_encoding = None
        for name, value in start.headers:
            lowered = name.lower()
            # Several field lines combine into one list, as HTTP reads them.
            if lowered == "content-type":
                content_type = value if content_type is None else f"{content_type}, {value}"
            elif lowered == "content-encoding":
                content_encoding = value if content_encoding is None else f"{content_encoding}, {value}"
        flt = self.filter
        if flt.default_decision:
            # The default decision depends on these three values only: decide
            # each combination once per filter.
            key = (status, content_type, content_encoding)
            decision = flt._decisions.get(key)
            if decision is None:
                decision = self._decide(status, content_type, content_encoding, None)
                if len(flt._decisions) >= DECISION_CACHE_SIZE:
                    flt._decisions.clear()
                flt._decisions[key] = decision
        else:
            decision = self._decide(status, content_type, content_encoding, Headers(start.headers))
        wanted, self._content_type, self._codings, unsupported = decision
        if unsupported:
            log.warning("%s: not filtering %s: unsupported Content-Encoding %s", flt.name, self._path(), unsupported)
        return wanted

    def _decide(self, status: int, content_type: str | None, content_encoding: str | None, headers: Headers | None) -> Decision:
        """Whether to filter, the parsed Content-Type and codings, and the
        codings this process cannot undo (which prevent filtering)."""
        flt = self.filter
        parsed = _content_type(flt, status, content_type) if content_type else ("", _NO_PARAMS)
        if headers is None:
            wanted = flt.accepts(status, parsed[0])
        else:
            wanted = flt.should_filter(self.environ, status, headers)
        if not wanted:
            return False, parsed, [], ""
        content_codings = codings.parse(content_encoding)
        unsupported = ", ".join(c for c in content_codings if not codings.supported(c))
        return not unsupported, parsed, content_codings, unsupported

    # -- filtering ---------------------------------------------------------------

    def _ending(self, trailers: HeaderList | None) -> list[Event]:
        """The events of an end that needs no filtering."""
        state = self.state
        if state is _PASSTHROUGH:
            self.state = _DONE
            return [End(trailers or [])]
        if state is _STREAMING:
            return self._stream_end(trailers)
        if state is _DRAINING:
            self.state = _DONE
            # After a 502 or 500 the error response was complete; a HEAD's start still needs its end.
            return [] if self.error is not None else [End(trailers or [])]
        if state is _START:
            raise ProtocolError("response end before the response start")
        raise ProtocolError("response ended twice")

    def _call(self, transform: Transform) -> Any:
        return self.filter.filter(self.environ, transform.headers, transform.data)

    def _transform(self, trailers: HeaderList | None = None) -> Transform | list[Event]:
        """Decode the buffered body for the filter, or the events that replace filtering."""
        assert self._start is not None
        if self._handed is not None:
            return self._take_handed()
        chunks = self._chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        try:
            return Transform(self.filter, self._start, body, self._content_type, self._codings)
        except NothingToParse:
            self.state = _DONE
            return [self._start, End(trailers or [])]
        except codings.TooLarge:
            return self._oversize(ended=True, trailers=trailers)
        except Exception as exc:
            return self._fail(exc)

    def _filter(self, trailers: HeaderList | None) -> list[Event]:
        """Filter a sync filter's response (``end``'s work, callable from a thread)."""
        transform = self._transform(trailers)
        if isinstance(transform, list):
            return transform
        if self.filter._stages:
            return self._chain(transform, trailers)
        try:
            result = self._call(transform)
        except Exception as exc:
            return self._fail(exc)
        return self._finish(transform, result, trailers)

    def _finish(self, transform: Transform, result: Any, trailers: HeaderList | None) -> list[Event]:
        assert self._start is not None
        if self._native is not None:
            return self._hold(transform, result, trailers)
        try:
            body, charset = transform.encode(result)
            start = self._filtered_start(transform, len(body), charset)
        except Exception as exc:
            return self._fail(exc)
        return [start, Body(body), End(trailers or [])] if body else [start, End(trailers or [])]

    def _filtered_start(self, transform: Transform, length: int | None, charset: Charset | None) -> ResponseStart:
        """The start of the filtered response (headers true to the new body), ending the machine's work."""
        assert self._start is not None
        headers = responses.fixed_headers(transform.headers.list, transform.original_headers, length, charset)
        if self.filter.etag_token is not None:
            headers = self._derive_etag(headers, transform.original_headers)
        self.state = _DONE
        self._chunks = []
        return ResponseStart(self._start.status, headers, self._start.reason)

    def _derive_etag(self, headers: HeaderList, original: HeaderList) -> HeaderList:
        """``headers`` plus the ETag derived from the app's, if it sent one."""
        token = self.filter.etag_token
        etag = get_header(original, "etag")
        derived = validators.derive(etag, token) if etag and token else None
        return [*headers, ("ETag", derived)] if derived else headers

    def _fail(self, exc: BaseException, stage: Filter | None = None) -> list[Event]:
        self.state = _ERROR
        self.error = exc
        self._chunks = []
        name = self._name(stage)
        if isinstance(exc, FilterError):
            log.error("%s failed on %s: %s", name, self._path(), exc)
        else:
            log.error("%s raised on %s", name, self._path(), exc_info=exc)
        return responses.error_response(exc, self.filter.debug)

    def _name(self, stage: Filter | None) -> str:
        """The failing filter's name in logs: a chain's stage is named in its chain."""
        if stage is None or stage is self.filter:
            return self.filter.name
        return f"{stage.name} in {self.filter.name}"

    # -- streaming -----------------------------------------------------------------

    def _start_stream(self, start: ResponseStart) -> list[Event] | None:
        """Start a streamed response: the start goes out now, without a length;
        None when the filter buffers this one after all."""
        flt = self.filter
        headers = Headers(start.headers.copy())
        try:
            stream = flt._open_stream(self.environ, start.status, headers)
            if stream is None:
                return None
            fixed = responses.fixed_headers(headers.list, start.headers, None, getattr(stream, "charset", None))
            if flt.etag_token is not None:
                fixed = self._derive_etag(fixed, start.headers)
        except StageFailed as exc:
            events = self._fail(exc.__cause__ or exc, exc.stage)
            self.state = _DRAINING
            return events
        except Exception as exc:
            events = self._fail(exc)
            self.state = _DRAINING  # the rest of the app's body has nowhere to go
            return events
        self._start = start
        self._stream = stream
        self.state = _STREAMING
        return [ResponseStart(start.status, fixed, start.reason)]

    def _stream_body(self, data: bytes) -> list[Event]:
        assert self._stream is not None
        try:
            out = self._stream.feed(data)
            if type(out) is not bytes:
                out = self._stream_bytes(out)
        except Exception as exc:
            raise self._stream_failed(exc) from exc
        if not out:
            return []
        self._body_out = True
        return [Body(out)]

    def _stream_end(self, trailers: HeaderList | None) -> list[Event]:
        assert self._stream is not None
        try:
            out = self._stream.finish()
            if type(out) is not bytes:
                out = self._stream_bytes(out)
        except Exception as exc:
            raise self._stream_failed(exc) from exc
        self.state = _DONE
        self._stream = None
        return [Body(out), End(trailers or [])] if out else [End(trailers or [])]

    def _stream_bytes(self, out: Any) -> bytes:
        if isinstance(out, (bytearray, memoryview)):
            return bytes(out)
        raise FilterError(f"a stream returned {type(out).__name__}; expected bytes (or str under decode_unicode)")

    def _stream_failed(self, exc: Exception) -> StreamError:
        """The stream raised after the start went out: log it, and the error to raise."""
        self.state = _ERROR
        self.error = exc
        name = self._name(getattr(self._stream, "failed", None))
        self._stream = None
        log.error("%s failed while streaming %s; the response is cut short", name, self._path(), exc_info=exc)
        return StreamError(f"{name} failed while streaming: {exc}")

    # -- chains --------------------------------------------------------------------

    def _chain(self, transform: Transform, trailers: HeaderList | None) -> list[Event]:
        """Run a chain's stages over the buffered body, innermost first."""
        assert self._start is not None
        environ = self.environ
        run = StageRun(self.filter, environ, self._start.status, transform)
        try:
            while (call := run.next_call()) is not None:
                assert run.stage is not None
                result = run.stage.filter(environ, call.headers, call.data)
                if type(result) is not bytes and type(result) is not str:
                    result = running.resolve(result)
                run.took(result)
            payload = run.result() if self._native is None else run.payload
        except Exception as exc:
            return self._fail(exc, run.stage)
        return self._chain_finish(run, transform, payload, trailers)

    async def _chain_async(self, transform: Transform, trailers: HeaderList | None, run_sync: RunSync | None) -> list[Event]:
        """``_chain`` for async hosts: async stages are awaited; with a large body
        the sync work (parsing, sync stages, serializing) runs through ``run_sync``."""
        assert self._start is not None
        environ = self.environ
        threshold = self.filter.thread_threshold
        offload = run_sync if threshold is not None and self._size >= threshold else None
        run = StageRun(self.filter, environ, self._start.status, transform)
        try:
            while True:
                call = await offload(run.next_call) if offload is not None else run.next_call()
                if call is None:
                    break
                stage = run.stage
                assert stage is not None
                if stage.is_async:
                    result = await stage.filter(environ, call.headers, call.data)
                elif offload is not None:
                    result = await offload(functools.partial(stage.filter, environ, call.headers, call.data))
                else:
                    result = stage.filter(environ, call.headers, call.data)
                if inspect.isawaitable(result):
                    result = await result
                run.took(result)
            if self._native is not None:
                payload = run.payload
            else:
                payload = await offload(run.result) if offload is not None else run.result()
        except Exception as exc:
            return self._fail(exc, run.stage)
        return self._chain_finish(run, transform, payload, trailers)

    def _chain_finish(self, run: StageRun, transform: Transform, payload: Any, trailers: HeaderList | None) -> list[Event]:
        assert self._start is not None
        if not run.filtered:
            # No stage filtered after all (an empty body, say): the response as it came.
            self.state = _DONE
            chunks, self._chunks = self._chunks, []
            body = b"".join(chunks)
            return [self._start, Body(body), End(trailers or [])] if body else [self._start, End(trailers or [])]
        transform.headers = Headers(run.headers)
        return self._finish(transform, payload, trailers)

    def _oversize(self, ended: bool = False, trailers: HeaderList | None = None) -> list[Event]:
        """The response outgrew ``max_buffer_size``: pass it on or refuse it."""
        assert self._start is not None
        flt = self.filter
        if flt.oversize == "pass":
            log.warning("%s: %s is larger than max_buffer_size=%d; sent unfiltered", flt.name, self._path(), flt.max_buffer_size)
            self.state = _DONE if ended else _PASSTHROUGH
            events: list[Event] = [self._start, *(Body(chunk) for chunk in self._chunks)]
            self._chunks = []
            self._body_out = True
            return [*events, End(trailers or [])] if ended else events
        self.error = FilterError(f"response larger than max_buffer_size={flt.max_buffer_size}")
        log.error("%s: %s is larger than max_buffer_size=%d; answered 502", flt.name, self._path(), flt.max_buffer_size)
        self.state = _DONE if ended else _DRAINING
        self._chunks = []
        return responses.simple_response(502, "Bad Gateway", "The response was too large to filter.")

    def _path(self) -> str:
        environ = self.environ
        return f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '/')}"
