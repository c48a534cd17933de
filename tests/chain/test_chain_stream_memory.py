"""A streaming filter runs in constant memory: 50 MB through it stays within 1 MB."""

from __future__ import annotations

import tracemalloc

from dualfilter.state import State
from dualfilter.testing import make_environ
from tests.support.machines import driven_machine

from .chain_filters import Footer

CHUNK = ("<p>the cat sat on the mat, caf\u00e9 \u20ac</p>\n" * 1600).encode()  # ~64 KB of text
TOTAL = 50 * 1024 * 1024


def test_fifty_megabytes_stream_through_in_under_a_megabyte():
    machine = driven_machine(Footer(), make_environ())
    machine.start(200, [("Content-Type", "text/html; charset=utf-8")])
    assert machine.state is State.HOLDING  # streamed: the start waits for the first output byte
    sent = out = 0
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        while sent < TOTAL:
            for event in machine.body(CHUNK):
                out += len(getattr(event, "data", b""))  # the first output comes after the held start
            sent += len(CHUNK)
        for event in machine.end():
            out += len(getattr(event, "data", b""))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert out == sent + len(Footer.text)  # every byte came out, decoded and encoded again
    assert peak - baseline < 1024 * 1024
