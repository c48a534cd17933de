"""ISAPI extension mode: a Filter around a pywin32 extension (:class:`FilterMiddleware`),
and a WSGI application served as an extension (:class:`WSGIExtension`)."""

from __future__ import annotations

from .middleware import FilterMiddleware
from .wsgi_extension import WSGIExtension

__all__ = ["FilterMiddleware", "WSGIExtension"]
