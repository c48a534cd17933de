"""Inject streams: same bytes as buffered for any chunking, constant memory, early output."""

from __future__ import annotations

import gzip
import itertools

from hypothesis import example, given, settings
from hypothesis import strategies as st

from dualfilter.filters import Inject
from dualfilter.state import State
from dualfilter.testing import collect, make_environ
from tests.support.machines import driven_machine

HTML = [("Content-Type", "text/html; charset=utf-8")]

PIECES = ["<html>", "<head>", "</head>", "<body>", "</body>", "</BODY >", "</html>", "<p>é</p>", "text", "<", "</", " ", "\n"]


def run(flt, chunks, content_type="text/html; charset=utf-8", headers=()):
    machine = driven_machine(flt, make_environ())
    events = machine.start(200, [("Content-Type", content_type), *headers])
    for chunk in chunks:
        events += machine.body(chunk)
    return collect(events + machine.end())[2]


def buffered(flt, page):
    """The page filtered whole: a compressed response is never streamed."""
    return gzip.decompress(run(flt, [gzip.compress(page)], content_type="text/html", headers=[("Content-Encoding", "gzip")]))


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in itertools.pairwise([0, *points, len(data)])]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(PIECES), max_size=14),
    st.lists(st.integers(min_value=0), max_size=10),
    st.sampled_from(["body", "head"]),
    st.sampled_from(["fallback", "skip"]),
)
@example(pieces=["<text<<< ", "</head>"], cuts=[10], where="head", missing="fallback")  # a chunk ending in the "<" of </head>
def test_streaming_gives_the_buffered_bytes_for_any_page_and_chunking(pieces, cuts, where, missing):
    page = "".join(pieces).encode()
    flt = Inject(html="<b>X</b>", where=where, missing=missing)
    assert run(flt, split(page, cuts)) == buffered(flt, page)


def test_the_page_starts_going_out_before_it_ends():
    machine = driven_machine(Inject(html="<b>X</b>"), make_environ())
    machine.start(200, list(HTML))
    assert machine.state is State.HOLDING  # streamed: the start waits for the first output byte
    out = collect(machine.body(b"<html><body><p>first part</p>"))[2]
    assert out == b"<html><body><p>first part</p>"


def test_nothing_is_held_before_the_landmark_on_a_large_page():
    stream = Inject(html="<b>X</b>").stream({}, __import__("dualfilter").Headers(list(HTML)))
    assert stream.feed(b"<html><body>") == b"<html><body>"
    block = b"<p>" + b"x" * 100 + b"</p>\n"
    for _ in range(10_000):
        assert stream.feed(block) == block
    assert stream.feed(b"</body></html>") == b"" and stream.finish() == b"<b>X</b></body></html>"
