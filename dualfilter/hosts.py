"""Which host an application belongs to, and the adapter that wraps it.

This is the one core module that names the adapters: it imports each on first
use, so the rest of the core never does.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import inspect
from typing import Any

HOSTS = ("wsgi", "asgi", "isapi")
#: What each host wraps, for errors.
_KINDS = {"wsgi": "a WSGI app", "asgi": "an ASGI app", "isapi": "an ISAPI extension (with HttpExtensionProc)"}


def is_asgi(app: Any) -> bool:
    """Whether ``app`` is an ASGI 3 application (a coroutine function or object)."""
    if not callable(app):
        return False
    # As servers and Starlette look: through functools.partial, at the object itself
    # (asyncio's check also sees functions marked by asgiref's markcoroutinefunction),
    # then at its __call__ as the instance has it (one may set it per instance, as Sentry's does).
    while isinstance(app, functools.partial):
        app = app.func
    if inspect.iscoroutinefunction(app) or asyncio.iscoroutinefunction(app):
        return True
    if isinstance(app, type):
        return False  # a class: calling it makes an instance
    call = app.__call__  # as the instance has it: callable, checked above
    return inspect.iscoroutinefunction(call) or asyncio.iscoroutinefunction(call)


def _takes_two(app: Any) -> bool:
    """Whether ``app`` is called with two arguments, as a WSGI app is (environ, start_response)."""
    try:
        signature = inspect.signature(app)
    except (TypeError, ValueError):
        return False
    try:
        signature.bind(None, None)
    except TypeError:
        return False
    return True


def _filters_nothing(flt: Any) -> bool:
    """Whether ``flt`` is ``Filter`` itself, which defines neither ``filter`` nor ``stream`` (a
    subclass that defines neither is refused when it is built: ``Filter._check_hooks``)."""
    from .filter import Filter

    kind = type(flt)
    return isinstance(flt, Filter) and kind.filter is Filter.filter and kind.stream is Filter.stream and not flt._stages


def _is_filter(obj: Any) -> bool:
    """Whether ``obj`` is a Filter class or instance (imported late: filter.py imports this module)."""
    from .filter import Filter

    return isinstance(obj, Filter) or (isinstance(obj, type) and issubclass(obj, Filter))


def misuse_message(obj: Any) -> str:
    """Why a Filter class or instance cannot stand where an app or a middleware is expected."""
    if isinstance(obj, type):
        name = obj.__name__
        return (
            f"{name} is a Filter class, not an app: wrap an app with it ({name}(app)), "
            f"or run several filters as one with dualfilter.chain(OtherFilter, {name})"
        )
    name = type(obj).__name__
    return (
        f"{name}(...) is a configured filter, not an app or a middleware class: "
        f"wrap an app with it ({name.lower()}.wsgi(app) / .asgi(app)), "
        f"or give add_middleware / Middleware the class and its options: add_middleware({name}, option=...)"
    )


def _refuse_class(app: Any, host: str | None) -> None:
    """TypeError for the class of an app where an instance belongs: an ASGI app's or an
    ISAPI extension's class, a class whose instances are called (a WSGI app may be a class,
    PEP 3333, which is then made with ``(environ, start_response)``), any class for ``host``
    ``'asgi'`` or ``'isapi'``."""
    if not isinstance(app, type):
        return
    call = app.__call__  # the class's own, if it defines one (else the metaclass's)
    called = inspect.isfunction(call) and not _takes_two(app)
    if host in ("asgi", "isapi") or hasattr(app, "HttpExtensionProc") or inspect.iscoroutinefunction(call) or called:
        raise TypeError(f"cannot wrap the class {app.__name__}: pass an instance of it ({app.__name__}())")


def detect(app: Any) -> str:
    """``'isapi'``, ``'asgi'`` or ``'wsgi'`` for an application object."""
    if _is_filter(app):
        raise TypeError(f"cannot wrap {app!r}: " + misuse_message(app))
    _refuse_class(app, None)
    if hasattr(app, "HttpExtensionProc"):
        return "isapi"
    if is_asgi(app):
        return "asgi"
    if callable(app):
        return "wsgi"
    raise TypeError(f"cannot wrap {app!r}: not a WSGI app, an ASGI app or an ISAPI extension")


def require_configured(flt: Any) -> None:
    """TypeError unless ``flt`` went through ``Filter.__init__`` (a subclass's own
    ``__init__`` that forgets ``super().__init__()`` would fail deep inside, per response)."""
    if _is_filter(flt) and "request_policy" not in getattr(flt, "__dict__", {}):
        name = type(flt).__name__
        raise TypeError(
            f"{name} is not configured: its __init__ must call super().__init__(app, **options) "
            "(and a _configure of its own, super()._configure())"
        )


def wrap(filter: Any, app: Any, host: str | None = None) -> Any:
    """Wrap ``app`` in ``filter`` with the adapter for ``host`` (detected if None).

    When ``app`` is itself this adapter's middleware around ``inner`` (and the
    two filters' whole-chain options agree), the result is one middleware
    running ``chain(filter, app.filter)`` around ``inner``: it answers as the
    two stacked would, parsing once.
    """
    require_configured(filter)
    if _filters_nothing(filter):
        raise TypeError(f"{type(filter).__name__} filters nothing: subclass it and define filter(self, environ, headers, data)")
    if not host:
        host = detect(app)
    elif _is_filter(app):
        raise TypeError(f"cannot wrap {app!r}: " + misuse_message(app))
    elif host == "isapi" and not hasattr(app, "HttpExtensionProc") or host != "isapi" and not callable(app):
        raise TypeError(f"cannot wrap {app!r}: not {_KINDS[host]}")
    elif host == "wsgi" and is_asgi(app):
        raise TypeError(f"cannot wrap {app!r} as a WSGI app: it is an ASGI app (use .asgi(app), or MyFilter(app))")
    if host not in HOSTS:
        raise ValueError(f"unknown host {host!r}; expected one of {', '.join(HOSTS)}")
    _refuse_class(app, host)
    if host == "asgi" and not is_asgi(app):
        kind = "a WSGI app (use .wsgi(app), or MyFilter(app))" if _takes_two(app) else "no async callable (scope, receive, send)"
        raise TypeError(f"cannot wrap {app!r} as an ASGI app: it is {kind}")
    middleware = importlib.import_module(f"dualfilter.{host}").FilterMiddleware
    if type(app) is middleware:
        from .chain import chain, foldable

        if foldable(filter, app.filter):
            inner = app.extension if host == "isapi" else app.app
            # The options both agree on, as the two had them (a configured chain's own included).
            thresholds = [t for t in (filter.thread_threshold, app.filter.thread_threshold) if t is not None]
            options = {name: getattr(filter, name) for name in ("max_buffer_size", "oversize", "debug")}
            folded = chain(filter, app.filter)(thread_threshold=min(thresholds) if thresholds else None, **options)
            return middleware(folded, inner)
    return middleware(filter, app)


def isapi_filter(target: Any, **options: Any) -> Any:
    """``target.isapi_filter(**options)``: the ISAPI filter object for a Filter class or instance."""
    return importlib.import_module("dualfilter.isapi.filter").isapi_filter(target, **options)
