"""The reference a chain must match: real nested machines, ``A(B(app))`` on the core alone."""

from __future__ import annotations

from dualfilter.drivers import drive
from dualfilter.events import Body, End, ResponseStart
from dualfilter.machine import ResponseMachine
from dualfilter.testing import collect, make_environ


def feed(machine, events):
    """Events out of an inner middleware into ``machine``; what comes out of it."""
    out = []
    for event in events:
        if isinstance(event, ResponseStart):
            out += drive(machine, machine.start(event.status, event.headers, event.reason))
        elif isinstance(event, Body):
            out += drive(machine, machine.body(event.data))
        elif isinstance(event, End):
            out += drive(machine, machine.end(event.trailers))
    return out


def app_events(body, content_type, status, headers, chunks):
    response_headers = [] if content_type is None else [("Content-Type", content_type)]
    response_headers += list(headers)
    response_headers.append(("Content-Length", str(len(body))))
    size = -(-len(body) // chunks) or 1
    pieces = [body[i : i + size] for i in range(0, len(body), size)] or [b""]
    return [ResponseStart(status, response_headers), *(Body(piece) for piece in pieces), End()]


def run_nested(filters, body, *, content_type="text/html; charset=utf-8", status=200, headers=(), chunks=1, method="GET"):
    """``filters[0](filters[1](...(app)))`` over one response: (status, headers, body)."""
    environ = make_environ(method)
    machines = []
    for flt in filters:  # the outermost middleware sees the request first
        environ = flt.request_policy.environ(environ)
        machines.append(ResponseMachine(flt, environ))
    events = app_events(body, content_type, status, headers, chunks)
    for machine in reversed(machines):
        events = feed(machine, events)
    return collect(events)
