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
it), then the server's own messages.
"""

from __future__ import annotations

import anyio

from .types import Message, Receive

DISCONNECT: Message = {"type": "http.disconnect"}


class FirstCall:
    """``receive`` for the app's first call of a request it may be asked again,
    through :meth:`receive`; the responder calls :meth:`dropped` when the answer
    it drops for the redispatch has ended."""

    __slots__ = ("_receive", "_dropped", "_waiting")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._dropped = False
        #: The scope of a call waiting on the server, which ``dropped`` cancels.
        self._waiting: anyio.CancelScope | None = None

    async def receive(self) -> Message:
        """The server's next message, awaited in the caller's task (a call in a
        cancelled scope, as Starlette's ``is_disconnected`` makes, gets what the
        server has queued); ``http.disconnect`` once a dropped answer has ended."""
        if self._dropped:
            return DISCONNECT
        with anyio.CancelScope() as waiting:
            self._waiting = waiting
            try:
                return await self._receive()
            finally:
                self._waiting = None
        return DISCONNECT  # cancelled by dropped()

    def dropped(self) -> None:
        """The answer dropped for a redispatch has ended: ``receive`` says so from now on,
        a call already waiting included."""
        self._dropped = True
        if self._waiting is not None:
            self._waiting.cancel()


def second_call(receive: Receive) -> Receive:
    """``receive`` for the app's second call of a safe request: an empty body,
    then the server's own messages (a disconnect)."""
    given = False

    async def again() -> Message:
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": b"", "more_body": False}
        return await receive()

    return again
