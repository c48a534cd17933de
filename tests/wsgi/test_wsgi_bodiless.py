"""Responses with no body (a HEAD, a 204, a 304): the app's body is never read, only
closed, and the server still gets no byte of it."""

from __future__ import annotations

import io
from wsgiref.util import FileWrapper

import pytest
from wsgi_harness import HTML, TEXT, TrackingIterable, UpperFilter, call, make_environ, read, serve, wrap


class Endless(TrackingIterable):
    """An iterable that would go on for as long as it is read (bounded, to be safe)."""

    def __init__(self, start=None) -> None:
        super().__init__([b"<p>more</p>"] * 10_000, start)


def eager(tracked, content_type=HTML, status="200 OK"):
    def app(environ, start_response):
        start_response(status, [] if content_type is None else [("Content-Type", content_type)])
        return tracked

    return app


def lazy(tracked, content_type=HTML, status="200 OK"):
    def app(environ, start_response):
        tracked.start = lambda: start_response(status, [("Content-Type", content_type)])
        return tracked

    return app


@pytest.mark.parametrize("content_type", [HTML, TEXT], ids=["filtered-type", "other-type"])
def test_the_body_of_an_answer_to_a_head_is_not_read(content_type):
    tracked = Endless()
    response = serve(wrap(UpperFilter, eager(tracked, content_type)), make_environ("HEAD"))
    assert (response.status, response.body) == (200, b"")
    assert (tracked.served, tracked.closes) == (0, 1)


@pytest.mark.parametrize("content_type", [HTML, TEXT], ids=["filtered-type", "other-type"])
def test_a_lazily_started_answer_to_a_head_is_read_only_to_its_start(content_type):
    tracked = Endless()
    response = serve(wrap(UpperFilter, lazy(tracked, content_type)), make_environ("HEAD"))
    assert (response.status, response.body) == (200, b"")
    assert (tracked.served, tracked.closes) == (1, 1)


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
def test_the_body_an_app_gives_a_bodiless_status_is_not_read(status):
    tracked = Endless()
    response = serve(wrap(UpperFilter, eager(tracked, None, status)))
    assert (response.status, response.body) == (int(status[:3]), b"")
    assert (tracked.served, tracked.closes) == (0, 1)


def test_a_file_wrapper_answering_a_head_is_closed_and_never_read():
    reads = []

    class File(io.BytesIO):
        def read(self, size=-1):
            reads.append(size)
            return super().read(size)

    handle = File(b"\x00" * 100_000)

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "application/octet-stream"), ("Content-Length", "100000")])
        return environ["wsgi.file_wrapper"](handle, 8192)

    recorder, result = call(UpperFilter(app), make_environ("HEAD", **{"wsgi.file_wrapper": FileWrapper}))
    assert read(result) == [b""]
    assert reads == [] and handle.closed


def test_a_head_of_a_filtered_page_still_reaches_the_server_without_the_apps_length():
    tracked = Endless()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML), ("Content-Length", "110000")])
        return tracked

    recorder, result = call(UpperFilter(app), make_environ("HEAD"))
    assert read(result) == [b""]
    assert recorder.starts == [("200 OK", [("Content-Type", HTML)], None)]
    assert tracked.closes == 1
