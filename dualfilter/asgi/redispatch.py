"""What an ASGI app is given to receive when it may be asked the same request twice.

A redispatch drops the app's first answer (a 206 or 304 that may stand for a
filtered page) and calls the app again for the full response. The first call's
``receive`` is the server's; but an app may return only once ``receive`` says
``http.disconnect`` (Quart does), which the server sends only after a response
it sent, and it never sent the dropped one. So, for a request that may be
asked again, the first call's ``receive`` also says ``http.disconnect`` once
that answer has ended, a call already waiting included (ASGI: the disconnect
follows a sent response); any other request's ``receive`` is the server's
own, untouched. The second call gets an empty request body (the first read
it, or left it unread), then the server's own messages but the body's.

The second call starts as soon as the dropped answer has ended, not when the
first call returns: Starlette runs a response's background tasks after its
last message, and the client would wait for them. The first call finishes
alongside; what it sends after its answer ended is dropped with that answer.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio

from .types import Message, Receive, Send


def disconnect() -> Message:
    """A new ``http.disconnect`` message: each call its own, as the app may change what it gets."""
    return {"type": "http.disconnect"}


class FirstCall:
    """``receive`` and ``send`` for the app's first call of a request it may be
    asked again (:meth:`receive`, :meth:`send`); the responder calls :meth:`dropped`
    when the answer it drops for the redispatch has ended, which calls ``ended``
    (the middleware starts the second call there)."""

    __slots__ = ("_receive", "_send", "_ended", "_dropped", "_waiting")

    def __init__(self, receive: Receive, send: Send | None = None, ended: Callable[[], None] | None = None) -> None:
        self._receive = receive
        self._send = send
        self._ended = ended
        self._dropped = False
        #: The scope of a call waiting on the server, which ``dropped`` cancels.
        self._waiting: anyio.CancelScope | None = None

    def forget(self) -> None:
        """Let go of the hooks into the middleware, once the call is over."""
        self._send = self._ended = None

    @property
    def answer_dropped(self) -> bool:
        """Whether the answer dropped for a redispatch has ended."""
        return self._dropped

    async def send(self, message: Message) -> None:
        """The app's message, to the responder; none once the dropped answer has
        ended (the second answer may be under way: the rest of the first is dropped)."""
        if not self._dropped:
            assert self._send is not None
            await self._send(message)

    async def receive(self) -> Message:
        """The server's next message, awaited in the caller's task (a call in a
        cancelled scope, as Starlette's ``is_disconnected`` makes, gets what the
        server has queued); ``http.disconnect`` once a dropped answer has ended."""
        if self._dropped:
            return disconnect()
        with anyio.CancelScope() as waiting:
            self._waiting = waiting
            try:
                return await self._receive()
            finally:
                self._waiting = None
        return disconnect()  # cancelled by dropped()

    def dropped(self) -> None:
        """The answer dropped for a redispatch has ended: ``receive`` says so from now on,
        a call already waiting included."""
        if self._dropped:
            return
        self._dropped = True
        if self._waiting is not None:
            self._waiting.cancel()
        if self._ended is not None:
            self._ended()


def second_call(receive: Receive) -> Receive:
    """``receive`` for the app's second call of a safe request: an empty body, then
    the server's own messages but its request body (a disconnect). The first call may
    have left that body unread (a GET handler reads none), and after the final
    ``http.request`` the ASGI spec has only ``http.disconnect`` follow."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        message = await receive()
        while message.get("type") == "http.request":  # the body the server still holds: finite
            message = await receive()
        return message

    return again
