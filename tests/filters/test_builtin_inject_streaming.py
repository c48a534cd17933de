"""Inject streams: same bytes as buffered for any chunking, constant memory, early output."""

from __future__ import annotations

import gzip
import itertools
import logging
import threading

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dualfilter.filters import Inject
from dualfilter.headers import Headers
from dualfilter.html import OversizeError
from dualfilter.state import State
from dualfilter.streaming import open_stream
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
@example(pieces=["<head>", "</html>", "<html>"], cuts=[13], where="body", missing="fallback")  # </html> before <html>
def test_streaming_gives_the_buffered_bytes_for_any_page_and_chunking(pieces, cuts, where, missing):
    page = "".join(pieces).encode()
    flt = Inject(html="<b>X</b>", where=where, missing=missing)
    assert run(flt, split(page, cuts)) == buffered(flt, page)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*PIECES, "<script>", "</script>", "<!--", "-->", "<title>", "</title>"]), max_size=14),
    st.lists(st.integers(min_value=0), max_size=10),
    st.sampled_from(["body", "head"]),
    st.sampled_from(["fallback", "skip"]),
)
@example(pieces=["<html>", "<script>", "</body>", "</script>", "</html>"], cuts=[14], where="body", missing="fallback")
@example(pieces=["<!--", "</head>", "-->", "<body>"], cuts=[6], where="head", missing="fallback")
def test_streaming_gives_the_buffered_bytes_with_scripts_and_comments_for_any_chunking(pieces, cuts, where, missing):
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


def without_extra(monkeypatch, **options):
    """Inject built as it is when the html extra is missing: the landmarks found in the text."""
    from dualfilter.html import engine

    monkeypatch.setattr(engine, "lolhtml", None)
    flt = Inject(**options)
    monkeypatch.undo()
    return flt


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([*PIECES, "<body ", "</bo", "dy>", "<bod", "y>"]), max_size=14),
    st.lists(st.integers(min_value=0), max_size=10),
    st.sampled_from(["body", "head"]),
    st.sampled_from(["fallback", "skip"]),
)
def test_without_the_extra_streaming_gives_the_buffered_bytes_for_any_page_and_chunking(pieces, cuts, where, missing):
    page = "".join(pieces).encode()
    with pytest.MonkeyPatch.context() as monkeypatch:
        flt = without_extra(monkeypatch, html="<b>X</b>", where=where, missing=missing)
    assert run(flt, split(page, cuts)) == buffered(flt, page)


def inject(extra, **options):
    """An Inject with or without the html extra, and a stream of a UTF-8 page through it."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        flt = Inject(**options) if extra else without_extra(monkeypatch, **options)
    return open_stream(flt, {}, Headers(list(HTML)))


BLOCK = b"<p>" + b"x" * 93 + b"</p>"  # 100 bytes


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "no-extra"])
def test_the_page_held_after_the_closing_body_tag_past_max_buffer_size_fails_the_response_by_default(extra):
    stream = inject(extra, html="<b>X</b>", max_buffer_size=1000)
    assert stream.feed(b"<html><body>x</body>") == b"<html><body>x"
    with pytest.raises(OversizeError):
        for _ in range(11):
            stream.feed(BLOCK)


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "no-extra"])
def test_the_page_held_past_max_buffer_size_goes_out_without_the_snippet_with_oversize_pass(extra, caplog):
    stream = inject(extra, html="<b>X</b>", max_buffer_size=1000, oversize="pass")
    out = stream.feed(b"<html><body>x</body>")
    with caplog.at_level(logging.WARNING, "dualfilter"):
        for _ in range(11):
            out += stream.feed(BLOCK)
    assert out == b"<html><body>x</body>" + BLOCK * 11  # all of it out, none held
    out += stream.feed(b"</body></html>") + stream.finish()
    assert out == b"<html><body>x</body>" + BLOCK * 11 + b"</body></html>"
    assert any("max_buffer_size" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "no-extra"])
def test_the_page_held_for_a_head_snippet_past_max_buffer_size_fails_the_response(extra):
    # No <head> and no <body>: the snippet goes before the last </html>, which may still come.
    stream = inject(extra, html="<b>X</b>", where="head", max_buffer_size=1000)
    assert stream.feed(b"<html><p>x</p></html>") == b"<html><p>x</p>"
    with pytest.raises(OversizeError):
        for _ in range(11):
            stream.feed(BLOCK)


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "no-extra"])
def test_the_page_held_is_measured_in_bytes_of_the_page_charset(extra):
    # 300 characters: 600 bytes in Shift_JIS, 900 in UTF-8.
    shift_jis = Headers([("Content-Type", "text/html; charset=shift_jis")])
    options = {"html": "<b>X</b>", "max_buffer_size": 700}
    with pytest.MonkeyPatch.context() as monkeypatch:
        flt = Inject(**options) if extra else without_extra(monkeypatch, **options)
    text = "\u65e5".encode("shift_jis") * 300
    fits = open_stream(flt, {}, shift_jis)
    out = fits.feed(b"<body>x</body>") + fits.feed(text) + fits.finish()
    assert out == b"<body>x<b>X</b></body>" + text
    too_long = open_stream(flt, {}, shift_jis)
    too_long.feed(b"<body>x</body>")
    with pytest.raises(OversizeError):
        too_long.feed(text + text)


def test_a_response_failed_for_its_size_gives_its_engine_thread_back_at_once():
    from dualfilter.html import worker

    stream = Inject(html="<b>X</b>", max_buffer_size=1000).stream({}, Headers(list(HTML)))
    stream.feed(b"<html><body>x</body>")
    idle = worker.idle_count()
    with pytest.raises(OversizeError) as caught:
        stream.feed(BLOCK * 11)
    del stream  # the error still holds the stream, as the response machine holds the error
    for _ in range(100):  # the thread goes back once it freed the engine
        if worker.idle_count() > idle:
            break
        threading.Event().wait(0.01)
    assert worker.idle_count() > idle
    assert isinstance(caught.value, OversizeError)  # held until here
