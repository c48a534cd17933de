"""The WSGI host: ``FilterMiddleware(filter, app)`` is a PEP 3333 application.

``MyFilter(wsgi_app)`` and ``MyFilter.wsgi(app)`` return one; it turns the
app's ``start_response``, ``write()`` and app_iter into response-machine
events and the machine's output back into calls on the server.
"""

from __future__ import annotations

from .exchange import Exchange
from .middleware import FilterMiddleware

__all__ = ["FilterMiddleware", "Exchange"]
