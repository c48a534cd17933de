"""A filter that fails, and responses too large to filter."""

from __future__ import annotations

import logging

import pytest
from wsgi_harness import HTML, TrackingIterable, UpperFilter, call, make_environ, read, serve, simple_app, tracking_app, wrap

from dualfilter import Filter


class Broken(Filter):
    def filter(self, environ, headers, data):
        raise ValueError("secret detail")


def test_a_filter_that_raises_gives_a_clean_500():
    response = serve(wrap(Broken, simple_app([b"<p>private</p>"])))
    assert (response.status, response.reason) == (500, "Internal Server Error")
    assert response.header("Content-Type") == "text/plain; charset=utf-8"
    assert response.body == b"Internal Server Error\n"


def test_the_500_of_a_failed_filter_has_a_true_content_length():
    response = serve(wrap(Broken, simple_app([b"<p>private</p>"])))
    assert response.header("Content-Length") == str(len(response.body))


def test_a_filter_exception_is_logged_on_the_dualfilter_logger(caplog):
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        serve(wrap(Broken, simple_app([b"<p>x</p>"])))
    (record,) = [r for r in caplog.records if r.name == "dualfilter"]
    assert isinstance(record.exc_info[1], ValueError)


def test_the_debug_option_puts_the_traceback_in_the_500():
    response = serve(wrap(Broken, simple_app([b"<p>x</p>"]), debug=True))
    assert response.status == 500
    assert b"ValueError: secret detail" in response.body


def test_a_failed_filter_does_not_reach_the_server_as_an_exception():
    response = serve(wrap(Broken, simple_app([b"<p>x</p>"])))
    assert response.errors == ""


def test_a_failed_filter_of_a_lazy_app_gives_the_clean_500():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        yield b"<p>x</p>"

    response = serve(wrap(Broken, app))
    assert (response.status, response.body) == (500, b"Internal Server Error\n")


def test_a_response_larger_than_max_buffer_size_is_answered_502_by_default():
    response = serve(wrap(UpperFilter, simple_app([b"<p>" + b"x" * 100 + b"</p>"]), max_buffer_size=50))
    assert response.status == 502
    assert response.header("Content-Length") == str(len(response.body))


def test_a_written_response_larger_than_max_buffer_size_is_answered_502():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", HTML)])
        for _ in range(5):
            write(b"x" * 20)
        return [b"tail"]

    response = serve(wrap(UpperFilter, app, max_buffer_size=50))
    assert response.status == 502
    assert b"x" not in response.body and b"tail" not in response.body


def test_an_oversized_response_under_oversize_pass_streams_unfiltered_in_its_chunks():
    chunks = [b"<p>" + b"x" * 20, b"y" * 20, b"z" * 20, b"</p>"]
    recorder, result = call(UpperFilter(tracking_app(TrackingIterable(chunks)), max_buffer_size=30, oversize="pass"))
    out = read(result)
    assert out == chunks
    assert all(got is sent for got, sent in zip(out, chunks, strict=True))


def test_a_written_oversized_response_under_oversize_pass_goes_out_through_write():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", HTML)])
        for chunk in (b"a" * 20, b"b" * 20, b"c" * 20):
            write(chunk)
        return [b"d"]

    recorder, result = call(UpperFilter(app, max_buffer_size=30, oversize="pass"))
    assert recorder.written == [b"a" * 20, b"b" * 20, b"c" * 20]
    assert read(result) == [b"d"]


def test_a_failed_response_leaves_nothing_for_the_garbage_collector(monkeypatch):
    import gc
    import logging
    import weakref

    monkeypatch.setattr(logging.getLogger("dualfilter"), "disabled", True)  # pytest keeps log records

    class Failing(UpperFilter):
        def filter(self, environ, headers, data):
            raise ValueError("boom")

    class Marker(dict):
        pass

    environ = Marker(make_environ())
    gone = weakref.ref(environ)
    gc.disable()
    try:
        recorder, result = call(Failing(simple_app([b"<p>x</p>"])), environ)
        assert recorder.starts[0][0].startswith("500") and b"".join(read(result)) == b"Internal Server Error\n"
        del recorder, result, environ
        assert gone() is None
    finally:
        gc.enable()


@pytest.mark.parametrize("chunk", [42, None, "<p>text</p>"])
def test_a_body_chunk_that_is_not_bytes_is_a_type_error_naming_its_type(chunk):
    # PEP 3333: body chunks are bytestrings.
    app = simple_app([chunk])
    with pytest.raises(TypeError, match=f"bytes, not {type(chunk).__name__}"):
        read(call(UpperFilter(app))[1])
