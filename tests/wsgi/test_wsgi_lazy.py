"""Apps whose iterable calls ``start_response`` on its first ``next()``."""

from __future__ import annotations

import pytest
from wsgi_harness import HTML, TEXT, TrackingIterable, UpperFilter, call, read, serve, wrap

from dualfilter import ProtocolError


def lazy_app(chunks: list[bytes], content_type: str = HTML):
    def app(environ, start_response):
        def body():
            start_response("200 OK", [("Content-Type", content_type)])
            yield from chunks

        return body()

    return app


def test_a_lazy_filtered_response_is_filtered():
    response = serve(wrap(UpperFilter, lazy_app([b"<p>a</p>", b"<p>b</p>"])))
    assert (response.status, response.body) == (200, b"<P>A</P><P>B</P>")


def test_a_lazy_passthrough_response_passes_through():
    response = serve(wrap(UpperFilter, lazy_app([b"<p>a</p>", b"<p>b</p>"], TEXT)))
    assert (response.status, response.body) == (200, b"<p>a</p><p>b</p>")


def test_nothing_starts_before_a_lazy_app_is_iterated():
    recorder, result = call(UpperFilter(lazy_app([b"x"], TEXT)))
    assert recorder.starts == []
    read(result)
    assert [status for status, _, _ in recorder.starts] == ["200 OK"]


def test_a_lazy_passthrough_response_hands_on_each_chunk_as_it_came():
    chunks = [b"x" * 10, b"y" * 10, b"z" * 10]
    recorder, result = call(UpperFilter(lazy_app(chunks, TEXT)))
    out = read(result)
    assert len(out) == 3 and all(got is sent for got, sent in zip(out, chunks, strict=True))


def lazily_started(chunks):
    """An app whose iterable (tracked) calls start_response as it is first read, for a type not filtered."""
    tracked = TrackingIterable(chunks)

    def app(environ, start_response):
        tracked.start = lambda: start_response("200 OK", [("Content-Type", TEXT)])
        return tracked

    return app, tracked


def test_a_lazy_passthrough_response_hands_on_each_empty_chunk_as_it_comes():
    # PEP 3333: a middleware yields a value (an empty one, if it has nothing) for each the app yields.
    app, tracked = lazily_started([b"", b"", b"x"])
    recorder, result = call(UpperFilter(app))
    iterator = iter(result)
    assert next(iterator) == b""
    assert tracked.served == 1
    assert list(iterator) == [b"", b"x"]


def test_a_lazy_passthrough_response_is_read_one_chunk_at_a_time():
    app, tracked = lazily_started([b"a", b"b", b"c"])
    recorder, result = call(UpperFilter(app))
    iterator = iter(result)
    assert next(iterator) == b"a"
    assert tracked.served == 1
    read(result)


def test_an_iterable_that_yields_before_start_response_is_a_protocol_error():
    def app(environ, start_response):
        yield b"too early"

    recorder, result = call(UpperFilter(app))
    with pytest.raises(ProtocolError):
        next(iter(result))
    result.close()


def test_a_lazy_passthrough_response_of_empty_chunks_ends_with_an_empty_body():
    recorder, result = call(UpperFilter(lazy_app([b"", b""], TEXT)))
    assert read(result) == [b"", b""] and [status for status, _, _ in recorder.starts] == ["200 OK"]


def test_an_iterable_that_ends_without_calling_start_response_is_a_protocol_error():
    def app(environ, start_response):
        return iter([])

    recorder, result = call(UpperFilter(app))
    with pytest.raises(ProtocolError, match="without calling start_response"):
        read(result)
    assert recorder.starts == []
