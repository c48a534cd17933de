"""One response through the filter: the ``send`` the wrapped app is given.

At the app's start it asks the memoised decision (on the byte headers): a
response left untouched is forwarded as it comes, start included, and no
machine is made. Otherwise it turns the app's messages into machine events
(the async driver runs the filter) and the machine's events back into
messages. Once the machine says the response passes through, every further
message is forwarded as it came, without the machine. A filtered response is held, start included, until the
app ends it; then one start with the fixed headers and one body go out (and
trailers, if the response has them). Body extensions (pathsend, zerocopysend)
are read as body; push and early hints go on to the server (see ``send``).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import anyio

from ..decision import decide_raw
from ..drivers import drive_async
from ..errors import ProtocolError
from ..events import PASSTHROUGH, Body, End, Event, FilterCall, Passthrough, Redispatch, ResponseStart
from ..headers import asks_close
from ..machine import ResponseMachine
from ..state import DROPS_BODY
from .environ import ScopeEnviron
from .headers import RawHeaders, to_bytes, to_str
from .types import Message, Scope, Send

if TYPE_CHECKING:
    from ..filter import Filter
    from .redispatch import FirstCall

#: Bytes read at a time from a file the app sent by ``http.response.pathsend`` or ``zerocopysend``.
FILE_CHUNK = 64 * 1024


class Responder:
    """The ``send`` callable for one filtered request."""

    # Per-response values start as these class defaults, so a responder (one per
    # request, filtered or not) sets only what differs.
    #: Made at the first start the decision does not leave untouched.
    machine: ResponseMachine | None = None
    #: True once the response passes through: every message is forwarded as it comes.
    passing = False
    #: True once the machine's End went out: the rest of the app's response is dropped.
    ended = False
    #: True once the machine said REDISPATCH: the app is to be asked again.
    asked_again = False
    #: True once a start went out to the server (push messages wait for it).
    start_out = False
    trailers_out = False
    # What the app sent of the answer it is giving (forgotten when it is asked again).
    app_start: Message | None = None
    app_headers: list[tuple[str, str]] | None = None
    trailers_in = False
    #: True once the final body message (``more_body`` False) of a start with trailers came.
    body_done = False
    trailer_pairs: RawHeaders = []
    #: The app's ``http.response.push`` messages sent while the start is held, in order.
    pushes: list[Message] | None = None
    #: The app's first call's ``receive``, told when an answer dropped for a redispatch ended.
    first: FirstCall | None = None

    def __init__(self, flt: Filter, scope: Scope, environ: ScopeEnviron | None, send: Send, handed: Scope | None = None) -> None:
        self.filter = flt
        #: The request as it came.
        self.scope = scope
        #: The request's environ for the filter (built from ``scope`` when first needed).
        self.environ = environ
        self.send_out = send
        #: The scope the app's call was handed, which the filter reads under ``asgi.scope``.
        self.handed = handed

    def next_answer(self, handed: Scope) -> None:
        """Forget the dropped first answer before the app is asked again (a redispatch)
        with ``handed``: the second answer starts afresh, extension messages before its
        start included, and the filter reads what the second call writes in its scope."""
        self.handed = handed
        if self.environ is not None:
            self.environ.hand(handed)
        self.asked_again = False
        self.app_start = self.app_headers = self.pushes = None
        self.trailers_in = self.body_done = False
        self.trailer_pairs = []

    async def send(self, message: Message) -> None:
        """Take one message from the app.

        Extension messages: before the app's start they are not the response's and go
        on at once (``http.response.debug``, an early hint). After it, an early hint
        goes on at once (a 103 precedes the final start the server has not sent yet,
        and a server ignores or refuses it after that start), and a push follows the
        start, waiting for it while it is held. Both are dropped with an answer that
        never reaches the client (the first of a redispatch: the second sends its own)
        or after the response went out whole (the server may send nothing after it).
        A message of any other type could carry body the filter would miss: refused.
        """
        if self.passing:
            await self.send_out(message)
            return
        kind = message["type"]
        machine = self.machine
        if kind == "http.response.body":
            if machine is None:
                raise ProtocolError("http.response.body before http.response.start")
            if self.body_done:  # servers refuse it: the trailer section is all that may follow
                raise ProtocolError("a body message after the final one (more_body False)")
            data = message.get("body", b"")
            if type(data) is not bytes:
                data = bytes(data)
            events = machine.body(data)
            if events:  # streamed, or the body outgrew max_buffer_size
                await self._emit(events)
            if not message.get("more_body", False):
                await self._body_whole()
        elif kind == "http.response.start":
            raw = message.get("headers", ())
            if type(raw) is not list and type(raw) is not tuple:
                # Any iterable is allowed (a generator, say): read it once, forward what was read.
                message = {**message, "headers": list(raw)}
                raw = message["headers"]
            if raw and type(raw[0][0]) is str:
                # ASGI headers are bytes; h11-based servers take str too (latin-1), and so does the
                # filter, rather than read no Content-Type and let the page pass.
                message = {**message, "headers": _latin1_pairs(raw)}
                raw = message["headers"]
            status = message["status"]
            decision = None
            if machine is None:
                flt = self.filter
                if type(status) is int:
                    decision = decide_raw(flt, self.scope.get("method", "GET"), status, raw, self.environ)
                    if decision.untouched and (decision.media_type or not _has_text(raw)):
                        # The most common answer: the app's start, then its own body, as they come.
                        self.passing = True
                        await self.send_out(message)
                        return
                machine = self.machine = ResponseMachine(flt, self._environ(), True)  # True: can_redispatch
            try:
                headers = to_str(raw)
            except AttributeError:  # str pairs after bytes ones (rare): decided again, on every pair
                message = {**message, "headers": _latin1_pairs(raw)}
                raw, decision = message["headers"], None
                headers = to_str(raw)
            self.app_headers = headers
            self.app_start = message
            self.trailers_in = bool(message.get("trailers", False))
            self.trailer_pairs = []
            events = machine.start(status, headers, decision=decision)
            if len(events) == 2 and events[1] is PASSTHROUGH:
                # As _emit() would send it: the app's start, then its own body.
                await self.send_out(self._start_message(events[0], self.trailers_in))  # type: ignore[arg-type]
                self.passing = True
            elif events:
                await self._emit(events)
        elif kind == "http.response.trailers":
            if machine is None:
                raise ProtocolError("http.response.trailers before http.response.start")
            if not self.trailers_in:  # as servers refuse them: the start never said a trailer section follows
                raise ProtocolError("http.response.trailers after an http.response.start without trailers: True")
            if not self.body_done:  # ASGI: trailers follow the final body message, as servers hold
                raise ProtocolError("http.response.trailers before the final http.response.body (more_body False)")
            self.trailer_pairs += message.get("headers", ())
            if not message.get("more_trailers", False):
                await self._end(to_str(self.trailer_pairs))
        elif kind == "http.response.pathsend":
            await self._pathsend(message["path"])
        elif kind == "http.response.zerocopysend":
            await self._zerocopysend(message)
        elif self.app_start is None:
            await self.send_out(message)  # an extension message before the start: not ours
        elif kind == "http.response.push" or kind == "http.response.early_hint":
            if self.asked_again or self.ended:
                return  # for an answer the client never gets, or after the whole response
            if self.start_out or kind == "http.response.early_hint":
                await self.send_out(message)
            elif self.pushes is None:
                self.pushes = [message]
            else:
                self.pushes.append(message)
        else:
            raise ProtocolError(f"cannot filter a response sent with {kind!r} messages")

    def _environ(self) -> Mapping[str, Any]:
        if self.environ is None:
            self.environ = ScopeEnviron(self.scope, self.handed)
        return self.environ

    async def _pathsend(self, path: str) -> None:
        """A file to filter: read it as the body (a passthrough one never gets here, and
        one whose body the machine drops, a HEAD's, is not opened)."""
        if self.app_start is None:
            raise ProtocolError("http.response.pathsend before http.response.start")
        if self.asked_again:
            self._dropped_ended()
            return  # an answer being dropped: no need to read it
        assert self.machine is not None  # made at the start
        if self.machine.state in DROPS_BODY:
            await self._read_body(_nothing, more=False)  # the file is not even opened
            return
        async with await anyio.open_file(path, "rb") as file:
            await self._read_body(lambda: file.read(FILE_CHUNK), more=False)

    async def _zerocopysend(self, message: Message) -> None:
        """Part of the body in an open file (the zero-copy send extension): ``count``
        bytes of ``file`` (to its end when absent) from ``offset`` (from its current
        position when absent, which then advances, as the server's sendfile would
        move it), read as an ``http.response.body`` of them would be."""
        if self.app_start is None:
            raise ProtocolError("http.response.zerocopysend before http.response.start")
        if self.asked_again:
            if not message.get("more_body", False):
                self._dropped_ended()
            return  # an answer being dropped: no need to read it
        more = bool(message.get("more_body", False))
        assert self.machine is not None  # made at the start
        if self.machine.state in DROPS_BODY:
            await self._read_body(_nothing, more)  # the file is not read
            return
        file = message["file"]
        fd: int = file if type(file) is int else file.fileno()
        offset: int | None = message.get("offset")
        count: int | None = message.get("count")

        async def read() -> bytes:
            nonlocal offset, count
            size = FILE_CHUNK if count is None else min(count, FILE_CHUNK)
            if size <= 0:
                return b""
            if offset is None:
                chunk = await anyio.to_thread.run_sync(os.read, fd, size)
            else:
                chunk = await anyio.to_thread.run_sync(os.pread, fd, size, offset)
                offset += len(chunk)
            if count is not None:
                count -= len(chunk)
            return chunk

        await self._read_body(read, more)

    async def _read_body(self, read: Callable[[], Awaitable[bytes]], more: bool) -> None:
        """Feed the chunks ``read`` gives (until an empty one) as body, then end the
        body unless ``more`` is to come; once the response passes through, the rest
        goes on as plain body messages."""
        if self.body_done:
            raise ProtocolError("a body message after the final one (more_body False)")
        while not self.ended and (chunk := await read()):
            if self.passing:
                await self.send_out({"type": "http.response.body", "body": chunk, "more_body": True})
                continue
            assert self.machine is not None  # made at the start
            events = self.machine.body(chunk)
            if events:
                await self._emit(events)
        if not more:
            await self._body_whole()

    async def _body_whole(self) -> None:
        """The app's final body message came: the body ends, or the trailers its start
        announced are awaited; if the response went over to passthrough on the way,
        the server is sent the final body message."""
        if self.passing:
            await self.send_out({"type": "http.response.body", "body": b"", "more_body": False})
        elif self.trailers_in:
            self.body_done = True
        else:
            await self._end()

    # -- machine events out ------------------------------------------------------

    def _start_message(self, event: ResponseStart, trailers: bool) -> Message:
        app = self.app_start
        if event.headers is self.app_headers and app is not None and event.status == app["status"]:
            if bool(app.get("trailers", False)) == trailers:
                return app  # the app's own message, as it sent it
        headers = to_bytes(event.headers)
        if app is not None and asks_close(self.app_headers) and not asks_close(event.headers):
            # The app asked the server to close the connection after this response: a field
            # of the connection, not of the page, which the filtered response still carries.
            headers.append((b"connection", b"close"))
        message: Message = {"type": "http.response.start", "status": event.status, "headers": headers}
        if trailers:
            message["trailers"] = True
        return message

    async def _end(self, trailers: list[tuple[str, str]] | None = None) -> None:
        """The end of the app's answer (and of the one dropped for a redispatch)."""
        assert self.machine is not None  # made at the start
        await self._emit(self.machine.end(trailers))
        if self.asked_again:
            self._dropped_ended()

    def _dropped_ended(self) -> None:
        """The answer dropped for a redispatch has ended: the app's receive() may say so."""
        if self.first is not None:
            self.first.dropped()

    async def answer(self, events: list[Event]) -> None:
        """Send the filter's own whole answer (a clean 500) in place of the app's."""
        await self._emit(events)

    async def _emit(self, events: list[Event]) -> None:
        """Run the filter where the machine asks, then send what it answered."""
        if events and type(events[-1]) is FilterCall:  # else there is nothing for the driver to run
            assert self.machine is not None  # a FilterCall comes from it
            events = await drive_async(self.machine, events)
        send = self.send_out
        last = len(events) - 1
        for index, event in enumerate(events):
            kind = type(event)
            if kind is Body:
                final = index < last and type(events[index + 1]) is End
                await send({"type": "http.response.body", "body": event.data, "more_body": not final})  # type: ignore[union-attr]
            elif kind is ResponseStart:
                # A start that comes with its end in one batch is a whole response (the
                # filtered one, or the machine's own answer): it has trailers when its
                # End says so. A start alone keeps what the app announced.
                end = events[last] if type(events[last]) is End else None
                trailers = end.trailers is not None if isinstance(end, End) else self.trailers_in
                self.trailers_out = trailers
                self.start_out = True
                await send(self._start_message(event, trailers))  # type: ignore[arg-type]
                if self.pushes is not None:  # the app's pushes, held with the start
                    pushes, self.pushes = self.pushes, None
                    for push in pushes:
                        await send(push)
            elif kind is End:
                self.ended = True
                if index == 0 or type(events[index - 1]) is not Body:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                if self.trailers_out:
                    fields = event.trailers or []  # type: ignore[union-attr]
                    await send({"type": "http.response.trailers", "headers": to_bytes(fields), "more_trailers": False})
            elif kind is Passthrough:
                self.passing = True
            elif kind is Redispatch:
                self.asked_again = True


def _latin1_pairs(pairs: Any) -> list[tuple[bytes, bytes]]:
    """Header pairs given as ``str`` (as h11 takes them), as the bytes ASGI specifies."""
    try:
        return [(_latin1(name), _latin1(value)) for name, value in pairs]
    except UnicodeEncodeError as exc:
        raise TypeError(f"ASGI header names and values are bytes (latin-1 text at most): {exc}") from None


def _latin1(item: Any) -> bytes:
    """One header name or value as bytes: a str encoded as latin-1, bytes (or a bytearray) as they are."""
    return item.encode("latin-1") if type(item) is str else bytes(item)


def _has_text(pairs: Any) -> bool:
    """Whether any header name or value is a ``str`` (a plain loop: on every response)."""
    for name, value in pairs:
        if type(name) is str or type(value) is str:
            return True
    return False


async def _nothing() -> bytes:
    """The read of a body that is dropped unread: its end at once."""
    return b""
