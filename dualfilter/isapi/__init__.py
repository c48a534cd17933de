"""The ISAPI host: filters for pywin32 ISAPI extensions, WSGI apps served through ISAPI, and site-wide IIS filters.

``FilterMiddleware(filter, extension)`` (what ``MyFilter.isapi(extension)``
returns) filters an extension's responses; ``WSGIExtension(app)`` serves a
WSGI application, filtered or not, as an ISAPI extension (both in
:mod:`dualfilter.isapi.extension`). ``MyFilter.isapi_filter()`` builds an IIS
filter over every response a site sends (:mod:`dualfilter.isapi.filter`).
None of them needs pywin32 to import: the doubles in
:mod:`dualfilter.isapi.testing` run them on any platform.
"""

from __future__ import annotations

from .errors import ExtensionError
from .extension import FilterMiddleware, WSGIExtension

__all__ = ["FilterMiddleware", "WSGIExtension", "ExtensionError"]
