"""Helpers for driving the response machine with events only."""

from __future__ import annotations

import pytest

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
