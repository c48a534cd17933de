"""Responses the filter does not take pass through untouched and unjoined."""

from __future__ import annotations

import io
from wsgiref.util import FileWrapper

import pytest
from wsgi_harness import (
    HTML,
    TEXT,
    TrackingIterable,
    UpperFilter,
    call,
    make_environ,
    read,
    serve,
    simple_app,
    tracking_app,
    wrap,
)

from dualfilter.wsgi import FilterMiddleware


def test_calling_the_filter_class_on_a_wsgi_app_gives_the_wsgi_middleware():
    app = simple_app([b"x"])
    assert isinstance(UpperFilter(app), FilterMiddleware)
    assert isinstance(UpperFilter.wsgi(app), FilterMiddleware)


def test_the_middleware_keeps_the_filter_and_the_app():
    app = simple_app([b"x"])
    middleware = UpperFilter.wsgi(app, filter_all_status=True)
    assert middleware.app is app
    assert isinstance(middleware.filter, UpperFilter) and middleware.filter.filter_all_status


def test_a_passthrough_response_returns_the_apps_own_iterable():
    body = [b"<p>plain</p>"]
    recorder, result = call(UpperFilter(simple_app(body, TEXT)))
    assert result is body


def test_a_passthrough_response_starts_before_the_app_returns():
    recorder, result = call(UpperFilter(simple_app([b"x"], TEXT)))
    assert recorder.starts == [("200 OK", [("Content-Type", TEXT)], None)]


def test_a_file_wrapper_response_for_an_unfiltered_type_reaches_the_server_intact():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return environ["wsgi.file_wrapper"](io.BytesIO(b"\x00" * 10), 4)

    recorder, result = call(UpperFilter(app), make_environ(**{"wsgi.file_wrapper": FileWrapper}))
    assert type(result) is FileWrapper
    assert b"".join(read(result)) == b"\x00" * 10


def test_a_passthrough_body_reaches_the_client_unchanged():
    response = serve(wrap(UpperFilter, simple_app([b"<p>a</p>", b"<p>b</p>"], TEXT)))
    assert (response.status, response.body) == (200, b"<p>a</p><p>b</p>")
    assert response.header("Content-Type") == TEXT


def test_a_non_200_status_of_a_filtered_type_passes_through():
    response = serve(wrap(UpperFilter, simple_app([b"<p>gone</p>"], HTML, "404 Not Found")))
    assert (response.status, response.body) == (404, b"<p>gone</p>")


def test_a_custom_reason_phrase_passes_through():
    response = serve(wrap(UpperFilter, simple_app([b"x"], TEXT, "299 Fine Indeed")))
    assert (response.status, response.reason) == (299, "Fine Indeed")


def test_a_head_request_for_a_filtered_type_is_not_filtered_and_loses_its_content_length():
    app = simple_app([], HTML, headers=[("Content-Length", "9")])
    recorder, result = call(UpperFilter(app), make_environ("HEAD"))
    read(result)
    ((status, headers, _),) = recorder.starts
    assert status == "200 OK"
    assert [name for name, _ in headers] == ["Content-Type"]


def test_passthrough_chunks_are_the_apps_chunk_objects():
    chunks = [b"a" * 100, b"b" * 100, b"c" * 100]
    tracked = TrackingIterable(chunks)
    recorder, result = call(UpperFilter(tracking_app(tracked, TEXT)))
    out = read(result)
    assert len(out) == 3 and all(got is sent for got, sent in zip(out, chunks, strict=True))


def test_a_bytes_status_is_refused_with_a_type_error():
    def app(environ, start_response):
        start_response(b"200 OK", [("Content-Type", "image/png")])
        return [b"x"]

    with pytest.raises(TypeError, match="status line str"):
        call(UpperFilter(app))
