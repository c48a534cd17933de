"""The status line an app gives ``start_response`` (PEP 3333: a native string, a
three-digit code, a space, a reason phrase that may be empty)."""

from __future__ import annotations

import pytest
from wsgi_harness import HTML, TEXT, UpperFilter, call, read, serve, simple_app, wrap


@pytest.mark.parametrize("status", [200, 404, True, b"200 OK"], ids=["int", "int-404", "bool", "bytes"])
@pytest.mark.parametrize("content_type", [HTML, TEXT], ids=["filtered", "passed"])
def test_a_status_that_is_not_a_str_is_a_type_error(status, content_type):
    # Without the filter, wsgiref asserts it and gunicorn raises TypeError: the filter
    # must not turn it into a valid '200 OK'.
    with pytest.raises(TypeError, match="status line str"):
        read(call(UpperFilter(simple_app([b"<p>x</p>"], content_type, status)))[1])


@pytest.mark.parametrize("status", ["２００ OK", "+20 OK", "2000 OK", "200\tOK", "200 OK\r\nX-Injected: 1", " 200 OK", "200OK"])
def test_a_status_line_not_of_pep_3333s_form_is_a_value_error_when_the_filter_takes_the_response(status):
    # The server sees the filter's status line, not the app's: the filter refuses what a server would.
    with pytest.raises(ValueError):
        read(call(UpperFilter(simple_app([b"<p>x</p>"], HTML, status), filter_all_status=True))[1])


@pytest.mark.parametrize(
    ("status", "content_type"),
    # One that names no code ("200OK") cannot be a response the filter takes, whatever its type.
    [("2000 OK", TEXT), ("200OK", TEXT), ("OK", HTML), ("", HTML), ("abc", HTML)],
)
def test_a_status_line_of_a_response_the_filter_leaves_alone_reaches_the_server_as_it_came(status, content_type):
    recorder, result = call(UpperFilter(simple_app([b"<p>x</p>"], content_type, status)))
    assert recorder.starts[0][0] == status  # the server's to refuse, as without the filter


def test_a_restart_with_a_status_that_is_not_a_str_is_a_type_error():
    import sys

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        try:
            raise ValueError("page failed")
        except ValueError:
            start_response(500, [("Content-Type", HTML)], sys.exc_info())
        return [b"<p>error</p>"]

    with pytest.raises(TypeError, match="status line str"):
        call(UpperFilter(app))


@pytest.mark.parametrize(
    ("status", "line"),
    [("200 OK", "200 OK"), ("599 ", "599 "), ("299 Fine Indeed", "299 Fine Indeed")],
)
def test_a_filtered_status_line_keeps_the_apps_reason_phrase(status, line):
    response = serve(wrap(UpperFilter, simple_app([b"<p>x</p>"], HTML, status), filter_all_status=True))
    assert (response.status, response.reason, response.body) == (int(line[:3]), line[4:], b"<P>X</P>")
