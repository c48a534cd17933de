"""Small drivers for the host tests: a WSGI call, and real servers on 127.0.0.1."""

from __future__ import annotations

from typing import Any
from wsgiref.validate import validator

from dualfilter.testing import make_environ
from tests.support.servers import uvicorn_serving, wsgiref_serving  # noqa: F401 - re-exported for the tests that use them with these


def wsgi_get(app: Any, method: str = "GET") -> tuple[str, list[tuple[str, str]], bytes]:
    """One request through ``app`` (checked by wsgiref's validator): status, headers, body."""
    started: list[tuple[str, list[tuple[str, str]]]] = []
    written: list[bytes] = []

    def start_response(status, headers, exc_info=None):
        started.append((status, headers))
        return written.append

    environ = make_environ(method, environ={"QUERY_STRING": "", "SCRIPT_NAME": ""})
    result = validator(app)(environ, start_response)
    try:
        for chunk in result:
            written.append(chunk)
    finally:
        result.close()
    status, headers = started[-1]
    return status, headers, b"".join(written)
