"""``FilterMiddleware``: a pure ASGI 3 middleware that runs a Filter over ``http`` responses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .environ import ScopeEnviron
from .responder import Responder
from .types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from ..filter import Filter


class FilterMiddleware:
    """Wraps an ASGI app so that ``filter`` sees its HTTP responses.

    Only ``http`` scopes are filtered; ``websocket`` and ``lifespan`` go to the
    app untouched, and so does ``receive`` (request bodies and disconnects).
    The request headers are shown to the app as the filter's request policy says.
    """

    __slots__ = ("filter", "app", "_policy")

    def __init__(self, filter: Filter, app: ASGIApp) -> None:
        self.filter = filter
        self.app = app
        self._policy = filter.request_policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = self._policy.pairs(scope.get("headers", ()))
        if headers is not None:
            scope = {**scope, "headers": headers}
        responder = Responder(self.filter, ScopeEnviron(scope), send)
        # If the app raises, the exception goes to the server as it is: anything
        # held back was never sent, so the server answers with its own 500.
        await self.app(scope, receive, responder.send)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.filter!r} over {self.app!r}>"
