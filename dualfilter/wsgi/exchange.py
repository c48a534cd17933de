"""One response through the WSGI middleware: PEP 3333 calls in, machine events out.

The driver is called only for a batch of events that ends with a FilterCall
(the only kind it acts on); any other batch goes out as the machine gave it.

The app's first ``start_response`` asks the memoised decision: a response it
leaves untouched goes to the server as the app made it (status line, headers,
and, when the app has returned, its own iterable), with no machine at all.
Otherwise the ``start_response`` and ``write`` the app is given feed a
ResponseMachine (through the sync driver, which runs the filter); what the
machine emits goes to the server's own ``start_response`` and, for what the
app writes, its ``write``; else out through this object when the server
iterates it. A response the machine passes through is handed on as it came,
the app's own iterable included when the machine says so before the app
returns. A response with no body (a HEAD, a 204, a 304) is never read, only
closed; a body read to be filtered is held to the app's Content-Length.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from ..decision import decide
from ..drivers import drive
from ..errors import ProtocolError
from ..events import Body, End, Event, FilterCall, Passthrough, Redispatch, ResponseStart
from ..machine import ResponseMachine
from ..request_policy import RequestPolicy
from ..responses import request_path, status_line, unframed
from ..state import READS_BODY, State

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ..filter import Filter

Write = Callable[[bytes], object]
log = logging.getLogger("dualfilter")
#: The body pending of an exchange that has none yet: shared, so never appended to.
_NOTHING: deque[bytes] = deque()
#: A WSGI status line: a code, and a space and a reason phrase that may be empty (a
#: code alone gets its standard phrase, as gunicorn takes it).
_STATUS_LINE = re.compile(r"[0-9]{3}(?: [\t\x20-\x7e\x80-\xff]*)?")


class Exchange:
    """The host side of one response.

    It is also the iterable the server gets when the app's own cannot be handed
    on as it is (a lazy ``start_response``, or a filtered response);
    ``close()`` closes the app's iterable exactly once, whichever way the
    response ends.
    """

    # Per-response values start as these class defaults, so an exchange (one
    # per request, filtered or not) sets only what differs.
    _server_write: Write | None = None
    _forwarded = False  # the server's start_response has been called
    _live = 0  # the status code of the start the server has, until a restart replaces it (0: none)
    _sent = False  # body bytes have gone to the server: no restart now
    _exc_info: OptExcInfo | None = None  # for the next forwarded start
    _passing = False  # the machine said PASSTHROUGH: the app's body goes on as it is
    _detached = False  # the server iterates the app's own iterable
    _inner: Iterable[bytes] | None = None
    _iterator: Iterator[bytes] | None = None
    _ended = False  # the machine's End came out: nothing more to read
    _closed = False
    _fast = False  # passing and sent: the rest is the app's, as is
    _asked_again = False  # the machine said REDISPATCH: the app's answer is dropped, the app asked again
    machine: ResponseMachine | None = None  # made at the first start the decision does not leave untouched
    #: Body to hand on, made by the first start the machine answers or by :meth:`respond` (until then, none).
    _pending: deque[bytes] = _NOTHING
    #: The request's own values of the environ keys the app's current call is shown
    #: otherwise (:meth:`shown`), to put back when it starts its response.
    _hidden: dict[str, Any] | None = None

    def __init__(self, flt: Filter, environ: WSGIEnvironment, start_response: StartResponse, app: WSGIApplication) -> None:
        """``environ`` is the server's, which the filter reads."""
        self.filter = flt
        self.environ = environ
        self._server_start = start_response
        self._app = app
        # The request as it came, for a redispatch: apps rewrite their environ as they route.
        self._request = dict(environ)

    # -- what the app calls ------------------------------------------------------

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None) -> Write:
        """The app's ``start_response``; with ``exc_info``, a restart that
        re-raises the app's error once body has gone out (PEP 3333)."""
        if type(status) is not str:  # the machine would take a code: an app's error all the same (PEP 3333)
            raise TypeError(f"a WSGI status is a status line str ('200 OK'), not {type(status).__name__}")
        machine = self.machine
        if machine is None and not self._forwarded:
            # The first start: a response the decision leaves untouched goes to the
            # server as the app made it, without a machine.
            environ = self.environ
            decision = decide(self.filter, environ.get("REQUEST_METHOD", "GET"), status, headers, environ)
            if decision.untouched:
                self._server_write = self._server_start(status, headers)
                self._forwarded = self._passing = True
                return self.write  # its own: a restart after what the app wrote must re-raise
            _check_status(status)
            machine = self.machine = ResponseMachine(self.filter, self.environ, True)  # True: can_redispatch
            events = machine.start(status, headers, decision=decision)
        elif exc_info is not None:
            try:
                if self._sent:
                    error = exc_info[1]
                    if error is None:
                        raise ProtocolError("start_response called again after the body was sent")
                    raise error.with_traceback(exc_info[2])
                if self._detached:
                    # The server iterates the app's own iterable, past any machine: a new
                    # start the filter would not leave untouched cannot be filtered, so the
                    # app's error stands (the server answers its own 500), else the server's rules apply.
                    environ = self.environ
                    method = environ.get("REQUEST_METHOD", "GET")
                    if not decide(self.filter, method, status, headers, environ).untouched:
                        error = exc_info[1]
                        if error is None:
                            raise ProtocolError("a restart that cannot be filtered, without the app's error to re-raise")
                        raise error.with_traceback(exc_info[2])
                    self._server_write = self._server_start(status, headers, exc_info)
                    return self.write
                _check_status(status)
                self._passing = False
                self._live = 0
                if machine is None:  # the first start went on untouched: this one is the machine's first
                    machine = self.machine = ResponseMachine(self.filter, self.environ, True)
                events = machine.start(status, headers, restart=True)
                if self._forwarded:
                    self._exc_info = exc_info  # the server must be told it is a restart
            finally:
                exc_info = None
        elif machine is None:
            raise ProtocolError("response already started")  # as the machine says of a second start
        else:
            _check_status(status)
            events = machine.start(status, headers)
        if events:
            # The machine's own answer (a 412, the clean 500) goes out as the iterable the server
            # is returned, not through its write(): an app that never called write() must not
            # depend on it (granian has none).
            if self._pending is _NOTHING:
                self._pending = deque()
            self._take(drive(machine, events) if type(events[-1]) is FilterCall else events)
        return self.write

    def write(self, data: bytes) -> None:
        """The ``write()`` callable: straight to the server when passing through."""
        if self._passing:
            write = self._server_write
            assert write is not None
            if data:
                while self._pending:
                    write(self._pending.popleft())
                self._sent = True
            write(data)
            return
        machine = self.machine
        if machine is None:
            raise ProtocolError("write() before start_response")
        events = machine.body(data)
        if events:
            self._send(drive(machine, events) if type(events[-1]) is FilterCall else events)

    # -- what the middleware calls -------------------------------------------------

    def respond(self, app_iter: Iterable[bytes]) -> Iterable[bytes]:
        """What the server gets for the app's iterable: that iterable itself when
        it passes through, the filtered body as a list, or this object."""
        if self._passing and not self._pending:
            self._detached = True
            return app_iter
        if self._pending is _NOTHING:
            self._pending = deque()
        self._inner = app_iter
        try:
            if self._asked_again:
                self._ask_again()
            else:
                self._iterator = iter(app_iter)
            if self.machine is None or self.machine.decision is None:
                return self  # start_response comes with the first chunk
            self._pull()
        except BaseException:  # the server never gets this object to close
            self._close_inner()
            self.abandon()
            raise
        if self._ended:  # the whole answer is here
            pending = self._pending  # nothing, or the one empty value _pull hands on for a start that ended
            empty = not pending or len(pending) == 1 and not pending[0]
            bodiless = empty and (self._live and unframed(self._live) or self.environ.get("REQUEST_METHOD") == "HEAD")
            if self._closed:
                return _no_content() if bodiless else list(pending)
            if bodiless and not pending:
                pending.append(b"")  # as _no_content() gives it (see there)
            # The app's own answer, unfiltered: the server's close() closes the app's iterable.
        return self

    # -- what the server calls -----------------------------------------------------

    def __iter__(self) -> Iterator[bytes]:
        """The body for the server: through :meth:`__next__` until the rest is the app's
        own, as it is, then the app's chunks directly (a generator resumes for less than
        a method call costs, on every chunk of a long passthrough)."""
        return self._chunks()

    def _chunks(self) -> Iterator[bytes]:
        next_chunk = self.__next__
        while not self._fast:
            try:
                chunk = next_chunk()
            except StopIteration:
                return
            yield chunk
        # A for loop, not yield from: that would close the app's iterable when the server
        # drops the body early, and the exchange closes it, once.
        for chunk in self._iterator:  # type: ignore[union-attr]
            yield chunk

    def __next__(self) -> bytes:
        if self._fast:
            return next(self._iterator)  # type: ignore[arg-type]
        pending = self._pending
        if not pending:
            if self._ended:
                raise StopIteration
            self._pull()
            if not pending:
                raise StopIteration
        chunk = pending.popleft()
        if chunk:
            self._sent = True
        if not pending and self._passing and self._sent and not self._closed:
            self._fast = True  # body went out: a restart now re-raises, so no chunk need be looked at
        return chunk

    def abandon(self) -> None:
        """The response is dropped before its end: a filter's stream still open lets go now
        (and the server's environ is the request's again, if the app never started)."""
        if self._hidden is not None:
            self._unshow()
        machine = self.machine
        if machine is not None:
            machine.abandon()

    def close(self) -> None:
        """Close the app's iterable (once, however often this is called); a filter's
        stream still open (the response dropped before its end) lets go of what it
        holds now. The server's callables are let go too: a server keeps this object
        while it holds them (wsgiref's handler), and neither should wait for the
        garbage collector."""
        self._exc_info = None
        try:
            self._close_inner(by_server=True)
        finally:
            self.abandon()
            self._server_start = self._server_write = None  # type: ignore[assignment]

    # -- internals -------------------------------------------------------------------

    def _pull(self) -> None:
        """Read the app until there is output to hand on or the response is over."""
        if not self._ended:
            try:
                while True:
                    if self._asked_again:  # start_response said so while the app was read
                        self._ask_again()
                    machine = self.machine
                    if (self._ended or machine is not None and machine.state is State.BODILESS) and self._ended_unread():
                        break
                    # A for loop, not next(): the end of the app's iterable raises no StopIteration here.
                    for chunk in self._iterator:  # type: ignore[union-attr]
                        if self._passing:  # every chunk as it came, an empty one too (PEP 3333 block boundaries)
                            self._pending.append(chunk)
                            return
                        else:
                            machine = self.machine  # made by start_response, which may come with the first chunk
                            if machine is None:
                                raise ProtocolError("the app's iterable gave body before it called start_response")
                            events = machine.body(chunk)
                            if events:
                                self._take(drive(machine, events) if type(events[-1]) is FilterCall else events)
                                if self._pending and not self._ended:
                                    return
                            if (self._ended or machine.state is State.BODILESS) and self._ended_unread():
                                break
                            if self._live:
                                # Started, yet nothing to hand on for this chunk: PEP 3333 has
                                # a middleware yield a value (an empty one) for each the app yields.
                                self._pending.append(b"")
                                return
                        if self._asked_again:
                            break  # to ask again, before reading on
                    else:
                        if self._asked_again:
                            continue
                        machine = self.machine
                        if machine is None:
                            if not self._passing:
                                self._close_inner()
                                raise ProtocolError("the app returned without calling start_response")
                            self._ended = True  # untouched: the app's own body, all of it out
                            return  # closed by the server, which hears a close() that fails (PEP 3333)
                        if machine.state in READS_BODY:
                            self._close_inner()  # read whole, for the filter: let go before it runs
                        self._take(drive(machine, machine.end()))
                        return
                    if self._ended or not self._asked_again:
                        break
            except BaseException:
                self._close_inner()
                raise
        machine = self.machine
        if machine is not None and machine.state is State.ANSWERED:
            self._close_inner()  # the machine's own answer (a 502, a 412): the app's is dropped
        # Else the app's own answer, unfiltered (a start that stands, a bodiless one), is the
        # server's to close: it hears a close() that fails, as without the middleware.

    def _ended_unread(self) -> bool:
        """Whether the response is over before the rest of the app's body: its start ended
        it (an answer that stands, the machine's own), or can have no body (a HEAD, a 204,
        a 304), so the rest is never read, only closed. Then one value is pending for the
        server to send the start by, as it is (a 304 iterated to its end with none would get
        a Content-Length: 0 from wsgiref)."""
        machine = self.machine
        if machine is not None and machine.state is State.BODILESS:
            self._take(machine.end())
        if not self._ended:
            return False
        if not self._pending and self._live:
            self._pending.append(b"")
        return True

    def _ask_again(self) -> None:
        """Drop the app's first answer, unread, and ask it the same request
        without its range and conditional headers (a redispatch)."""
        self._asked_again = False
        self._close_inner()
        # The filter reads the request as it came and what the call it filters adds (a CSP
        # nonce, say), not what the dropped call added: the server's environ is put back.
        environ = self.environ
        environ.clear()
        environ.update(self._request)
        self._inner = self._app(environ, self.shown(RequestPolicy.show_redispatch(environ)))
        self._closed = False
        self._iterator = iter(self._inner)

    def shown(self, hidden: dict[str, Any]) -> Callable[..., Write]:
        """The app's next call is shown the server's environ changed (by the request
        policy) from the request's own ``hidden`` values, which are put back when the call
        starts its response: the decision and the filter read the request as the client
        sent it, and what else the call writes in its environ (a CSP nonce). Returns the
        ``start_response`` to hand the call."""
        self._hidden = hidden
        return self._start_shown

    def _start_shown(self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None) -> Write:
        """:meth:`start_response` for a call shown a changed environ: it is put back first."""
        self._unshow()
        return self.start_response(status, headers, exc_info)

    def _unshow(self) -> None:
        """Put back the request's own values the app's call was shown otherwise (once)."""
        hidden, self._hidden = self._hidden, None
        if hidden is not None:
            RequestPolicy.put_back(self.environ, hidden)

    def _take(self, events: list[Event]) -> None:
        """Events met while the app starts or is read: a start goes to the server now,
        body waits to be iterated out."""
        for event in events:
            kind = type(event)
            if kind is Body:
                self._pending.append(event.data)  # type: ignore[union-attr]
            elif kind is ResponseStart:
                self._forward(event)  # type: ignore[arg-type]
            elif kind is End:
                self._ended = True
            elif kind is Passthrough:
                self._passing = True
            elif kind is Redispatch:
                self._asked_again = True

    def _send(self, events: list[Event]) -> None:
        """Events met in ``write()``: they go to the server at once, as the app's own writes do."""
        for event in events:
            kind = type(event)
            if kind is Body:
                assert self._server_write is not None
                self._sent = True
                self._server_write(event.data)  # type: ignore[union-attr]
            elif kind is ResponseStart:
                self._forward(event)  # type: ignore[arg-type]
            elif kind is End:
                self._ended = True
            elif kind is Passthrough:
                self._passing = True
            elif kind is Redispatch:
                self._asked_again = True

    def _forward(self, start: ResponseStart) -> None:
        exc_info, self._exc_info = self._exc_info, None
        status = status_line(start.status, start.reason)
        if exc_info is None:
            self._server_write = self._server_start(status, start.headers)
        else:
            self._server_write = self._server_start(status, start.headers, exc_info)
        self._forwarded = True
        self._live = start.status

    def _close_inner(self, *, by_server: bool = False) -> None:
        """Close the app's iterable, once. Its ``close()`` failing is the server's to hear
        when the server closes this object; closed here, after the app's answer was read
        whole (to filter it, or to ask the app again), the answer goes on and the error is
        logged: the page was complete."""
        if self._closed:
            return
        self._closed = True
        close: Any = getattr(self._inner, "close", None)
        if close is not None:
            try:
                close()
            except Exception as exc:
                if by_server:
                    raise
                log.error("%s: the app's close() raised on %s", self.filter.name, request_path(self.environ), exc_info=exc)


def _no_content() -> Iterator[bytes]:
    """The iterable of a HEAD, 204 or 304 response that ended: one empty
    bytestring, and no length, so a server sends the start as it is and adds no
    Content-Length of its own (wsgiref would add ``0``, which a HEAD or 304 must
    not say unless the GET's length is 0, and a 204 must not send at all)."""
    yield b""


def _check_status(status: str) -> None:
    """PEP 3333's status line, for a response the filter takes over (the server sees the
    machine's, so it cannot refuse the app's): three ASCII digits, then a space and a
    reason phrase (RFC 9112 section 4: latin-1, no control character but HTAB), or none.
    The lines found good are remembered (an app sends few)."""
    if status in _GOOD_STATUS:
        return
    if _STATUS_LINE.fullmatch(status) is None:
        raise ValueError(f"not a WSGI status line ('200 OK'): {status!r}")
    if len(_GOOD_STATUS) < 256:
        _GOOD_STATUS.add(status)


#: Status lines :func:`_check_status` found good.
_GOOD_STATUS: set[str] = set()
