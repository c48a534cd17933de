"""Unit-testing a filter with no server: ``run_filter`` feeds the core directly."""

from __future__ import annotations

import logging
import threading
import wsgiref.util
from collections.abc import Iterable, Mapping
from typing import Any

from . import hosts
from .drivers import drive
from .errors import FilterError, StreamError
from .events import Body, Event, ResponseStart
from .filter import Filter
from .machine import ResponseMachine
from .responses import request_refused

__all__ = ["run_filter", "make_environ", "collect"]


def make_environ(method: str = "GET", path: str = "/", environ: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A complete WSGI-style environ for a request, with ``environ`` merged in."""
    env: dict[str, Any] = {"REQUEST_METHOD": method, "PATH_INFO": path}
    wsgiref.util.setup_testing_defaults(env)
    env.update(environ or {})
    return env


def collect(events: Iterable[Event]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of a complete list of output events."""
    status, headers, body = 0, [], []
    for event in events:
        if isinstance(event, ResponseStart):
            status, headers = event.status, event.headers
        elif isinstance(event, Body):
            body.append(event.data)
    return status, headers, b"".join(body)


def _split(body: bytes, chunks: int) -> list[bytes]:
    if chunks < 1:
        raise ValueError("chunks must be at least 1")
    # min(chunks, len(body)) pieces, their sizes differing by one at most.
    size, longer = divmod(len(body), chunks)
    pieces: list[bytes] = []
    start = 0
    for index in range(min(chunks, len(body))):
        end = start + size + (index < longer)
        pieces.append(body[start:end])
        start = end
    return pieces or [b""]


class _Failures(logging.Handler):
    """The error records the ``dualfilter`` logger emits on this thread while attached."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.records.append(record)

    def raise_first(self, status: int) -> None:
        """Re-raise the exception of the first failure, with its own traceback; a failure
        logged without one (a FilterError's message) is raised as a FilterError when it
        cost the response a 500."""
        for record in self.records:
            if record.exc_info and record.exc_info[1] is not None:
                raise record.exc_info[1].with_traceback(record.exc_info[2])  # as logged: the error keeps none
        if status == 500 and self.records:
            raise FilterError(self.records[0].getMessage())


def run_filter(
    filter: type[Filter] | Filter,
    body: bytes,
    *,
    content_type: str | None = "text/html; charset=utf-8",
    status: int = 200,
    headers: Iterable[tuple[str, str]] = (),
    chunks: int = 1,
    method: str = "GET",
    environ: Mapping[str, Any] | None = None,
    raise_errors: bool = False,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run ``filter`` over one response and return ``(status, headers, body)``.

    ``filter`` is a Filter class (instantiated with no options) or instance;
    ``body`` is split into ``chunks`` pieces the way a streaming app would send
    it; the response carries ``content_type`` (None for none), ``headers`` and
    a Content-Length. An ``async def`` filter is run to completion.

    A failing filter gives the 500 a client would get; with ``raise_errors``
    its exception is raised instead, with its traceback, so a unit test shows
    where the filter failed (a failure the core reports without an exception,
    such as a wrong return type, is raised as a :class:`~dualfilter.FilterError`).
    """
    if raise_errors:
        logger = logging.getLogger("dualfilter")
        failures = _Failures()
        logger.addHandler(failures)
        # The failures are read from the error records: let them through whatever logging says.
        disabled, level = logging.root.manager.disable, logger.level
        logging.disable(logging.NOTSET)
        if logger.getEffectiveLevel() > logging.ERROR:
            logger.setLevel(logging.ERROR)
        try:
            result = run_filter(
                filter,
                body,
                content_type=content_type,
                status=status,
                headers=headers,
                chunks=chunks,
                method=method,
                environ=environ,
            )
        except StreamError:  # a stream failed after its first output: the response was cut short
            failures.raise_first(500)
            raise
        finally:
            logger.removeHandler(failures)
            logger.setLevel(level)
            logging.disable(disabled)
        failures.raise_first(result[0])
        return result
    if not (isinstance(filter, Filter) or isinstance(filter, type) and issubclass(filter, Filter)):
        raise TypeError(f"run_filter takes a Filter class or instance, not {filter!r}")
    flt = filter() if isinstance(filter, type) else filter
    hosts.require_configured(flt)
    response_headers = [] if content_type is None else [("Content-Type", content_type)]
    response_headers += list(headers)
    response_headers.append(("Content-Length", str(len(body))))
    request = make_environ(method, environ=environ)
    if flt.asks_requests:  # as every host asks it, before the app runs
        refused = request_refused(flt, request)
        if refused:  # it raised: the clean 500
            return collect(refused)
        if refused is not None:  # the response passes as it came
            return status, response_headers, body
    machine = ResponseMachine(flt, request)
    events = drive(machine, machine.start(status, response_headers))
    for piece in _split(body, chunks):
        events += drive(machine, machine.body(piece))
    events += drive(machine, machine.end())
    return collect(events)
