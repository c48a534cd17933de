"""``FilterMiddleware``: a filter around a WSGI application, itself a WSGI application."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..request import strip_environ
from .exchange import Exchange

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from ..filter import Filter


class FilterMiddleware:
    """Runs ``filter`` over every response of the WSGI ``app`` (PEP 3333).

    The request loses the headers the filter removes (Range, If-Range and, under
    ``force_no_conditional``, the conditional ones); each response goes through
    its own :class:`~dualfilter.ResponseMachine`.
    """

    __slots__ = ("filter", "app")

    def __init__(self, filter: Filter, app: WSGIApplication) -> None:
        self.filter = filter
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        flt = self.filter
        environ = strip_environ(environ, flt)  # type: ignore[assignment]
        exchange = Exchange(flt, environ, start_response)
        return exchange.respond(self.app(environ, exchange.start_response))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.filter!r} around {self.app!r}>"
