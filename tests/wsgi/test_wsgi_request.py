"""The request side: headers that could let a response skip the filter never reach the app."""

from __future__ import annotations

from wsgi_harness import TEXT, UpperFilter, call, make_environ, read, simple_app

CONDITIONAL = {"HTTP_IF_MODIFIED_SINCE": "Sat, 01 Jan 2000 00:00:00 GMT", "HTTP_IF_NONE_MATCH": '"v1"'}
RANGES = {"HTTP_RANGE": "bytes=0-9", "HTTP_IF_RANGE": '"v1"'}


def seen_environ(**options):
    """The environ keys the app saw, for a request carrying every stripped header."""
    seen = {}

    def app(environ, start_response):
        seen.update(environ)
        start_response("200 OK", [("Content-Type", TEXT)])
        return [b"x"]

    environ = make_environ(HTTP_ACCEPT="text/html", **CONDITIONAL, **RANGES)
    read(call(UpperFilter(app, **options), environ)[1])
    return seen


def test_range_and_if_range_never_reach_the_app():
    seen = seen_environ()
    assert not set(RANGES) & set(seen)


def test_range_headers_are_removed_even_without_force_no_conditional():
    seen = seen_environ(force_no_conditional=False)
    assert not set(RANGES) & set(seen)


def test_conditional_headers_are_removed_under_force_no_conditional():
    seen = seen_environ()
    assert not set(CONDITIONAL) & set(seen)


def test_conditional_headers_reach_the_app_without_force_no_conditional():
    seen = seen_environ(force_no_conditional=False)
    assert {key: seen[key] for key in CONDITIONAL} == CONDITIONAL


def test_other_request_headers_reach_the_app():
    assert seen_environ()["HTTP_ACCEPT"] == "text/html"


def test_the_callers_environ_is_left_as_it_was():
    environ = make_environ(**RANGES)
    read(call(UpperFilter(simple_app([b"x"], TEXT)), environ)[1])
    assert environ["HTTP_RANGE"] == "bytes=0-9"
