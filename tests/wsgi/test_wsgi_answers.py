"""The filter's own answers made at the app's ``start_response`` (a 412, the clean 500 of a
failing ``should_filter``) reach the server as the iterable it is returned, never through
its ``write()``: a server need not support ``write()`` (granian does not), and an app that
never called it must not depend on it."""

from __future__ import annotations

import pytest
from wsgi_harness import HTML, TrackingIterable, UpperFilter, make_environ, read, serve, tracking_app, wrap


class NoWrite:
    """A server's ``start_response`` whose ``write()`` is not supported."""

    def __init__(self) -> None:
        self.starts: list[str] = []

    def start_response(self, status, headers, exc_info=None):
        self.starts.append(status)

        def write(data):
            raise NotImplementedError("this server has no write()")

        return write


class Refusing(UpperFilter):
    def should_filter(self, environ, status, headers):
        raise RuntimeError("should_filter failed")


@pytest.mark.parametrize("lazy", [False, True], ids=["started", "lazy"])
def test_a_412_for_a_filtered_page_is_returned_as_the_iterable(lazy):
    tracked = TrackingIterable([b"<p>page</p>"])

    def app(environ, start_response):
        start = lambda: start_response("200 OK", [("Content-Type", HTML)])  # noqa: E731
        if lazy:
            tracked.start = start
        else:
            start()
        return tracked

    server = NoWrite()
    result = UpperFilter(app)(make_environ(HTTP_IF_MATCH='"abc"'), server.start_response)
    assert b"".join(read(result)) == b"Precondition Failed\nThe page has changed.\n"
    assert server.starts == ["412 Precondition Failed"] and tracked.closes == 1


def test_the_clean_500_of_a_failing_should_filter_is_returned_as_the_iterable():
    tracked = TrackingIterable([b"<p>page</p>"])
    server = NoWrite()
    result = Refusing(tracking_app(tracked))(make_environ(), server.start_response)
    assert b"".join(read(result)) == b"Internal Server Error\n"
    assert server.starts == ["500 Internal Server Error"] and tracked.closes == 1


def test_the_412_reaches_the_client_whole_through_wsgiref():
    response = serve(wrap(UpperFilter, tracking_app(TrackingIterable([b"<p>page</p>"]))), make_environ(HTTP_IF_MATCH='"x"'))
    assert (response.status, response.body) == (412, b"Precondition Failed\nThe page has changed.\n")
    assert response.header("Content-Length") == str(len(response.body))
    assert response.header("Content-Type") == "text/plain; charset=utf-8" and HTML not in str(response.headers)
