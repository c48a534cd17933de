"""The ECB a wrapped extension sees: its response goes through the core, the rest is the real ECB.

``SendResponseHeaders`` and ``WriteClient`` feed the request's
:class:`~dualfilter.machine.ResponseMachine`; what the machine lets out goes
to the real ECB. ``DoneWithSession`` ends the response (a filtered one is
written then) before ending the real session — or, when the machine asked for
the extension to be asked again (a redispatch), hands the real ECB to a new
proxy instead. Every other attribute and method is the real ECB's, except that
``GetServerVariable`` shows the request headers as the proxy's
:class:`~dualfilter.isapi.extension.request_headers.RequestHeaders` says (all
of them, derived tags translated, when first asked; no range or conditional
header when asked again). Once the session is over the proxy is dead, as a
real ECB is: every call raises RuntimeError. As on pywin32's ECB, the methods
are positional-only. A streaming filter that fails after the start went out
cuts the response short (the write that fed it raises StreamError, later ones
ExtensionError): the real session then ends with HSE_STATUS_ERROR, so IIS
closes the connection and the client sees the response cut. A response whose
start goes out with neither a Content-Length nor chunked framing (a streamed
one) can only end with the connection (RFC 9112 section 6.3): IIS is not asked
to keep it, whatever the extension asked.

Host calls with no way through the filter have one fixed behaviour each:

- output written before any ``SendResponseHeaders`` (IIS's raw mode) has no
  status or headers to decide on: it goes out as written, unfiltered;
- ``Redirect`` makes IIS answer with its own redirect page: unfiltered;
- ``TransmitFile`` is passed on for a response the filter leaves alone (the
  answer to a HEAD request included) and refused with ``ExtensionError`` for
  one it wants;
- a ``Redirect`` or ``TransmitFile`` that IIS refuses (pywin32 raises, nothing
  went out) leaves the response as it was: the extension may still answer;
- ``ExecURL`` is refused with ``ExtensionError``: the child request's response
  would reach the client without passing the filter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ...decision import decide, untyped_partial
from ...drivers import drive
from ...errors import StreamError
from ...events import PASSTHROUGH, REDISPATCH, Body, End, Event, ResponseStart
from ...http1 import BodyReader, LengthReader, RawResponseError, chunked, content_length, dechunker, delimited
from ...machine import ResponseMachine
from ...responses import request_path, simple_response, status_line
from ...state import READS_BODY, State
from ..constants import (
    ERROR_INVALID_INDEX,
    ERROR_INVALID_PARAMETER,
    ERROR_NOT_SUPPORTED,
    HSE_IO_ASYNC,
    HSE_IO_DISCONNECT_AFTER_SEND,
    HSE_IO_SEND_HEADERS,
    HSE_IO_SYNC,
    HSE_STATUS_ERROR,
    HSE_STATUS_SUCCESS,
    HSE_STATUS_SUCCESS_AND_KEEP_CONN,
)
from ..errors import ExtensionError
from ..wire import (
    buffer_arg,
    header_block,
    int_arg,
    parse_header_lines,
    send_response,
    split_header_block,
    status_text,
    str_arg,
)
from .request_headers import BODY_VARIABLES, HEADER_LIST, HIDDEN, TRANSLATED, RequestHeaders

if TYPE_CHECKING:
    from .middleware import FilterMiddleware

log = logging.getLogger("dualfilter")

DEAD = "Invalid ECB (DoneWithSession has been called)"
_HEADERS_CALL = "ServerSupportFunction(HSE_REQ_SEND_RESPONSE_HEADER_EX)"
_NO_DEFAULT: Any = object()
_CUT = "the response was cut short: a streaming filter failed"
_FILTERED_BODY = "TransmitFile cannot send the body of a filtered response"


#: Those in which nothing of the response went out yet.
_HOLDS_START = frozenset({State.BUFFERING, State.HOLDING})


class _Past:
    """The reader once the extension wrote past its body's end: all it writes is dropped."""

    complete = True
    leftover = b""

    def feed(self, data: bytes) -> list[Body | End]:
        return []

    def finish(self) -> list[Body | End]:
        return []


_DROP = _Past()


def _chunk(data: bytes) -> bytes:
    """``data`` framed as one chunk (RFC 9112 section 7.1)."""
    return b"%x\r\n%s\r\n" % (len(data), data)


def _framed(event: Event) -> Event:
    """``event`` as it goes out in chunks: body data as one chunk, the end as the last chunk
    (with its trailers); other events as they are."""
    if type(event) is Body:
        return Body(_chunk(event.data))
    if type(event) is End:
        return Body(_last_chunk(event.trailers))
    return event


def _last_chunk(trailers: list[tuple[str, str]] | None) -> bytes:
    """The last chunk, with its trailer section."""
    return b"0\r\n" + header_block(trailers or [])


#: What a request asked again shows of its content (the first call read it): none.
_NO_CONTENT: dict[str, Any] = {
    "TotalBytes": 0,
    "AvailableBytes": 0,
    "AvailableData": b"",
    "ContentType": b"",
    "ReadClient": lambda *args: b"",
}
#: Those in which nothing more of the app's is sent: the response went out whole, or has no body (204, 304).
_ENDED = frozenset({State.ANSWERED, State.DONE, State.BODILESS})


class ProxyECB:
    """One request's EXTENSION_CONTROL_BLOCK as the wrapped extension sees it."""

    __slots__ = (
        "_real",
        "_owner",
        "_machine",
        "_headers",
        "_lock",
        "_done",
        "_started",
        "_unsent",
        "_ended",
        "_raw",
        "_direct",
        "_reframe",
        "_last_out",
        "_dechunked",
        "_chunks_out",
        "_cut",
        "_keep_alive",
        "_io",
        "_reader",
        "asked_again",
        "closes",
        "ended",
        "returned",
        "_outstanding",
        "_status",
    )

    def __init__(self, real: Any, owner: FilterMiddleware, machine: ResponseMachine, headers: RequestHeaders) -> None:
        self._real = real
        self._owner = owner
        self._machine = machine
        self._headers = headers  # what GetServerVariable shows of the request headers
        self._lock = threading.RLock()
        self._done = False  # the session is over: the proxy is dead
        self._started = False  # the machine has had its start()
        #: The machine had a start that never went out (a TransmitFile IIS refused): the next replaces it.
        self._unsent = False
        self._ended = False  # the machine has had its end()
        self._raw = False  # output bypasses the machine (raw mode, Redirect)
        self._direct = False  # body writes go straight to the real ECB (raw, or passthrough)
        #: Passing a body the extension frames in chunks itself: read de-chunked, it goes out framed again.
        self._reframe = False
        #: The extension's own last chunk went out, reframed (the machine's end then sends none).
        self._last_out = False
        #: The extension frames its body in chunks itself, read de-chunked for the machine.
        self._dechunked = False
        #: The start that went out says chunked framing: body goes out in chunks, its end as the last one.
        self._chunks_out = False
        self._cut = False  # a streaming filter failed after the start went out: the response is cut short
        self._keep_alive = False
        self._io: tuple[Callable[..., Any], Any] | None = None  # from IOCompletion
        #: The reader of a filtered body the extension frames itself, in chunks or by its
        #: Content-Length (IIS sends its writes as they are): where the page ends.
        self._reader: BodyReader | LengthReader | _Past | None = None
        #: The machine said REDISPATCH: this answer is dropped, the extension is asked again.
        self.asked_again = False
        #: The start that went out does not say where the body ends (no Content-Length, no
        #: chunks): only closing the connection ends it, so IIS is not asked to keep it.
        self.closes = False
        #: The extension ended the session (DoneWithSession): the real one is over, or
        #: goes on with the extension asked again (then ended by that).
        self.ended = False
        #: What HttpExtensionProc returned while a skipped TransmitFile's callback was to come.
        self.returned: Any = None
        self._outstanding = 0  # skipped TransmitFile callbacks still to come
        #: The status for the IIS log as last read or set while the session was live: pywin32
        #: reads any attribute through the control block, gone once the real session ends.
        self._status = 0

    # -- the response ------------------------------------------------------------

    def SendResponseHeaders(self, status: str | bytes, headers: str | bytes, keepAlive: bool = False, /) -> None:
        """Start the response with ``status`` and a ``Name: value\\r\\n`` header string."""
        status_bytes = buffer_arg(status, "SendResponseHeaders")
        block = buffer_arg(headers, "SendResponseHeaders")
        keep_alive = bool(int_arg(keepAlive, "SendResponseHeaders"))
        with self._lock:
            self._check()
            if self._raw:
                self._real.SendResponseHeaders(status_bytes, block, keep_alive)
                return
            machine = self._machine
            if self._started:
                raise ExtensionError(ERROR_INVALID_PARAMETER, "the response headers were already sent", _HEADERS_CALL)
            try:
                text = status_text(status_bytes)
                lines, body = split_header_block(block)
                pairs = parse_header_lines(lines)
            except ValueError as exc:
                raise ExtensionError(ERROR_INVALID_PARAMETER, str(exc), _HEADERS_CALL) from None
            self._keep_alive = keep_alive
            self._started = True
            events = drive(machine, machine.start(text, pairs, restart=self._unsent))
            self._unsent = False
            self._send(events)
            if machine.state in READS_BODY:
                self._reader = self._body_reader(text, pairs)
                self._dechunked = isinstance(self._reader, BodyReader)
            if body:
                self._send(self._body(body))

    def WriteClient(self, data: str | bytes, flags: int = 0, /) -> int:
        """Write body bytes; with ``HSE_IO_ASYNC`` the IOCompletion callback follows on another thread."""
        payload = data if type(data) is bytes else buffer_arg(data, "WriteClient")
        size = len(payload)
        if type(flags) is not int:
            flags = int_arg(flags, "WriteClient")
        with self._lock:
            if self._done:
                raise RuntimeError(DEAD)
            if not self._direct:
                if self._started:
                    if self._cut:
                        raise ExtensionError(ERROR_NOT_SUPPORTED, _CUT, "WriteClient")
                    events = self._body(payload)
                    if events:  # none while a filtered body is held: the common case
                        self._send(events)
                    payload = b""
                else:  # raw mode: no status or headers to decide on
                    self._raw = self._direct = True
            if payload:
                self._real.WriteClient(payload, (flags & ~HSE_IO_ASYNC) | HSE_IO_SYNC)
        if flags & HSE_IO_ASYNC:
            self._owner.completions.post(self._complete_io, size)
        return size

    write = WriteClient

    def IOCompletion(self, func: Callable[..., Any], arg: Any = None, /) -> None:
        """Set the callback for asynchronous writes: ``func(ecb, arg, cbIO, dwError)``."""
        if not callable(func):
            raise TypeError("first param must be callable")
        with self._lock:
            self._check()
            self._io = (func, arg)

    def DoneWithSession(self, status: int = HSE_STATUS_SUCCESS, /) -> None:
        """End the request: write the rest of the response (filtered), then end the real session.

        Called again once the session is over, it is logged and does nothing: pywin32's own
        ``ThreadPoolExtension`` calls it again after an extension that ended its session
        raised, and an error here would end the pool's worker thread for good."""
        status = int_arg(status, "DoneWithSession")
        with self._lock:
            if self._done:
                log.error("%s: DoneWithSession called again after the session ended: ignored", self._machine.filter.name)
                return
        self._end_session(status)

    close = DoneWithSession

    # -- server support functions with no way through the filter -----------------

    def Redirect(self, url: str, /) -> None:
        """Let IIS answer with a redirect to ``url``; that response is IIS's own, unfiltered."""
        str_arg(url, "Redirect")
        with self._lock:
            self._check()
            if self._raw or self._started:
                raise ExtensionError(
                    ERROR_INVALID_PARAMETER,
                    "the response has already started",
                    "ServerSupportFunction(HSE_REQ_SEND_URL_REDIRECT_RESP)",
                )
            self._real.Redirect(url)  # first: a redirect IIS refuses leaves the response to the extension
            self._raw = self._direct = True

    def TransmitFile(
        self,
        callback: Callable[..., Any],
        param: Any,
        hFile: int,
        statusCode: str,
        BytesToWrite: int,
        Offset: int,
        head: str | bytes | None,
        tail: str | bytes | None,
        flags: int,
        /,
    ) -> None:
        """Send a file through IIS: allowed for a response the filter leaves alone, else refused."""
        if not callable(callback):
            raise TypeError("Callback is not callable")
        call = "ServerSupportFunction(HSE_REQ_TRANSMIT_FILE)"
        skipped = started = False
        with self._lock:
            self._check()
            machine = self._machine
            direct = self._direct
            if not direct:
                if self._started:  # the headers went out with SendResponseHeaders
                    decision = machine.decision
                    if machine.state in _ENDED and decision is not None and decision.as_made:
                        # No body may follow (a 204, 304), or a first answer stood whole: the file has nowhere to go.
                        skipped = True
                    elif machine.state is not State.PASSTHROUGH:  # the body is the filter's (or it failed)
                        raise ExtensionError(ERROR_NOT_SUPPORTED, _FILTERED_BODY, call)
                elif not flags & HSE_IO_SEND_HEADERS:
                    raise ExtensionError(ERROR_NOT_SUPPORTED, _FILTERED_BODY, call)
                else:
                    try:
                        lines, prefix = split_header_block(buffer_arg(head or b"", "TransmitFile"))
                        pairs = parse_header_lines(lines)
                        text = status_text(buffer_arg(statusCode, "TransmitFile"))
                    except ValueError as exc:
                        raise ExtensionError(ERROR_INVALID_PARAMETER, str(exc), call) from None
                    # Ask the decision first, so a refusal leaves this response untouched
                    # (a streamed response starts at once too, but its body must pass the filter).
                    environ = machine.environ
                    status = int(text.partition(" ")[0])
                    decision = decide(machine.filter, environ.get("REQUEST_METHOD", "GET"), status, pairs, environ)
                    if not decision.as_made and not untyped_partial(machine.filter, status, decision, environ, pairs):
                        raise ExtensionError(ERROR_NOT_SUPPORTED, "TransmitFile cannot send a response that is filtered", call)
                    self._started = started = True
                    events = machine.start(text, pairs, decision=decision, restart=self._unsent)
                    self._unsent = False
                    # No body may follow (a 204 or 304; a first answer that stands, whole): not this file.
                    if type(events[-1]) is End or machine.state in _ENDED:
                        # The connection stays as the extension asked IIS to leave it.
                        self._keep_alive = not flags & HSE_IO_DISCONNECT_AFTER_SEND
                        self._send(events)
                        skipped = True
                    else:
                        start = events[0]
                        assert isinstance(start, ResponseStart)
                        statusCode = status_line(start.status, start.reason)
                        head = header_block(start.headers) + prefix  # what followed the headers goes before the file, as it came
                if not skipped:
                    self._direct = True

            if not skipped:

                def relay(ecb: Any, arg: Any, cbIO: int, dwError: int) -> Any:
                    return callback(self._for_callback(ecb), arg, cbIO, dwError)

                try:
                    self._real.TransmitFile(relay, param, hFile, statusCode, BytesToWrite, Offset, head, tail, flags)
                except BaseException:
                    # IIS refused it (pywin32 raises ExtensionError) and sent nothing: the extension
                    # may still answer another way, as it could unwrapped.
                    self._direct = direct
                    if started:
                        self._started = False
                        self._unsent = True  # the machine's start never went out: the next one replaces it
                    raise
        if skipped:
            # Nothing to send: the transfer is complete at once. Its callback comes on a completion
            # thread, as IIS calls it; the session stays open for it (see FilterMiddleware._call).
            with self._lock:
                self._outstanding += 1
            self._owner.completions.post(self._transmitted, callback, param)

    def ExecURL(self, *args: Any) -> None:
        """Refused: a child request's response would reach the client without passing the filter."""
        with self._lock:
            self._check()
        raise ExtensionError(
            ERROR_NOT_SUPPORTED,
            "ExecURL is not available under a filter: its response would bypass it",
            "ServerSupportFunction(HSE_REQ_EXEC_URL)",
        )

    # -- the request -----------------------------------------------------------------

    def GetServerVariable(self, name: str, default: Any = _NO_DEFAULT, /) -> Any:
        """The real server variable, with the request headers the filter removes hidden."""
        str_arg(name, "GetServerVariable")
        self._check()
        headers = self._headers
        if headers.bodiless:
            upper = name.upper()
            shown = BODY_VARIABLES.get(upper.removeprefix("UNICODE_"))
            if shown is not None:  # asked again: a request without content
                return shown if upper.startswith("UNICODE_") else shown.encode("latin-1")
        kind = headers.kind(name)
        if kind is HIDDEN:
            if default is _NO_DEFAULT:
                raise ExtensionError(ERROR_INVALID_INDEX, None, "GetServerVariable")
            return default
        real = self._real
        value = real.GetServerVariable(name) if default is _NO_DEFAULT else real.GetServerVariable(name, default)
        if kind is HEADER_LIST and isinstance(value, (bytes, str)):
            return headers.strip_list(name, value)
        if kind is TRANSLATED and isinstance(value, (bytes, str)):
            return headers.translate(value)
        return value

    # -- delegation and lifetime ----------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        self._check()
        if self._headers.bodiless and name in _NO_CONTENT:
            return _NO_CONTENT[name]  # asked again: the first call read the content
        return getattr(self._real, name)

    @property
    def HttpStatusCode(self) -> int:
        """The real ECB's status for the IIS log; once the session is over, as it was last
        read or set (the real ECB is not read then)."""
        with self._lock:
            if not self._done:
                self._status = int(self._real.HttpStatusCode)
            return self._status

    @HttpStatusCode.setter
    def HttpStatusCode(self, value: int) -> None:
        """Set on the real ECB, which takes it after the session too, as pywin32's does
        (``ThreadPoolExtension``'s error handler sets it after a failed ``DoneWithSession``)."""
        self._real.HttpStatusCode = value
        self._status = int(value)

    @property
    def LogData(self) -> Any:
        raise AttributeError("LogData attribute can only be set")

    @LogData.setter
    def LogData(self, value: str | bytes) -> None:
        self._check()
        self._real.LogData = value

    def __repr__(self) -> str:
        return f"<ProxyECB for {self._real!r}{' (done)' if self._done else ''}>"

    def _check(self) -> None:
        if self._done:
            raise RuntimeError(DEAD)

    def _send(self, events: list[Event]) -> None:
        """Act on the machine's markers, then write what it lets out to the real ECB; a start
        that does not say where its body ends goes out without keep-alive."""
        for event in events:
            if event is PASSTHROUGH:
                if self._dechunked:
                    # The machine got the extension's chunks de-chunked: the rest of them goes past
                    # it (framed in chunks again, under the extension's own start).
                    self._reframe = True
                else:
                    self._direct = True  # the rest of the body goes straight to the real ECB
                    self._reader = None  # where it ends is IIS's concern, as for a page not filtered
            elif event is REDISPATCH:
                self.asked_again = True  # what follows of this answer goes nowhere
            elif type(event) is ResponseStart:
                head = self._machine.environ.get("REQUEST_METHOD") == "HEAD"
                if not delimited(event.status, event.headers, head=head):
                    self.closes = True
                    self._keep_alive = False
                # The extension's own start, framing in chunks, over the body read de-chunked (passed
                # through, too large to filter, nothing to parse): the body is framed again.
                self._chunks_out = self._dechunked and chunked(event.headers) and not head
        if self._chunks_out:
            events = [_framed(event) for event in events if type(event) is not Body or event.data]
        send_response(self._real, events, self._keep_alive)

    def _drive(self, events: list[Event]) -> list[Event]:
        """``events`` driven through the machine; a StreamError (a streaming filter failed after
        the start went out, logged by the machine) marks the response cut short, and goes on."""
        try:
            return drive(self._machine, events)
        except StreamError:
            self._cut = True
            raise

    def _body(self, data: bytes) -> list[Event]:
        """The machine's answer to body bytes the extension wrote, driven (the filter run):
        de-chunked first when it frames them in chunks itself. Its last chunk's trailers go
        with the framing: the filtered page goes out whole (IIS frames nothing, so it can
        carry no trailers)."""
        reader = self._reader
        if reader is None:
            answer = self._machine.body(data)
            return self._drive(answer) if answer else answer
        try:
            read = reader.feed(data)
        except RawResponseError as exc:
            raise ExtensionError(ERROR_INVALID_PARAMETER, f"malformed chunked body: {exc}", "WriteClient") from None
        if self._reframe:  # passed on, past the machine (_send frames it in chunks again)
            self._last_out = any(type(event) is End for event in read)
            return list(read)
        if reader.complete and reader.leftover:
            # Past the end the extension's framing states: not part of the page (RFC 9112
            # section 6.3), and a client would read it as the next response. Dropped.
            machine = self._machine
            path = request_path(machine.environ)
            log.warning("%s: bytes after the response to %s; dropped", machine.filter.name, path)
            self._reader = _DROP
        events: list[Event] = []
        for event in read:
            if type(event) is Body:
                # Each piece driven before the next is given: a streaming filter's call is out
                # until it is (one write may carry several chunks).
                answer = self._machine.body(event.data)
                if answer:
                    try:
                        events += self._drive(answer)
                    except StreamError:
                        self._send(events)
                        raise
            elif type(event) is End and self._dechunked and any(out is PASSTHROUGH for out in events):
                # Passed on in this very write: the extension's own last chunk (its trailers
                # with it) goes out after its body, as it framed it.
                events.append(event)
                self._last_out = True
        return events

    def _finish(self, errored: bool = False) -> bool:
        """Give the machine its end and send what it answers (a filtered response goes out here).
        False if the response was cut short (a streaming filter failed, or the extension ended
        its request with HSE_STATUS_ERROR, ``errored``, after the start went out): the machine
        has no end to give then, and the real session must end with HSE_STATUS_ERROR so IIS
        closes the connection and the client sees the response cut."""
        if not self._ended:
            self._ended = True
            if not self._raw and self._started and not self._cut:
                if errored and not self.asked_again:  # (an answer being dropped is asked again all the same)
                    return self._failed_midway()
                if self._reader is not None and not self._body_complete():
                    return not self._cut
                try:
                    events = self._drive(self._machine.end())
                    if self._last_out:  # the extension's own last chunk went out already, its trailers with it
                        events = [event for event in events if type(event) is not End]
                    self._send(events)
                except StreamError:
                    pass  # the machine logged it: the response is cut short
        return not self._cut

    def _failed_midway(self) -> bool:
        """The extension ended its request with HSE_STATUS_ERROR: what it wrote is not its whole
        page, which is never filtered into a complete-looking one (RFC 9112 section 8). While
        nothing of it went out, the clean 500 goes in its place; else it is cut short."""
        machine = self._machine
        if machine.state in READS_BODY:  # a page being filtered (one passed on was the extension's to log)
            path = request_path(machine.environ)
            log.error("%s: the extension failed its request for %s (HSE_STATUS_ERROR)", machine.filter.name, path)
        machine.abandon()
        if machine.state in _HOLDS_START:
            head = machine.environ.get("REQUEST_METHOD") == "HEAD"
            send_response(self._real, simple_response(500, "Internal Server Error", head=head), False)
            return True
        self._cut = True
        return False

    @staticmethod
    def _body_reader(status: str, pairs: list[tuple[str, str]]) -> BodyReader | LengthReader | None:
        """The reader of the body the extension's own framing delimits: its chunks, or its
        Content-Length (one it states invalid is the machine's to refuse); None if neither."""
        if chunked(pairs):
            try:
                return dechunker(int(status.partition(" ")[0]), pairs)
            except RawResponseError as exc:
                raise ExtensionError(ERROR_INVALID_PARAMETER, str(exc), _HEADERS_CALL) from None
        try:
            length = content_length(pairs)
        except ValueError:
            return None
        return None if length is None else LengthReader(length)

    def _body_complete(self) -> bool:
        """Whether the extension's body reached the end its framing states (its last chunk, or
        its Content-Length). If not, the page is incomplete: a 502 in its place while nothing
        of it went out, else the response is cut short (RFC 9112 sections 6.3 and 8: an
        incomplete message is not a complete one)."""
        assert self._reader is not None
        try:
            self._reader.finish()
            return True
        except RawResponseError as exc:
            machine = self._machine
            path = request_path(machine.environ)
            log.error("%s: the extension's body for %s ended early: %s", machine.filter.name, path, exc)
            if machine.state in _HOLDS_START:
                send_response(self._real, simple_response(502, "Bad Gateway", "The response ended before its body."), False)
            else:
                self._cut = True
            return False

    def _end_session(self, status: int, *, failed: bool = False) -> None:
        with self._lock:
            if failed and self._done:
                return
            self._check()
            self._done = True
            self._io = None
            try:
                if not failed and not self._finish(status == HSE_STATUS_ERROR):
                    status = HSE_STATUS_ERROR
                elif status == HSE_STATUS_SUCCESS_AND_KEEP_CONN and self.closes:
                    status = HSE_STATUS_SUCCESS  # the response ends with the connection
            except Exception as exc:
                # Sending the filtered response failed (the client went away): pywin32's
                # DoneWithSession never raises for IIS, and an extension calls it last,
                # so the error stays here and the connection is closed.
                name, path = self._machine.filter.name, request_path(self._machine.environ)
                log.warning("%s: the response to %s could not be sent: %s", name, path, exc)
                status = HSE_STATUS_ERROR
            finally:
                self.ended = True
                if self.asked_again and not failed:
                    self._owner.ask_again(self._real, self._machine)  # the real session goes on
                else:
                    self._real.DoneWithSession(status)

    def _returned(self, errored: bool = False) -> bool:
        """HttpExtensionProc returned without HSE_STATUS_PENDING: the response is complete, or
        failed (``errored``: it returned HSE_STATUS_ERROR). False if it was cut short: the
        request must then end with HSE_STATUS_ERROR."""
        with self._lock:
            if self._done:
                return not self._cut
            self._done = True
            self._io = None
            return self._finish(errored)

    def _abandon(self) -> None:
        """HttpExtensionProc raised: nothing more is written for this request."""
        with self._lock:
            self._done = True
            self._io = None

    def _for_callback(self, real: Any) -> ProxyECB:
        """The ECB a TransmitFile callback gets: this proxy while the request is under way;
        once HttpExtensionProc has returned (IIS keeps the request until the file is sent),
        a new proxy over the live ECB pywin32 hands the callback, so it can still write and
        end the session (its response went out unfiltered already)."""
        with self._lock:
            if not self._done:
                return self
            proxy = ProxyECB(real, self._owner, self._machine, self._headers)
            proxy._ended = proxy._raw = proxy._direct = True
            proxy._keep_alive = self._keep_alive
            return proxy

    def _transmitted(self, callback: Callable[..., Any], param: Any) -> None:
        """A TransmitFile that sent nothing (no body may follow): its callback, with nothing sent;
        then, if HttpExtensionProc has returned meanwhile without ending the session, its end."""
        try:
            callback(self, param, 0, 0)
        except Exception:
            log.exception("ISAPI TransmitFile callback failed; ending the request")
            self._end_session(HSE_STATUS_ERROR, failed=True)
        with self._lock:
            self._outstanding -= 1
            result = self.returned if self._outstanding == 0 and not self._done else None
        if result is not None:
            self._end_session(result)  # what returning it would have done, now the callback has run

    def keep_for_callbacks(self, result: Any) -> bool:
        """HttpExtensionProc returned ``result`` (not pending): True when a skipped TransmitFile's
        callback is still to come, which then ends the session with it (IIS holds a request
        while its asynchronous I/O is outstanding)."""
        with self._lock:
            if self._outstanding and not self._done:
                self.returned = result
                return True
            return False

    def _complete_io(self, count: int) -> None:
        """An asynchronous write is complete: call the extension's IOCompletion callback."""
        with self._lock:
            if self._done:  # the session is over: IIS makes no more callbacks
                return
            io = self._io
        try:
            if io is None:
                raise RuntimeError("asynchronous WriteClient with no IOCompletion callback set")
            func, arg = io
            func(self, arg, count, 0)
        except Exception:
            # As pywin32 does: a failed callback ends the session with an error.
            log.exception("ISAPI I/O completion callback failed; ending the request")
            self._end_session(HSE_STATUS_ERROR, failed=True)
