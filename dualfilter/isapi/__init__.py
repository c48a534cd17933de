"""The ISAPI host: filters for pywin32 ISAPI extensions, and WSGI apps served through ISAPI.

``FilterMiddleware(filter, extension)`` (what ``MyFilter.isapi(extension)``
returns) filters an extension's responses; ``WSGIExtension(app)`` serves a
WSGI application, filtered or not, as an ISAPI extension. Neither needs
pywin32 to import: ``dualfilter.isapi.testing`` runs both on any platform.
"""

from __future__ import annotations

from .errors import ExtensionError
from .middleware import FilterMiddleware
from .wsgi_extension import WSGIExtension

__all__ = ["FilterMiddleware", "WSGIExtension", "ExtensionError"]
