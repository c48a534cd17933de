"""Which host an application belongs to, and the adapter that wraps it.

Adapters are imported by name on first use, so the core never imports them.
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
    """Wrap ``app`` in ``filter`` with the adapter for ``host`` (detected if None)."""
    host = host or detect(app)
    if host not in HOSTS:
        raise ValueError(f"unknown host {host!r}; expected one of {', '.join(HOSTS)}")
    adapter = importlib.import_module(f"dualfilter.{host}")
    return adapter.FilterMiddleware(filter, app)
