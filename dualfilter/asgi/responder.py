"""One response through the filter: the ``send`` the wrapped app is given.

It turns the app's messages into machine events (the async driver runs the
filter) and the machine's events back into messages. Once the machine says
the response passes through, every further message is forwarded as it came,
without the machine. A filtered response is held, start included, until the
app ends it; then one start with the fixed headers and one body go out (and
trailers, if the response has them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio

from ..drivers import drive_async
from ..errors import ProtocolError
from ..events import PASSTHROUGH, Body, End, Event, FilterCall, Passthrough, Redispatch, ResponseStart
from ..machine import ResponseMachine
from .headers import RawHeaders, to_bytes, to_str
from .types import Message, Send

if TYPE_CHECKING:
    from ..filter import Filter

#: Bytes read at a time from a file the app sent by ``http.response.pathsend``.
FILE_CHUNK = 64 * 1024


class Responder:
    """The ``send`` callable for one filtered request."""

    __slots__ = (
        "machine",
        "send_out",
        "passing",
        "ended",
        "asked_again",
        "app_start",
        "app_headers",
        "trailers_in",
        "trailers_out",
        "trailer_pairs",
    )

    def __init__(self, flt: Filter, environ: Mapping[str, Any], send: Send) -> None:
        self.machine = ResponseMachine(flt, environ, True)  # True: can_redispatch (positional: cheaper)
        self.send_out = send
        #: True once the machine said PASSTHROUGH: every message is forwarded as it comes.
        self.passing = False
        #: True once the machine's End went out: the rest of the app's response is dropped.
        self.ended = False
        #: True once the machine said REDISPATCH: the app is to be asked again.
        self.asked_again = False
        self.app_start: Message | None = None
        self.app_headers: list[tuple[str, str]] | None = None
        self.trailers_in = False
        self.trailers_out = False
        self.trailer_pairs: RawHeaders = []

    async def send(self, message: Message) -> None:
        """Take one message from the app."""
        if self.passing:
            await self.send_out(message)
            return
        kind = message["type"]
        machine = self.machine
        if kind == "http.response.body":
            data = message.get("body", b"")
            if type(data) is not bytes:
                data = bytes(data)
            events = machine.body(data)
            if events:  # streamed, or the body outgrew max_buffer_size
                await self._emit(events)
            if not message.get("more_body", False):
                if self.passing:  # it just went over to passthrough: this was the last chunk
                    await self.send_out({"type": "http.response.body", "body": b"", "more_body": False})
                elif not self.trailers_in:
                    await self._emit(machine.end())
        elif kind == "http.response.start":
            raw = message.get("headers", ())
            if type(raw) is not list and type(raw) is not tuple:
                # Any iterable is allowed (a generator, say): read it once, forward what was read.
                message = {**message, "headers": list(raw)}
                raw = message["headers"]
            headers = self.app_headers = to_str(raw)
            self.app_start = message
            self.trailers_in = bool(message.get("trailers", False))
            self.trailer_pairs = []
            events = machine.start(message["status"], headers)
            if len(events) == 2 and events[1] is PASSTHROUGH:
                # The most common answer, sent as _emit() would send it: the app's start, then its own body.
                await self.send_out(self._start_message(events[0], self.trailers_in))  # type: ignore[arg-type]
                self.passing = True
            elif events:
                await self._emit(events)
        elif kind == "http.response.trailers":
            self.trailer_pairs += message.get("headers", ())
            if not message.get("more_trailers", False):
                await self._emit(machine.end(to_str(self.trailer_pairs)))
        elif kind == "http.response.pathsend":
            await self._pathsend(message["path"])
        elif self.app_start is None:
            await self.send_out(message)  # an extension message before the start: not ours
        else:
            raise ProtocolError(f"cannot filter a response sent with {kind!r} messages")

    async def _pathsend(self, path: str) -> None:
        """A file to filter: read it as the body (a passthrough one never gets here)."""
        if self.app_start is None:
            raise ProtocolError("http.response.pathsend before http.response.start")
        if self.asked_again:
            return  # an answer being dropped: no need to read it
        async with await anyio.open_file(path, "rb") as file:
            while not self.ended and (chunk := await file.read(FILE_CHUNK)):
                if self.passing:
                    await self.send_out({"type": "http.response.body", "body": chunk, "more_body": True})
                    continue
                events = self.machine.body(chunk)
                if events:
                    await self._emit(events)
        if self.passing:
            await self.send_out({"type": "http.response.body", "body": b"", "more_body": False})
        elif not self.trailers_in:
            await self._emit(self.machine.end())

    # -- machine events out ------------------------------------------------------

    def _start_message(self, event: ResponseStart, trailers: bool) -> Message:
        app = self.app_start
        if event.headers is self.app_headers and app is not None and event.status == app["status"]:
            if bool(app.get("trailers", False)) == trailers:
                return app  # the app's own message, as it sent it
        message: Message = {"type": "http.response.start", "status": event.status, "headers": to_bytes(event.headers)}
        if trailers:
            message["trailers"] = True
        return message

    async def _emit(self, events: list[Event]) -> None:
        """Run the filter where the machine asks, then send what it answered."""
        if events and type(events[-1]) is FilterCall:  # else there is nothing for the driver to run
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
                await send(self._start_message(event, trailers))  # type: ignore[arg-type]
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
