"""dualfilter.testing.run_filter: unit-testing a filter with no server."""

from __future__ import annotations

import pytest

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


@pytest.mark.parametrize(
    ("size", "chunks", "pieces"), [(6, 4, [2, 2, 1, 1]), (5, 4, [2, 1, 1, 1]), (3, 5, [1, 1, 1]), (9, 3, [3, 3, 3])]
)
def test_run_filter_gives_the_body_in_as_many_pieces_as_asked_while_there_are_bytes(size, chunks, pieces):
    fed = []

    class Feeds(Upper):
        def stream(self, environ, headers):
            class Recording:
                def feed(self, data):
                    fed.append(len(data))
                    return data

                def finish(self):
                    return b""

            return Recording()

    run_filter(Feeds, bytes(range(65, 65 + size)), content_type="text/html", chunks=chunks)
    assert fed == pieces


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


def test_run_filter_raises_a_failed_filters_error_with_its_own_traceback():
    # The response's error keeps no traceback (it would keep the response alive):
    # run_filter re-raises it with the one its log record kept.
    class Failing(Upper):
        def filter(self, environ, headers, data):
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom") as caught:
        run_filter(Failing, b"<p>x</p>", raise_errors=True)
    assert any(entry.name == "filter" for entry in caught.traceback)
