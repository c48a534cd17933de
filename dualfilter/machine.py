"""The sans-IO response state machine: one per response, on every host.

Hosts feed it events (``start``, ``body``, ``end``) and send on the events it
returns. It decides once, at the start, whether the response is filtered. A
passthrough response is handed on chunk by chunk as it came; a filtered one is
held until the end, then filtered, and leaves as one start, one body, one end
with headers made true to the new body. No I/O happens here, no threads, no
event loop: ``end_async`` only awaits the user's own ``async def filter``.

States::

    START ──start()──▶ PASSTHROUGH ──end()──▶ DONE
      │                    ▲
      └──────────▶ BUFFERING ──end()──▶ DONE | ERROR (a 500 went out)
                       │
                       └─ too large ─▶ PASSTHROUGH ('pass') | DRAINING ('error': a 502 went out)
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from . import codings, responses, running, validators
from .errors import FilterError, ProtocolError
from .events import Body, End, Event, HeaderList, ResponseStart
from .headers import Headers, get_header, without
from .mediatypes import parse_content_type
from .transform import NothingToParse, Transform

if TYPE_CHECKING:
    from .filter import Filter

log = logging.getLogger("dualfilter")

#: Statuses that never carry a body (RFC 9110 section 6.4.1).
NO_BODY_STATUS = frozenset({204, 205, 304})

RunSync = Callable[[Callable[[], list[Event]]], Awaitable[list[Event]]]


class State(enum.Enum):
    START = "start"
    PASSTHROUGH = "passthrough"
    BUFFERING = "buffering"
    DRAINING = "draining"
    DONE = "done"
    ERROR = "error"


_START, _PASSTHROUGH, _BUFFERING, _DRAINING, _DONE, _ERROR = State


class ResponseMachine:
    """Decides, buffers and filters one response for one filter."""

    __slots__ = (
        "filter",
        "environ",
        "state",
        "error",
        "_start",
        "_content_type",
        "_codings",
        "_chunks",
        "_size",
        "_limit",
        "_body_out",
    )

    def __init__(self, flt: Filter, environ: Mapping[str, Any]) -> None:
        self.filter = flt
        self.environ = environ
        self.state = _START
        #: The exception that made the response a 500 or 502, if one did.
        self.error: BaseException | None = None
        self._start: ResponseStart | None = None
        self._content_type: tuple[str, Mapping[str, str]] = ("", {})
        self._codings: list[str] = []
        self._chunks: list[bytes] = []
        self._size = 0
        self._limit = flt.max_buffer_size
        self._body_out = False

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
            if self.state in (_DONE, _ERROR, _DRAINING) or self._body_out:
                raise ProtocolError("cannot restart a response whose body has been sent")
            self._chunks, self._size = [], 0
        if type(status) is str:
            status, _, reason = status.partition(" ")
            status = int(status)
        start = ResponseStart(status, headers, reason)  # type: ignore[arg-type]
        wanted = self._wants(start)
        if wanted and self.environ.get("REQUEST_METHOD") != "HEAD":
            self.state = _BUFFERING
            self._start = start
            return []
        if wanted:
            # A HEAD has no body to filter; what the app says of its length and
            # validator would not describe the filtered GET, so it stays behind.
            start = ResponseStart(
                start.status, self._derive_etag(without(headers, responses.HEAD_DROPPED), headers), start.reason
            )
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
        transform = self._transform()
        if isinstance(transform, list):
            return transform
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
        transform = self._transform()
        if isinstance(transform, list):
            return transform
        try:
            result = await self._call(transform)
        except Exception as exc:
            return self._fail(exc)
        return self._finish(transform, result, trailers)

    # -- decision ----------------------------------------------------------------

    def _wants(self, start: ResponseStart) -> bool:
        status = start.status
        if status < 200 or status in NO_BODY_STATUS:
            return False
        content_type = content_encoding = None
        for name, value in start.headers:
            lowered = name.lower()
            if lowered == "content-type":
                content_type = content_type or value
            elif lowered == "content-encoding":
                content_encoding = value
        self._content_type = parse_content_type(content_type) if content_type else ("", {})
        flt = self.filter
        if flt.default_decision:
            if not flt.accepts(status, self._content_type[0]):
                return False
        elif not flt.should_filter(self.environ, status, Headers(start.headers)):
            return False
        self._codings = codings.parse(content_encoding)
        unknown = [c for c in self._codings if not codings.supported(c)]
        if unknown:
            log.warning("%s: not filtering %s: unsupported Content-Encoding %s", flt.name, self._path(), ", ".join(unknown))
            return False
        return True

    # -- filtering ---------------------------------------------------------------

    def _ending(self, trailers: HeaderList | None) -> list[Event]:
        """The events of an end that needs no filtering."""
        state = self.state
        if state is _PASSTHROUGH:
            self.state = _DONE
            return [End(trailers or [])]
        if state is _DRAINING:
            self.state = _DONE
            return []
        if state is _START:
            raise ProtocolError("response end before the response start")
        raise ProtocolError("response ended twice")

    def _call(self, transform: Transform) -> Any:
        return self.filter.filter(self.environ, transform.headers, transform.data)

    def _transform(self) -> Transform | list[Event]:
        """Decode the buffered body for the filter, or the events that replace filtering."""
        assert self._start is not None
        chunks = self._chunks
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        try:
            return Transform(self.filter, self._start, body, self._content_type, self._codings)
        except NothingToParse:
            self.state = _DONE
            return [self._start, End()]
        except codings.TooLarge:
            return self._oversize(ended=True)
        except Exception as exc:
            return self._fail(exc)

    def _filter(self, trailers: HeaderList | None) -> list[Event]:
        """Filter a sync filter's response (``end``'s work, callable from a thread)."""
        transform = self._transform()
        if isinstance(transform, list):
            return transform
        try:
            result = self._call(transform)
        except Exception as exc:
            return self._fail(exc)
        return self._finish(transform, result, trailers)

    def _finish(self, transform: Transform, result: Any, trailers: HeaderList | None) -> list[Event]:
        assert self._start is not None
        try:
            body, charset = transform.encode(result)
            headers = responses.fixed_headers(transform.headers.list, transform.original_headers, len(body), charset)
            if self.filter.etag_token is not None:
                headers = self._derive_etag(headers, transform.original_headers)
        except Exception as exc:
            return self._fail(exc)
        self.state = _DONE
        self._chunks = []
        start = ResponseStart(self._start.status, headers, self._start.reason)
        return [start, Body(body), End(trailers or [])] if body else [start, End(trailers or [])]

    def _derive_etag(self, headers: HeaderList, original: HeaderList) -> HeaderList:
        """``headers`` plus the ETag derived from the app's, if it sent one."""
        token = self.filter.etag_token
        etag = get_header(original, "etag")
        derived = validators.derive(etag, token) if etag and token else None
        return [*headers, ("ETag", derived)] if derived else headers

    def _fail(self, exc: BaseException) -> list[Event]:
        self.state = _ERROR
        self.error = exc
        self._chunks = []
        if isinstance(exc, FilterError):
            log.error("%s failed on %s: %s", self.filter.name, self._path(), exc)
        else:
            log.error("%s raised on %s", self.filter.name, self._path(), exc_info=exc)
        return responses.error_response(exc, self.filter.debug)

    def _oversize(self, ended: bool = False) -> list[Event]:
        """The response outgrew ``max_buffer_size``: pass it on or refuse it."""
        assert self._start is not None
        flt = self.filter
        if flt.oversize == "pass":
            log.warning("%s: %s is larger than max_buffer_size=%d; sent unfiltered", flt.name, self._path(), flt.max_buffer_size)
            self.state = _DONE if ended else _PASSTHROUGH
            events: list[Event] = [self._start, *(Body(chunk) for chunk in self._chunks)]
            self._chunks = []
            self._body_out = True
            return [*events, End()] if ended else events
        self.error = FilterError(f"response larger than max_buffer_size={flt.max_buffer_size}")
        log.error("%s: %s is larger than max_buffer_size=%d; answered 502", flt.name, self._path(), flt.max_buffer_size)
        self.state = _DONE if ended else _DRAINING
        self._chunks = []
        return responses.simple_response(502, "Bad Gateway", "The response was too large to filter.")

    def _path(self) -> str:
        environ = self.environ
        return f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '/')}"
