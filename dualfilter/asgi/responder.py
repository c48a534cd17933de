"""One response through the filter: the ``send`` the wrapped app is given.

It feeds the app's messages to a :class:`~dualfilter.ResponseMachine` and sends
on what the machine returns. Once the machine says the response passes
through, every further message is forwarded as it came, without the machine.
A filtered response is held, start included, until the app ends it; then one
start with the fixed headers and one body go out (and trailers, if announced).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MethodType
from typing import TYPE_CHECKING, Any, cast

import anyio
import anyio.to_thread

from ..errors import ProtocolError
from ..events import Body, End, Event, HeaderList, ResponseStart
from ..machine import ResponseMachine, State
from ..payload import Held
from .headers import RawHeaders, to_bytes, to_str
from .types import Message, Send

if TYPE_CHECKING:
    from ..filter import Filter

#: Bytes read at a time from a file the app sent by ``http.response.pathsend``.
FILE_CHUNK = 64 * 1024


async def run_in_thread(func: Callable[[], list[Event]]) -> list[Event]:
    """Run a sync ``filter()`` in a worker thread so the event loop keeps serving."""
    return await anyio.to_thread.run_sync(func)


class Responder:
    """The ``send`` callable for one filtered request."""

    __slots__ = ("machine", "send_out", "passing", "held", "held_headers", "trailers_in", "trailers_out", "trailer_pairs")

    def __init__(self, flt: Filter, environ: Mapping[str, Any], send: Send) -> None:
        self.machine = ResponseMachine(flt, environ)
        self.send_out = send
        #: True once every message is forwarded as it comes.
        self.passing = False
        self.held: Message | None = None
        self.held_headers: HeaderList | None = None
        self.trailers_in = False
        self.trailers_out = False
        self.trailer_pairs: RawHeaders | None = None

    async def send(self, message: Message) -> None:
        """Take one message from the app."""
        if self.passing:
            await self.send_out(message)
            return
        kind = message["type"]
        if kind == "http.response.body":
            data = message.get("body", b"")
            if type(data) is not bytes:
                data = bytes(data)
            more = message.get("more_body", False)
            events = self.machine.body(data)
            if events or not more:  # the common case, a chunk held, costs no further call
                await self._after_body(events, more)
        elif kind == "http.response.start":
            headers = to_str(message.get("headers", ()))
            events = self.machine.start(message["status"], headers)
            if not events:
                self.held = message
                self.held_headers = headers
                self.trailers_in = bool(message.get("trailers", False))
                return
            start = events[0]
            assert type(start) is ResponseStart
            out = message if start.headers is headers else self._start_message(start, message)
            if self.machine.passthrough:
                self.passing = True
            else:  # a streamed response: the start goes now, each chunk through the machine
                self.trailers_in = bool(message.get("trailers", False))
                self.trailers_out = bool(out.get("trailers", False))
            await self.send_out(out)
        elif kind == "http.response.trailers":
            await self._trailers(message)
        elif kind == "http.response.pathsend":
            await self._pathsend(message["path"])
        elif self.held is None:
            await self.send_out(message)  # an extension message before the start: not ours
        else:
            raise ProtocolError(f"cannot filter a response sent with {kind!r} messages")

    # -- app messages in ---------------------------------------------------------

    async def _after_body(self, events: list[Event], more: bool) -> None:
        """Send what a body chunk produced; at the last one, end the response."""
        machine = self.machine
        if events:  # the body outgrew max_buffer_size
            await self._emit(events)
            if machine.passthrough:
                self.passing = True
                if not more:
                    await self.send_out({"type": "http.response.body", "body": b"", "more_body": False})
                return
        if not more and not self.trailers_in:
            await self._end()

    async def _end(self) -> None:
        """End the response; a filtered body goes to a directly stacked outer
        dualfilter responder unserialized when that one filters it too."""
        machine = self.machine
        send = self.send_out
        # The send we were given is another dualfilter responder's own: nothing
        # stands between us, so the body may go to it unserialized.
        if type(send) is not MethodType or send.__func__ is not Responder.send:
            await self._emit(await machine.end_async(None, run_in_thread))
            return
        result = await machine.end_native_async(None, run_in_thread)
        if isinstance(result, list):
            await self._emit(result)
        elif not await cast(Responder, send.__self__).take(result):
            await self._emit(result.events())

    async def take(self, held: Held) -> bool:
        """An inner responder's Held response as this response, its body as it
        is, if this filter buffers it; False to be sent it as messages instead."""
        machine = self.machine
        if self.passing or machine.started or not machine.would_buffer(held.start.status, held.start.headers):
            return False
        machine.take(held)
        self.held = {"type": "http.response.start", "status": held.start.status, "headers": to_bytes(held.start.headers)}
        self.held_headers = held.start.headers
        await self._end()
        return True

    async def _trailers(self, message: Message) -> None:
        pairs = self.trailer_pairs = [*(self.trailer_pairs or ()), *message.get("headers", ())]
        if not message.get("more_trailers", False):
            await self._emit(await self.machine.end_async(to_str(pairs), run_in_thread))

    async def _pathsend(self, path: str) -> None:
        """A file to filter: read it as the body (a passthrough one never gets here)."""
        if self.held is None:
            raise ProtocolError("http.response.pathsend before http.response.start")
        async with await anyio.open_file(path, "rb") as file:
            while chunk := await file.read(FILE_CHUNK):
                if self.passing:
                    await self.send_out({"type": "http.response.body", "body": chunk, "more_body": True})
                    continue
                await self._after_body(self.machine.body(chunk), True)
                if self.machine.state is State.DRAINING:
                    break
        if self.passing:
            await self.send_out({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await self._after_body([], False)

    # -- machine events out ------------------------------------------------------

    def _start_message(self, event: ResponseStart, original: Message | None) -> Message:
        headers = to_bytes(event.headers)
        if original is None or self.machine.error is not None:
            return {"type": "http.response.start", "status": event.status, "headers": headers}
        message = dict(original)  # keeps the app's own keys, such as "trailers"
        message["status"] = event.status
        message["headers"] = headers
        return message

    async def _emit(self, events: list[Event]) -> None:
        send = self.send_out
        if len(events) == 3 and not self.trailers_in:  # the usual filtered response: start, body, end
            start, body, end = events
            if type(start) is ResponseStart and type(body) is Body and type(end) is End:
                await send(self._start_message(start, self.held))
                await send({"type": "http.response.body", "body": body.data, "more_body": False})
                return
        last = len(events) - 1
        body_done = False
        for index, event in enumerate(events):
            if type(event) is Body:
                body_done = index < last and type(events[index + 1]) is End
                await send({"type": "http.response.body", "body": event.data, "more_body": not body_done})
            elif type(event) is ResponseStart:
                held = self.held
                if event.headers is self.held_headers and held is not None and event.status == held["status"]:
                    message = held
                else:
                    message = self._start_message(event, held)
                self.trailers_out = bool(message.get("trailers", False))
                await send(message)
            elif type(event) is End:
                if not body_done:
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                if self.trailers_out:
                    await send({"type": "http.response.trailers", "headers": to_bytes(event.trailers), "more_trailers": False})
