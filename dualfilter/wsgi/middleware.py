"""``FilterMiddleware``: a filter around a WSGI application, itself a WSGI application."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..events import Body, Event, ResponseStart
from ..responses import request_refused, status_line
from .exchange import Exchange

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ..filter import Filter


class FilterMiddleware:
    """Runs ``filter`` over every response of the WSGI ``app`` (PEP 3333).

    The request is shown to the app as the filter's request policy says
    (``dualfilter.request_policy``); each response the decision does not leave
    untouched goes through its own :class:`~dualfilter.machine.ResponseMachine`,
    which may have the app asked again for a safe request (a redispatch). A request ``should_filter_request``
    refuses goes to the app untouched.
    """

    __slots__ = ("filter", "app", "_policy", "_shows")

    def __init__(self, filter: Filter, app: WSGIApplication) -> None:
        self.filter = filter
        self.app = app
        self._policy = filter.request_policy
        # Whether the policy may show the app anything but the request as it came
        # (only a translated If-None-Match): if not, it is not asked per request.
        self._shows = self._policy.token is not None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        flt = self.filter
        if flt.asks_requests:
            refused = request_refused(flt, environ)
            if refused:  # should_filter_request raised: the clean 500, the app not asked
                return _answer(refused, start_response)
            if refused is not None:
                return self.app(environ, start_response)
        # The filter reads the request as the client sent it; the app, as the policy shows it.
        exchange = Exchange(flt, environ, start_response, self.app)
        start = exchange.start_response
        if self._shows:
            hidden = self._policy.show(environ)
            if hidden is not None:
                start = exchange.shown(hidden)
        try:
            result = self.app(environ, start)
        except BaseException:
            exchange.abandon()  # a stream opened at its start lets go of what it holds
            raise
        return exchange.respond(result)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.filter!r} around {self.app!r}>"


def _answer(events: list[Event], start_response: StartResponse) -> list[bytes]:
    """The filter's own whole answer (a clean 500), to the server."""
    start = events[0]
    assert isinstance(start, ResponseStart)
    start_response(status_line(start.status, start.reason), start.headers)
    return [event.data for event in events if type(event) is Body]
