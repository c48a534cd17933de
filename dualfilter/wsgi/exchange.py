"""One response through the WSGI middleware: the server side of a ResponseMachine.

The ``start_response`` and ``write`` the app is given feed the machine; what the
machine emits goes to the server's own ``start_response`` and ``write``, or out
through this object when the server iterates it. A response that passes through
unfiltered is handed to the server as it came: when the decision is known before
the app returns, the app's own iterable is returned untouched.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from types import MethodType
from typing import TYPE_CHECKING, Any, cast

from ..errors import ProtocolError
from ..events import Body, Event, ResponseStart
from ..machine import ResponseMachine, State
from ..payload import Held
from ..responses import status_line

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from ..filter import Filter

Write = Callable[[bytes], object]

# ``machine.state is PASSTHROUGH`` is ``machine.passthrough`` without a property
# call: it is asked once per chunk.
PASSTHROUGH = State.PASSTHROUGH


class Exchange:
    """The host side of one response: PEP 3333 calls in, machine events out.

    It is also the iterable the server gets when the app's own cannot be handed
    on as it is (a lazy ``start_response``, or a response that started out
    filtered and ended up passing through); ``close()`` closes the app's
    iterable exactly once, whichever way the response ends.
    """

    # Per-response state starts as these class defaults, so an exchange (one
    # per request, filtered or not) sets only what differs.
    _server_write: Write | None = None
    _forwarded = False  # the server's start_response has been called
    _sent = False  # body bytes have gone to the server: no restart now
    _exc_info: OptExcInfo | None = None  # for the next forwarded start
    _detached = False  # the server iterates the app's own iterable
    _inner: Iterable[bytes] | None = None
    _iterator: Iterator[bytes] | None = None
    _ended = False  # the machine's End came out: nothing more to read
    _closed = False
    _fast = False  # passthrough and sent: the rest is the app's, as is
    _held: Held | None = None  # a filtered response kept unserialized for the outer middleware

    def __init__(self, flt: Filter, environ: WSGIEnvironment, start_response: StartResponse) -> None:
        self.machine = ResponseMachine(flt, environ)
        self._server_start = start_response
        self._pending: deque[bytes] = deque()

    # -- what the app calls ------------------------------------------------------

    def start_response(self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None) -> Write:
        """The app's ``start_response``; with ``exc_info``, a restart that
        re-raises the app's error once body has gone out (PEP 3333)."""
        machine = self.machine
        if exc_info is not None and machine.started:
            try:
                if self._sent:
                    error = exc_info[1]
                    if error is None:
                        raise ProtocolError("start_response called again after the body was sent")
                    raise error.with_traceback(exc_info[2])
                if self._detached:
                    # The server iterates the app itself: its own rules apply.
                    self._server_write = self._server_start(status, headers, exc_info)
                    return self.write
                events = machine.start(status, headers, restart=True)
                if self._forwarded:
                    self._exc_info = exc_info  # the server must be told it is a restart
            finally:
                exc_info = None
        else:
            events = machine.start(status, headers)
        if events:
            self._forward(events[0])  # type: ignore[arg-type]
        return self.write

    def write(self, data: bytes) -> None:
        """The ``write()`` callable: straight to the server when passing through."""
        machine = self.machine
        if machine.state is PASSTHROUGH:
            write = self._server_write
            assert write is not None
            if data:
                while self._pending:
                    write(self._pending.popleft())
                self._sent = True
            write(data)
            return
        events = machine.body(data)
        if events:
            self._send(events)

    # -- what the middleware calls -------------------------------------------------

    def respond(self, app_iter: Iterable[bytes]) -> Iterable[bytes]:
        """What the server gets for the app's iterable: that iterable itself when
        it passes through, the filtered body as a list, or this object."""
        machine = self.machine
        if machine.state is PASSTHROUGH:
            self._detached = True
            return app_iter
        if type(app_iter) is Exchange and app_iter._held is not None and app_iter._outer() is self:
            taken = self._take_held(app_iter)
            if taken is not None:
                return taken
        self._inner = app_iter
        try:
            self._iterator = iter(app_iter)
        except BaseException:
            self._close_inner()
            raise
        if not machine.started:
            return self  # start_response comes with the first chunk
        self._pull(hold=True)
        if self._ended and self._held is None:
            return list(self._pending)
        return self

    # -- what the server calls -----------------------------------------------------

    def __iter__(self) -> Exchange:
        return self

    def __next__(self) -> bytes:
        if self._fast:
            return next(self._iterator)  # type: ignore[arg-type]
        pending = self._pending
        if not pending:
            if self._held is not None:  # not taken by the outer middleware: serialize it
                held, self._held = self._held, None
                self._take(held.events())
            elif self._ended:
                raise StopIteration
            self._pull()
            if not pending:
                raise StopIteration
        self._sent = True
        chunk = pending.popleft()
        if not pending and self.machine.state is PASSTHROUGH and not self._closed:
            self._fast = True
        return chunk

    def close(self) -> None:
        """Close the app's iterable (once, however often this is called)."""
        self._exc_info = None
        self._close_inner()

    # -- internals -------------------------------------------------------------------

    def _pull(self, hold: bool = False) -> None:
        """Read the app until there is output to hand on or the response is over;
        with ``hold``, a filtered response may end as a Held one (see ``respond``)."""
        machine = self.machine
        if not self._ended:
            try:
                for chunk in self._iterator:  # type: ignore[union-attr]
                    if machine.state is PASSTHROUGH:
                        if chunk:
                            self._pending.append(chunk)
                            return
                        continue
                    events = machine.body(chunk)
                    if events:
                        self._take(events)
                        if self._ended:
                            break
                        if self._pending:
                            return
                else:
                    self._close_inner()
                    self._take(self._end() if hold and self._outer() is not None else machine.end())
            except BaseException:
                self._close_inner()
                raise
        self._close_inner()

    def _outer(self) -> Exchange | None:
        """The dualfilter middleware directly around this one (its start_response
        is ours), to which a filtered body may go unserialized; else None."""
        start = self._server_start
        if type(start) is MethodType and start.__func__ is Exchange.start_response:
            return cast(Exchange, start.__self__)
        return None

    def _end(self) -> list[Event]:
        """End the machine keeping a filtered body unserialized for the outer middleware."""
        result = self.machine.end_native()
        if isinstance(result, list):
            return result
        self._held = result  # the start goes out with it, from the outer middleware or at first iteration
        self._ended = True
        return []

    def _take_held(self, inner: Exchange) -> Iterable[bytes] | None:
        """The inner middleware's Held response as this one's body, unserialized,
        if this filter buffers it; None to read it as bytes instead."""
        held = inner._held
        assert held is not None
        machine = self.machine
        if machine.started or not machine.would_buffer(held.start.status, held.start.headers):
            return None
        inner._held = None
        inner.close()
        machine.take(held)
        self._take(self._end() if self._outer() is not None else machine.end())
        return self if self._held is not None else list(self._pending)

    def _take(self, events: list[Event]) -> None:
        """Events met while reading the app: a start goes to the server now, body
        waits to be iterated out."""
        for event in events:
            if type(event) is Body:
                self._pending.append(event.data)
            elif type(event) is ResponseStart:
                self._forward(event)
            else:
                self._ended = True

    def _send(self, events: list[Event]) -> None:
        """Events met in ``write()``: they go to the server at once."""
        for event in events:
            if type(event) is Body:
                assert self._server_write is not None
                self._sent = True
                self._server_write(event.data)
            elif type(event) is ResponseStart:
                self._forward(event)
            else:
                self._ended = True

    def _forward(self, start: ResponseStart) -> None:
        exc_info, self._exc_info = self._exc_info, None
        status = status_line(start.status, start.reason)
        if exc_info is None:
            self._server_write = self._server_start(status, start.headers)
        else:
            self._server_write = self._server_start(status, start.headers, exc_info)
        self._forwarded = True

    def _close_inner(self) -> None:
        if self._closed:
            return
        self._closed = True
        close: Any = getattr(self._inner, "close", None)
        if close is not None:
            close()
