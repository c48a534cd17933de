"""``FilterMiddleware``: a pure ASGI 3 middleware that runs a Filter over ``http`` responses."""

from __future__ import annotations

import contextvars
import logging
from typing import TYPE_CHECKING

import anyio

from ..request_policy import RequestPolicy
from ..responses import request_refused
from .environ import ScopeEnviron
from .redispatch import FirstCall, second_call
from .responder import Responder
from .types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from ..filter import Filter

log = logging.getLogger("dualfilter")


class FilterMiddleware:
    """Wraps an ASGI app so that ``filter`` sees its HTTP responses.

    Only ``http`` scopes are filtered; ``websocket`` and ``lifespan`` go to the
    app untouched, and so does ``receive`` (request bodies and disconnects).
    The request headers are shown to the app as the filter's request policy
    says; the machine may have the app asked again for a safe request (a
    redispatch). A request ``should_filter_request`` refuses goes to the app untouched.
    """

    __slots__ = ("filter", "app", "_policy", "_shows")

    def __init__(self, filter: Filter, app: ASGIApp) -> None:
        self.filter = filter
        self.app = app
        self._policy = filter.request_policy
        # Whether the policy may show the app anything but the request as it came
        # (only a translated If-None-Match): if not, it is not asked per request.
        self._shows = self._policy.token is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers")
        if headers is not None and type(headers) is not list and type(headers) is not tuple:
            scope["headers"] = list(headers)  # any iterable (the spec's word): read once, here, for all
        # The filter reads the request as the client sent it, and a redispatch asks it so:
        # both from a copy. The app gets the server's scope itself, so what a router writes
        # there (the route, its parameters) reaches the middleware around this one too.
        request = {**scope}
        # The app sees the request as the policy shows it (a translated If-None-Match).
        shown = scope
        if self._shows:
            pairs = self._policy.pairs(request.get("headers", ()))
            if pairs is not None:
                shown = {**scope, "headers": pairs}
        flt = self.filter
        environ = None  # built for the filter when first needed
        if flt.asks_requests or not flt.default_decision:
            environ = ScopeEnviron(request, shown)
            if flt.asks_requests:
                refused = request_refused(flt, environ)
                if refused:  # should_filter_request raised: the clean 500, the app not asked
                    await Responder(flt, request, environ, send).answer(refused)
                    return
                if refused is not None:
                    await self.app(scope, receive, send)
                    return
        responder = Responder(flt, request, environ, send, shown)
        # If the app raises, the exception goes to the server as it is: anything
        # held back was never sent, so the server answers with its own 500.
        try:
            if RequestPolicy.may_redispatch_scope(request):
                await self._call_may_ask_again(request, shown, receive, responder)
                return
            await self.app(shown, receive, responder.send)
            if responder.asked_again:  # (a redispatch the request's headers did not foretell)
                await self._ask_again(request, receive, responder)
        finally:
            if shown is not scope:  # what the app wrote in its scope, but the headers shown it
                scope.update((key, value) for key, value in shown.items() if key != "headers")
            # A response dropped before its end (the client went away, the app failed):
            # a filter's stream still open lets go of what it holds now.
            machine = responder.machine
            if machine is not None:
                machine.abandon()

    async def _call_may_ask_again(self, request: Scope, shown: Scope, receive: Receive, responder: Responder) -> None:
        """The app's call (with ``shown``) for a ``request`` it may be asked again (a redispatch).

        The second call starts as soon as the dropped answer has ended, while the
        first call finishes alongside (its background tasks, say); both are awaited.
        An exception goes to the server as it was raised once both calls are done;
        if both raise, the second call's does and the first's is logged.

        The second call starts in a task of its own, in the context the server called
        in (as a server starts each call): never in what the first call set there (a
        request id, a tracing span)."""
        failures: list[Exception] = []  # [first call's, second call's], either may be missing
        context = contextvars.copy_context()

        async def second() -> None:
            try:
                await self._ask_again(request, receive, responder)
            except Exception as exc:  # raised below, out of the task group, as it was
                failures.append(exc)

        async with anyio.create_task_group() as group:

            def ask_again() -> None:
                context.copy().run(group.start_soon, second)  # the task copies the context it is started in

            first = responder.first = FirstCall(receive, responder.send, ask_again)
            try:
                await self.app(shown, first.receive, first.send)
            except Exception as exc:
                failures.insert(0, exc)
        try:
            if not failures and responder.asked_again and not first.answer_dropped:
                # The first call returned without ending its answer: the second starts now.
                async with anyio.create_task_group() as group:
                    context.copy().run(group.start_soon, second)
            if len(failures) == 2:
                log.error("the app failed after its answer was dropped for a redispatch", exc_info=failures[0])
            if failures:
                raise failures[-1]
        finally:
            # The first call's hooks point back at the task group and the responder: let go
            # of them, so nothing of the request waits for the garbage collector.
            responder.first = None
            first.forget()
            failures.clear()

    async def _ask_again(self, request: Scope, receive: Receive, responder: Responder) -> None:
        """The second call of a redispatch: the same request without range and
        conditional headers, for the full response."""
        again = {**request, "headers": RequestPolicy.redispatch_pairs(request.get("headers", ()))}
        responder.next_answer(again)
        await self.app(again, second_call(receive), responder.send)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.filter!r} over {self.app!r}>"
