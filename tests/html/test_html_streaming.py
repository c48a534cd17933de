"""Output leaves as input arrives, the same for any chunking, in flat memory."""

from __future__ import annotations

import tracemalloc

from html_rewriters import PAGE, CollectText, Tidy
from hypothesis import given, settings
from hypothesis import strategies as st

from dualfilter.headers import Headers
from dualfilter.html import Rewriter, on

UTF8 = Headers([("Content-Type", "text/html; charset=utf-8")])


def run_stream(flt, pieces, headers=UTF8):
    stream = flt.stream({}, Headers(list(headers.list)))
    return b"".join(stream.feed(piece) for piece in pieces) + stream.finish()


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_any_chunking_gives_the_bytes_of_one_chunk(cuts):
    assert run_stream(Tidy(), split(PAGE, cuts)) == run_stream(Tidy(), [PAGE])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=12))
def test_text_handlers_see_the_same_whole_nodes_for_any_chunking(cuts):
    seen: list[str] = []
    out = run_stream(CollectText(seen=seen), split(PAGE, cuts))
    assert seen == ["one ", "two", " three", "caf\u00e9 &lt;ok&gt;"]
    assert b"<p>[one ]<b>[two]</b>[ three]</p>" in out


def test_output_leaves_before_the_input_ends():
    stream = Tidy().stream({}, Headers(list(UTF8.list)))
    first = stream.feed(b"<html><body><p>first part</p>")
    assert first == b'<html><body><div class="banner">staging</div><p>first part</p>'
    assert stream.feed(b"<p>second</p></body></html>") == b"<p>second</p></body></html>"
    assert stream.finish() == b"<!-- filtered -->"


def test_text_outside_text_handlers_is_not_held():
    stream = CollectText(seen=[]).stream({}, Headers(list(UTF8.list)))
    assert stream.feed(b"<div>a long text no handler wants") == b"<div>a long text no handler wants"
    stream.finish()


def test_memory_stays_flat_on_a_large_page():
    class NoFollow(Rewriter):
        @on("a")
        def a(self, element, environ):
            element.set_attribute("rel", "nofollow")

    block = b"<p>Some text <a href='/x'>a link</a> and more text.</p>\n" * 1200  # ~64 KB
    stream = NoFollow().stream({}, Headers(list(UTF8.list)))
    stream.feed(b"<html><body>")
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        out_size = 0
        for _ in range(160):  # ~10 MB through
            out_size += len(stream.feed(block))
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    stream.finish()
    assert out_size > 160 * len(block)
    assert peak < 1_000_000  # a few chunks' worth, not the page
