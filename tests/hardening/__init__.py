"""Hardening: the guarantees of the filter proven on every host (WSGI, ASGI, ISAPI)."""
