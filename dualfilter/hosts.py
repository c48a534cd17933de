"""Which host an application belongs to, and the adapter that wraps it.

This is the one core module that names the adapters: it imports each on first
use, so the rest of the core never does.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from typing import Any

HOSTS = ("wsgi", "asgi", "isapi")


def is_asgi(app: Any) -> bool:
    """Whether ``app`` is an ASGI 3 application (a coroutine function or object)."""
    if not callable(app):
        return False
    call = app if inspect.isroutine(app) else type(app).__call__
    # asyncio's check also sees functions marked by asgiref's markcoroutinefunction.
    return inspect.iscoroutinefunction(call) or asyncio.iscoroutinefunction(call)


def detect(app: Any) -> str:
    """``'isapi'``, ``'asgi'`` or ``'wsgi'`` for an application object."""
    if hasattr(app, "HttpExtensionProc"):
        return "isapi"
    if is_asgi(app):
        return "asgi"
    if callable(app):
        return "wsgi"
    raise TypeError(f"cannot wrap {app!r}: not a WSGI app, an ASGI app or an ISAPI extension")


def wrap(filter: Any, app: Any, host: str | None = None) -> Any:
    """Wrap ``app`` in ``filter`` with the adapter for ``host`` (detected if None).

    When ``app`` is itself this adapter's middleware around ``inner``, the
    result is one middleware running ``chain(filter, app.filter)`` around
    ``inner``: it answers as the two stacked would, parsing once.
    """
    host = host or detect(app)
    if host not in HOSTS:
        raise ValueError(f"unknown host {host!r}; expected one of {', '.join(HOSTS)}")
    middleware = importlib.import_module(f"dualfilter.{host}").FilterMiddleware
    if type(app) is middleware:
        from .chain import chain

        inner = app.extension if host == "isapi" else app.app
        return middleware(chain(filter, app.filter)(), inner)
    return middleware(filter, app)


def isapi_filter(target: Any, **options: Any) -> Any:
    """``target.isapi_filter(**options)``: the ISAPI filter object for a Filter class or instance."""
    return importlib.import_module("dualfilter.isapi.filter").isapi_filter(target, **options)
