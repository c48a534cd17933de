"""WSGIExtension sends an app's body as PEP 3333 asks: the headers only with the first non-empty
chunk (or the first write()), and no more and no fewer bytes than the app's own Content-Length."""

from __future__ import annotations

import logging
import sys

import pytest

from dualfilter.isapi import WSGIExtension
from dualfilter.isapi.constants import HSE_STATUS_ERROR, HSE_STATUS_SUCCESS, HSE_STATUS_SUCCESS_AND_KEEP_CONN
from dualfilter.isapi.testing import FakeECB, call_extension

TEXT = ("Content-Type", "text/plain")


def serve(app, method="GET"):
    return call_extension(WSGIExtension(app, workers=0), FakeECB(method))


def with_length(length, chunks):
    """An app stating ``Content-Length: length`` and yielding ``chunks`` from a generator."""

    def app(environ, start_response):
        start_response("200 OK", [TEXT, ("Content-Length", str(length))])
        yield from chunks

    return app


# -- the headers go out with the first non-empty chunk -------------------------------------


def test_error_after_an_empty_first_chunk_gets_a_clean_500():
    def app(environ, start_response):
        start_response("200 OK", [TEXT, ("Content-Length", "5")])
        yield b""
        raise RuntimeError("database down")

    assert serve(app).status == 500


def test_exc_info_after_an_empty_first_chunk_replaces_the_response():
    def app(environ, start_response):
        start_response("200 OK", [TEXT])
        yield b""
        try:
            raise RuntimeError("x")
        except RuntimeError:
            start_response("503 Service Unavailable", [TEXT], sys.exc_info())
        yield b"sorry"

    response = serve(app)
    assert (response.status, response.body) == (503, b"sorry")


def test_write_callable_sends_the_headers_even_for_empty_bytes():
    def app(environ, start_response):
        write = start_response("200 OK", [TEXT])
        write(b"")
        raise RuntimeError("after the headers")

    response = serve(app)
    assert response.status == 200 and response.done_status == HSE_STATUS_ERROR


# -- the app is held to its Content-Length ------------------------------------------------


def test_body_known_short_of_its_content_length_does_not_ask_to_keep_the_connection():
    def app(environ, start_response):
        start_response("200 OK", [TEXT, ("Content-Length", "10")])
        return [b"abc"]

    assert serve(app).keep_alive is False


def test_streamed_body_short_of_its_content_length_ends_without_keeping_the_connection():
    response = serve(with_length(10, [b"abc"]))
    assert response.done_status == HSE_STATUS_SUCCESS


def test_body_short_of_its_content_length_is_logged(caplog):
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        serve(with_length(10, [b"abc"]))
    assert "7 bytes fewer than its Content-Length of 10" in caplog.text


def test_body_past_its_content_length_is_cut_there():
    response = serve(with_length(3, [b"ab", b"cdef", b"HTTP/1.1 200 OK\r\n"]))
    assert response.body == b"abc"


def test_iteration_stops_once_the_content_length_is_sent():
    asked = []

    def chunks():
        for chunk in (b"abc", b"more", b"still more"):
            asked.append(chunk)
            yield chunk

    serve(with_length(3, chunks()))
    assert asked == [b"abc"]


def test_write_past_the_content_length_raises():
    errors = []

    def app(environ, start_response):
        write = start_response("200 OK", [TEXT, ("Content-Length", "3")])
        write(b"abc")
        try:
            write(b"d")
        except ValueError as exc:
            errors.append(exc)
        return []

    assert serve(app).body == b"abc" and len(errors) == 1


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_bodiless_status_with_a_content_length_keeps_the_connection(status):
    def app(environ, start_response):
        start_response(status, [TEXT, ("Content-Length", "10")])
        return []

    assert serve(app).done_status == HSE_STATUS_SUCCESS_AND_KEEP_CONN


def test_head_response_with_a_content_length_keeps_the_connection():
    assert serve(with_length(10, []), method="HEAD").done_status == HSE_STATUS_SUCCESS_AND_KEEP_CONN


def test_a_content_length_list_of_equal_values_holds_the_body_to_that_value():
    def app(environ, start_response):
        start_response("200 OK", [TEXT, ("Content-Length", "3, 3")])
        return [b"abcdef"]

    assert serve(app).body == b"abc"


# -- a response with no body sends none, whatever the app gives ---------------------------


def test_head_response_sends_none_of_the_iterables_body():
    response = serve(with_length(5, [b"hello"]), method="HEAD")
    assert (response.status, response.body, response.header("Content-Length")) == (200, b"", "5")


def test_head_response_sends_none_of_what_write_is_given():
    def app(environ, start_response):
        write = start_response("200 OK", [TEXT])
        write(b"abc")
        return [b"def"]

    assert serve(app, method="HEAD").body == b""


def test_iterating_stops_at_the_first_chunk_of_a_head_response():
    asked = []

    def chunks():
        for chunk in (b"abc", b"more"):
            asked.append(chunk)
            yield chunk

    serve(with_length(7, chunks()), method="HEAD")
    assert asked == [b"abc"]


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_bodiless_status_sends_none_of_the_apps_body(status):
    def app(environ, start_response):
        start_response(status, [TEXT])
        return [b"junk"]

    assert serve(app).body == b""


def test_clean_500_to_a_head_request_has_no_body():
    def app(environ, start_response):
        raise RuntimeError("app failed")

    response = serve(app, method="HEAD")
    assert (response.status, response.body) == (500, b"")
