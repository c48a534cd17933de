"""The types of the applications a filter wraps, for type checkers.

``MyFilter(app)``, ``MyFilter.wsgi(app)`` and ``MyFilter.asgi(app)`` are
annotated with them, so a checker knows that wrapping a WSGI app gives a WSGI
app, an ASGI app an ASGI app, and that anything else (an int, a Filter) is a
mistake. They are structural: a Flask or Django app, a Starlette or FastAPI
app, or a plain function of the right shape fits without importing anything
from here.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import Any, Protocol

__all__ = ["StartResponse", "WSGIApplication", "WSGIMiddleware", "ASGIApplication", "ISAPIExtension"]

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType] | tuple[None, None, None]


class StartResponse(Protocol):
    """PEP 3333's ``start_response`` callable (the same shape as ``wsgiref.types.StartResponse``)."""

    def __call__(
        self, status: str, headers: list[tuple[str, str]], exc_info: _ExcInfo | None = ..., /
    ) -> Callable[[bytes], object]: ...


#: A PEP 3333 application (the same shape as ``wsgiref.types.WSGIApplication``).
WSGIApplication = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class WSGIMiddleware(Protocol):
    """What wrapping a WSGI app gives: a WSGI app whose arguments also go by
    name, so it can replace a method such as Flask's ``app.wsgi_app``."""

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]: ...


#: An ASGI 3 application. Scope and messages are ``Any`` so that apps typed
#: against Starlette's or asgiref's own message types both fit, as Starlette
#: types its middleware factories.
ASGIApplication = Callable[[Any, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class ISAPIExtension(Protocol):
    """A pywin32 ISAPI extension object: what ``__ExtensionFactory__`` returns."""

    def HttpExtensionProc(self, ecb: Any, /) -> Any: ...
