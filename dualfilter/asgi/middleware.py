"""``FilterMiddleware``: a pure ASGI 3 middleware that runs a Filter over ``http`` responses."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..request import removed_headers, strip_pairs
from .environ import ScopeEnviron
from .responder import Responder
from .types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from ..filter import Filter


class FilterMiddleware:
    """Wraps an ASGI app so that ``filter`` sees its HTTP responses.

    Only ``http`` scopes are filtered; ``websocket`` and ``lifespan`` go to the
    app untouched, and so does ``receive`` (request bodies and disconnects).
    """

    __slots__ = ("filter", "app", "_removed")

    def __init__(self, filter: Filter, app: ASGIApp) -> None:
        self.filter = filter
        self.app = app
        # The headers the app must not see, and If-None-Match when derived tags are translated for it.
        translated = {"if-none-match"} if filter.etag_token is not None else set()
        self._removed = frozenset(name.encode("latin-1") for name in removed_headers(filter) | translated)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        removed = self._removed
        for name, _ in scope.get("headers", ()):
            if name.lower() in removed:
                scope = self._request_scope(scope)
                break
        responder = Responder(self.filter, ScopeEnviron(scope), send)
        # If the app raises, the exception goes to the server as it is: anything
        # held back was never sent, so the server answers with its own 500.
        await self.app(scope, receive, responder.send)

    def _request_scope(self, scope: Scope) -> Scope:
        """A copy of the scope without the request headers the filter removes."""
        return {**scope, "headers": strip_pairs(scope["headers"], self.filter)}

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.filter!r} over {self.app!r}>"
