"""dualfilter.testing.run_filter: unit-testing a filter with no server."""

from __future__ import annotations

from dualfilter.testing import run_filter
from tests.support.filters import Upper


def test_run_filter_takes_a_class_and_returns_status_headers_body():
    status, headers, body = run_filter(Upper, b"<p>x</p>")
    assert (status, body) == (200, b"<P>X</P>")
    assert ("Content-Length", "8") in headers


def test_run_filter_takes_a_configured_instance():
    assert run_filter(Upper(filter_all_status=True), b"x", status=404)[2] == b"X"


def test_run_filter_passes_other_types_through():
    assert run_filter(Upper, b"GIF89a", content_type="image/gif")[2] == b"GIF89a"


def test_run_filter_splits_the_body_into_chunks():
    seen = []

    class Spy(Upper):
        def should_filter(self, environ, status, headers):
            return False

    run_filter(Spy, b"abcdef", chunks=3)
    from dualfilter.machine import ResponseMachine

    original = ResponseMachine.body

    def spy_body(self, data):
        seen.append(data)
        return original(self, data)

    ResponseMachine.body = spy_body
    try:
        run_filter(Upper, b"abcdef", chunks=3)
    finally:
        ResponseMachine.body = original
    assert seen == [b"ab", b"cd", b"ef"]


def test_run_filter_uses_the_method_and_environ_given():
    seen = {}

    class Spy(Upper):
        def filter(self, environ, headers, data):
            seen.update(environ)
            return data

    run_filter(Spy, b"x", environ={"PATH_INFO": "/p", "HTTP_X_A": "1"})
    assert (seen["PATH_INFO"], seen["HTTP_X_A"], seen["REQUEST_METHOD"]) == ("/p", "1", "GET")
