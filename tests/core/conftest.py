"""Helpers for driving the response machine with events only."""

from __future__ import annotations

import pytest

from dualfilter import Filter
from dualfilter.drivers import drive as run_calls
from dualfilter.machine import ResponseMachine
from dualfilter.testing import collect, make_environ


def drive(flt, chunks, *, status=200, headers=None, method="GET", trailers=None):
    """Run one response through a machine; return (machine, status, headers, body)."""
    if headers is None:
        headers = [("Content-Type", "text/html; charset=utf-8")]
    machine = ResponseMachine(flt, make_environ(method))
    events = run_calls(machine, machine.start(status, list(headers)))
    for chunk in chunks:
        events += run_calls(machine, machine.body(chunk))
    events += run_calls(machine, machine.end(trailers))
    return (machine, *collect(events))


@pytest.fixture
def environ():
    return make_environ()


class Seen(Filter):
    """A text filter that keeps the text it was given."""

    decode_unicode = True

    def __init__(self, app=None, **kw):
        super().__init__(app, **kw)
        self.seen = []

    def filter(self, environ, headers, data):
        self.seen.append(data)
        return data


def decoded(body: bytes, content_type: str) -> str:
    """The text a decode_unicode filter is given for ``body`` sent as ``content_type``."""
    flt = Seen(filter_content_types=("text/html", "application/xml"))
    drive(flt, [body], headers=[("Content-Type", content_type)])
    return flt.seen[0]
