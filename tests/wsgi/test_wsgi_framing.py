"""A body that does not match the app's own Content-Length is the app's error, never a
complete-looking filtered page (PEP 3333: a server sends no more than the header allows,
and closes the connection on a body that falls short of it)."""

from __future__ import annotations

import pytest
from wsgi_harness import HTML, TEXT, Recorder, TrackingIterable, UpperFilter, call, make_environ, read, serve, wrap

from dualfilter import ProtocolError
from tests.support.filters import ClosingStream, ClosingStreams

BODY = b"<p>fifty bytes of html, more or less, in a page</p>"


def declaring(length: int, chunks: list[bytes], content_type: str = HTML, *, lazy: bool = False, written: bool = False):
    """An app that says Content-Length ``length`` and sends ``chunks`` (from its iterable,
    or through ``write()``); the iterable is tracked."""
    tracked = TrackingIterable([] if written else chunks)

    def app(environ, start_response):
        headers = [("Content-Type", content_type), ("Content-Length", str(length))]
        if lazy:
            tracked.start = lambda: start_response("200 OK", headers)
            return tracked
        write = start_response("200 OK", headers)
        if written:
            for chunk in chunks:
                write(chunk)
        return tracked

    return app, tracked


@pytest.mark.parametrize("lazy", [False, True], ids=["started", "lazy"])
def test_a_filtered_body_shorter_than_its_content_length_is_the_apps_error(lazy):
    app, tracked = declaring(len(BODY) + 10, [BODY[:20], BODY[20:]], lazy=lazy)
    recorder = Recorder()
    with pytest.raises(ProtocolError, match=f"{len(BODY)} of the {len(BODY) + 10} bytes"):
        read(UpperFilter(app)(make_environ(), recorder.start_response))
    assert recorder.starts == [] and tracked.closes == 1


def test_a_filtered_body_longer_than_its_content_length_is_the_apps_error_and_read_no_further():
    app, tracked = declaring(10, [BODY[:5], BODY[5:], b"never read"])
    with pytest.raises(ProtocolError, match="more than the 10 bytes"):
        call(UpperFilter(app))
    assert (tracked.served, tracked.closes) == (2, 1)


@pytest.mark.parametrize("length", [len(BODY) - 1, len(BODY) + 1])
def test_a_written_body_that_misses_its_content_length_is_the_apps_error(length):
    app, tracked = declaring(length, [BODY[:20], BODY[20:]], written=True)
    with pytest.raises(ProtocolError):
        read(UpperFilter(app)(make_environ(), Recorder().start_response))


def test_the_server_answers_its_own_error_for_a_short_filtered_body():
    app, _ = declaring(len(BODY) + 10, [BODY])
    response = serve(wrap(UpperFilter, app))
    assert response.status == 500 and BODY.upper() not in response.body
    assert "ProtocolError" in response.errors


def test_a_short_streamed_body_is_cut_short_and_its_stream_let_go():
    app, tracked = declaring(len(BODY) + 10, [BODY[:20], BODY[20:]])
    ClosingStream.closed = 0
    recorder, result = call(ClosingStreams(app))
    iterator = iter(result)
    assert next(iterator) == BODY[:20].upper()  # the stream's first output went out with its start
    with pytest.raises(ProtocolError):
        list(iterator)
    result.close()
    assert (tracked.closes, ClosingStream.closed) == (1, 1)


def test_a_body_that_matches_its_content_length_is_filtered():
    app, _ = declaring(len(BODY), [BODY[:20], b"", BODY[20:]])
    response = serve(wrap(UpperFilter, app))
    assert (response.status, response.body) == (200, BODY.upper())
    assert response.header("Content-Length") == str(len(BODY))


def test_a_passthrough_body_that_misses_its_content_length_is_left_to_the_server():
    # The server has the app's header, and applies PEP 3333's rule itself, as without the filter.
    app, tracked = declaring(len(BODY) + 10, [BODY], TEXT)
    recorder, result = call(UpperFilter(app))
    assert result is tracked and read(result) == [BODY]


def test_an_oversized_body_passed_unfiltered_is_left_to_the_server_with_its_length():
    app, _ = declaring(len(BODY) + 10, [BODY[:30], BODY[30:]])
    recorder, result = call(UpperFilter(app, max_buffer_size=25, oversize="pass"))
    assert b"".join(read(result)) == BODY
    assert ("Content-Length", str(len(BODY) + 10)) in recorder.starts[0][1]


def test_a_head_response_keeps_no_check_of_a_body_it_does_not_have():
    app, _ = declaring(len(BODY), [])
    recorder, result = call(UpperFilter(app), make_environ("HEAD"))
    assert b"".join(read(result)) == b""


@pytest.mark.parametrize("value", ["ten", "10, 12", "-1"])
def test_a_filtered_response_whose_content_length_is_not_a_length_is_the_apps_error(value):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML), ("Content-Length", value)])
        return [BODY]

    with pytest.raises(ProtocolError, match="Content-Length"):
        read(UpperFilter(app)(make_environ(), Recorder().start_response))
