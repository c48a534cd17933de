"""The ASGI adapter: ``FilterMiddleware`` wraps Starlette, FastAPI, Django ASGI or any ASGI 3 app."""

from __future__ import annotations

from .environ import ScopeEnviron, build_environ
from .middleware import FilterMiddleware

__all__ = ["FilterMiddleware", "ScopeEnviron", "build_environ"]
