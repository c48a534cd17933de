"""Streaming filters on the core: the start at once, each chunk as it comes, the same bytes as buffered."""

from __future__ import annotations

import gzip
import itertools
import logging

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dualfilter import Filter, StreamError, chain
from dualfilter.events import PASSTHROUGH, Body, End, ResponseStart
from dualfilter.state import State
from dualfilter.testing import collect, make_environ, run_filter
from tests.support.machines import driven_machine

from .chain_filters import Footer, MarkBody, Replace, UpperStream
from .nesting import run_nested

HTML = "text/html; charset=utf-8"


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in itertools.pairwise([0, *points, len(data)])]


def started(flt, headers=None, method="GET"):
    machine = driven_machine(flt, make_environ(method))
    events = machine.start(200, list(headers if headers is not None else [("Content-Type", HTML)]))
    return machine, events


def first_output(flt, headers=None, chunk=b"<p>x</p>"):
    """The machine and its events once a stream has had one chunk: the start, then its output."""
    machine, events = started(flt, headers)
    return machine, events + machine.body(chunk)


def streamed(flt, chunks, content_type=HTML):
    """Run chunks through a streaming machine: the output, checking it streamed."""
    machine, events = started(flt, [("Content-Type", content_type)])
    assert machine.state is State.HOLDING
    for chunk in chunks:
        events += machine.body(chunk)
    return collect(events + machine.end())


def buffered(flt, body, content_type=HTML):
    """The same filter's buffered output (a Content-Encoding forces buffering; identity changes nothing)."""
    machine, events = started(flt, [("Content-Type", content_type), ("Content-Encoding", "gzip")])
    assert machine.state is State.BUFFERING
    events += machine.body(gzip.compress(body, mtime=0))
    return gzip.decompress(collect(events + machine.end())[2])


def test_the_start_is_held_until_the_streams_first_output_byte():
    machine, events = started(Replace())
    assert events == [] and machine.state is State.HOLDING
    assert machine.body(b"ca") == [] and machine.state is State.HOLDING  # held back by the stream: no output yet


def test_the_start_goes_out_with_the_first_output_byte():
    machine, events = first_output(Replace())
    assert [type(event) for event in events] == [ResponseStart, Body] and machine.state is State.STREAMING


def test_the_streamed_start_has_no_content_length():
    _, events = first_output(Replace(), [("Content-Type", HTML), ("Content-Length", "99")])
    assert [name for name, _ in events[0].headers] == ["Content-Type"]


def test_headers_bound_to_the_old_body_are_dropped():
    headers = [("Content-Type", HTML), ("ETag", '"v1"'), ("Content-MD5", "x"), ("Accept-Ranges", "bytes"), ("X-Kept", "1")]
    _, events = first_output(Replace(), headers)
    assert events[0].headers == [("Content-Type", HTML), ("X-Kept", "1")]


def test_a_derived_etag_is_sent_when_conditional_requests_are_allowed():
    _, events = first_output(Replace(force_no_conditional=False), [("Content-Type", HTML), ("ETag", '"v1"')])
    etag = dict(events[0].headers)["ETag"]
    assert etag.startswith('W/"v1-dfs')


def test_headers_the_stream_sets_go_out_with_the_start():
    _, events = first_output(Footer())
    assert ("X-Footer", "yes") in events[0].headers


def test_a_streaming_machine_is_not_in_passthrough():
    machine, events = first_output(Replace())
    assert machine.state is State.STREAMING and PASSTHROUGH not in events


def test_a_stream_with_no_output_before_the_end_sends_its_start_with_the_end():
    machine, _ = started(Footer())
    start, body, end = machine.end()
    assert type(start) is ResponseStart and body == Body(b"<!-- footer -->") and end == End(None)


def test_each_chunk_comes_out_as_soon_as_it_is_fed():
    machine, _ = started(UpperStream())
    assert machine.body(b"<p>one")[1:] == [Body(b"<P>ONE")]
    assert machine.body(b"two</p>") == [Body(b"TWO</P>")]


def test_the_end_gives_the_streams_last_output_and_the_trailers():
    machine, _ = started(Footer())
    machine.body(b"<p>x</p>")
    assert machine.end([("X-T", "1")]) == [Body(b"<!-- footer -->"), End([("X-T", "1")])]
    assert machine.state is State.DONE


def test_held_back_text_waits_for_the_next_chunk():
    machine, _ = started(Replace())
    assert machine.body(b"a ca")[1:] == [Body(b"a ")]
    assert machine.body(b"t!") == [Body(b"dog!")]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="ca t\u00e9\u20ac\U0001f431<>", max_size=120), st.lists(st.integers(min_value=0), max_size=10))
def test_streamed_output_equals_buffered_output_for_any_chunking(text, cuts):
    body = text.encode("utf-8")
    assert streamed(Replace(), split(body, cuts))[2] == buffered(Replace(), body)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="ca t\u00e9\u20ac\U0001f431", max_size=60), st.lists(st.integers(min_value=0), max_size=10))
def test_utf16_characters_split_across_chunks_come_out_whole(text, cuts):
    body = text.encode("utf-16")
    content_type = "text/html; charset=utf-16"
    assert streamed(Replace(), split(body, cuts), content_type)[2] == buffered(Replace(), body, content_type)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200), st.lists(st.integers(min_value=0), max_size=10))
def test_a_bytes_stream_equals_its_buffered_output_for_any_chunking(body, cuts):
    assert streamed(UpperStream(), split(body, cuts))[2] == buffered(UpperStream(), body)


@pytest.mark.parametrize("cut", [0, 1, 2, 3, 4])
def test_a_utf8_byte_order_mark_is_kept_as_buffered(cut):
    body = b"\xef\xbb\xbfthe cat"
    out = streamed(Replace(), [body[:cut], body[cut:]])[2]
    assert out == buffered(Replace(), body) == b"\xef\xbb\xbfthe dog"


def test_a_compressed_response_is_filtered_buffered():
    raw = gzip.compress(b"the cat", mtime=0)
    status, headers, body = run_filter(Replace, raw, headers=[("Content-Encoding", "gzip")])
    assert ("Content-Length", str(len(body))) in headers
    assert gzip.decompress(body) == b"the dog"


def test_text_with_no_declared_charset_is_filtered_buffered():
    machine, events = started(Replace(), [("Content-Type", "text/html")])
    assert (events, machine.state) == ([], State.BUFFERING)


def test_a_stream_that_declines_leaves_the_response_to_filter():
    class Sometimes(Filter):
        def stream(self, environ, headers):
            return None

        def filter(self, environ, headers, data):
            return data + b"!"

    machine, events = started(Sometimes())
    assert events == [] and machine.state is State.BUFFERING
    assert run_filter(Sometimes, b"x")[2] == b"x!"


def test_a_streaming_filter_without_filter_runs_its_stream_over_a_buffered_body():
    assert run_filter(Replace, b"a cat", content_type="text/html")[2] == b"a dog"


def test_a_head_request_is_not_streamed():
    machine, events = started(Replace(), method="HEAD")
    assert machine.state is State.BODILESS and [name for name, _ in events[0].headers] == ["Content-Type"]


def test_a_stream_that_cannot_open_gives_the_clean_500():
    class Broken(Filter):
        def stream(self, environ, headers):
            raise RuntimeError("no stream")

    machine, events = started(Broken())
    assert events[0].status == 500 and isinstance(machine.error, RuntimeError)
    assert machine.body(b"more") == [] and machine.end() == []


class FailsLater(Filter):
    """Streams its first chunk as it came, then fails."""

    def stream(self, environ, headers):
        return FailingStream()


class FailingStream:
    def __init__(self):
        self.fed = 0

    def feed(self, data):
        self.fed += 1
        if self.fed > 1:
            raise ValueError("bad chunk")
        return data

    def finish(self):
        return b""


def test_a_stream_that_fails_before_its_first_output_gives_the_clean_500(caplog):
    class FailsAtOnce(Filter):
        def stream(self, environ, headers):
            stream = FailingStream()
            stream.fed = 1
            return stream

    machine, _ = started(FailsAtOnce())
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        start, body, end = machine.body(b"x")
    assert start.status == 500 and b"bad chunk" not in body.data and end == End(None)
    assert machine.state is State.ANSWERED and isinstance(machine.error, ValueError)
    assert machine.body(b"more") == [] and machine.end() == []
    assert "FailsAtOnce raised on GET /" in caplog.text


def test_a_stream_that_fails_mid_body_raises_stream_error(caplog):
    machine, _ = first_output(FailsLater())
    with caplog.at_level(logging.ERROR, logger="dualfilter"), pytest.raises(StreamError) as raised:
        machine.body(b"x")
    assert isinstance(raised.value.__cause__, ValueError)
    assert machine.state is State.FAILED and isinstance(machine.error, ValueError)
    assert "FailsLater failed while streaming GET /" in caplog.text


def test_a_stream_that_fails_at_the_end_raises_stream_error():
    class FailsAtEnd(Filter):
        def stream(self, environ, headers):
            return self

        def feed(self, data):
            return data

        def finish(self):
            raise ValueError("no end")

    machine, _ = started(FailsAtEnd())
    machine.body(b"x")
    with pytest.raises(StreamError):
        machine.end()


def test_output_the_declared_charset_cannot_hold_raises_stream_error():
    machine, _ = first_output(Replace(new="\u2603"), [("Content-Type", "text/html; charset=iso-8859-1")])
    with pytest.raises(StreamError):
        machine.body(b"a cat!")


def test_a_bytes_stream_returning_text_is_refused():
    class Texty(Filter):
        def stream(self, environ, headers):
            return self

        def feed(self, data):
            return data.decode()

        def finish(self):
            return b""

    machine, _ = started(Texty())
    assert machine.body(b"x")[0].status == 500  # before any output: the clean 500
    assert "a stream returned str" in str(machine.error)


def test_a_bytes_stream_returning_text_after_output_raises_stream_error():
    class TextyLater(Filter):
        def stream(self, environ, headers):
            return self

        def feed(self, data):
            return data.decode() if data == b"late" else data

        def finish(self):
            return b""

    machine, _ = first_output(TextyLater())
    with pytest.raises(StreamError):
        machine.body(b"late")


def test_a_restart_before_any_body_replaces_the_streamed_start():
    machine, _ = started(Replace())
    events = machine.start("500 Internal Server Error", [("Content-Type", "text/plain")], restart=True)
    assert events[0].status == 500 and events[-1] is PASSTHROUGH


def test_invalid_bytes_under_strict_decoding_raise_stream_error():
    machine, _ = first_output(Replace())
    with pytest.raises(StreamError):
        machine.body(b"\xff\xfe cat")


# -- chains ------------------------------------------------------------------------


def test_a_chain_of_streaming_stages_streams():
    machine, events = started(chain(Replace(old="dog", new="cow"), Replace)())
    assert machine.state is State.HOLDING and events == []
    assert machine.body(b"a cat")[1:] == [Body(b"a cow")]


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="cadogtw \u00e9", max_size=80), st.lists(st.integers(min_value=0), max_size=8))
def test_a_streaming_chain_gives_the_nested_output_for_any_chunking(text, cuts):
    stages = [Replace(old="dog", new="cow"), Footer(), Replace()]
    body = text.encode()
    chained = streamed(chain(*stages)(), split(body, cuts))
    nested = run_nested(stages, body, content_type=HTML)
    assert chained == nested


def test_a_stage_that_cannot_stream_makes_the_chain_buffer():
    machine, events = started(chain(MarkBody, Replace)())
    assert (events, machine.state) == ([], State.BUFFERING)
    machine.body(b"<html><body><p>a cat</p></body></html>")
    assert b'<body class="m"><p>a dog</p>' in collect(machine.end())[2]


def test_a_stage_that_does_not_want_the_response_does_not_stop_streaming():
    machine, _ = started(chain(MarkBody(filter_content_types=("application/xhtml+xml",)), Replace)())
    assert machine.state is State.HOLDING


def test_a_failing_stream_in_a_chain_is_named(caplog):
    machine, _ = first_output(
        chain(Replace(old="CAT", new="\u2603"), UpperStream)(), [("Content-Type", "text/html; charset=iso-8859-1")]
    )
    with caplog.at_level(logging.ERROR, logger="dualfilter"), pytest.raises(StreamError):
        machine.body(b"a CAT")
    assert "Replace in chain(Replace, UpperStream) failed while streaming" in caplog.text


def test_stream_is_called_once_when_a_stage_that_cannot_stream_makes_the_chain_buffer():
    # Filter.stream's promise: once a response; the buffered run of a streaming stage calls it itself.
    opened = []

    class Counted(Filter):
        def stream(self, environ, headers):
            opened.append(True)
            return Same()

    class Same:
        def feed(self, data):
            return data

        def finish(self):
            return b"!"

    class Buffered(Filter):
        def filter(self, environ, headers, data):
            return data.upper()

    assert run_filter(chain(Buffered, Counted), b"<p>a</p>")[2] == b"<P>A</P>!"
    assert opened == [True]
