"""The request side: a safe request reaches the app as sent; a redispatch asks it for the full 200."""

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


def test_range_and_conditional_headers_of_a_safe_request_reach_the_app():
    seen = seen_environ()
    assert {key: seen[key] for key in {**RANGES, **CONDITIONAL}} == {**RANGES, **CONDITIONAL}


def test_a_partial_of_a_filtered_type_makes_the_app_asked_again_without_ranges_or_conditionals():
    asked = []

    def app(environ, start_response):
        asked.append({key for key in environ if key in {**RANGES, **CONDITIONAL}})
        if "HTTP_RANGE" in environ:
            start_response("206 Partial Content", [("Content-Type", "text/html"), ("Content-Range", "bytes 0-9/20")])
            return [b"<p>abcdef>"]
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<p>abcdefghijklmn</p>"]

    environ = make_environ(HTTP_ACCEPT="text/html", HTTP_RANGE="bytes=0-6", **CONDITIONAL)
    recorder, result = call(UpperFilter(app), environ)
    assert b"".join(result) == b"<P>ABCD"  # bytes 0-6 of the filtered page
    assert recorder.starts[0][0] == "206 Partial Content"
    assert asked == [{"HTTP_RANGE"} | set(CONDITIONAL), set()]


def test_the_app_asked_again_is_told_the_request_has_no_content_the_second_time():
    import io

    asked = []

    def app(environ, start_response):
        asked.append((environ.get("CONTENT_LENGTH"), environ.get("CONTENT_TYPE"), environ["wsgi.input"].read()))
        if "HTTP_RANGE" in environ:
            start_response("206 Partial Content", [("Content-Type", "text/html"), ("Content-Range", "bytes 0-1/9")])
            return [b"<p"]
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<p>x</p>"]

    environ = make_environ(HTTP_RANGE="bytes=0-1", CONTENT_LENGTH="5", CONTENT_TYPE="text/plain")
    environ["wsgi.input"] = io.BytesIO(b"hello")
    recorder, result = call(UpperFilter(app), environ)
    assert b"".join(result) == b"<P"
    assert asked == [("5", "text/plain", b"hello"), ("0", None, b"")]


def test_a_partial_the_client_never_asked_for_passes_as_it_came_and_the_app_is_asked_once():
    asked = []

    def app(environ, start_response):
        asked.append(environ["PATH_INFO"])
        start_response("206 Partial Content", [("Content-Type", "text/html"), ("Content-Range", "bytes 0-1/20")])
        return [b"<p"]

    recorder, result = call(UpperFilter(app), make_environ(HTTP_ACCEPT="text/html"))
    assert b"".join(result) == b"<p" and recorder.starts[0][0] == "206 Partial Content"
    assert asked == ["/"]  # asking again without validators would ask the very same request


def test_an_unsafe_request_reaches_the_app_untouched_and_is_never_asked_twice():
    asked = []

    def app(environ, start_response):
        asked.append(environ.get("HTTP_IF_NONE_MATCH"))
        start_response("304 Not Modified", [])
        return []

    environ = make_environ(REQUEST_METHOD="POST", **CONDITIONAL)
    read(call(UpperFilter(app), environ)[1])
    assert asked == ['"v1"']


def test_conditional_headers_reach_the_app_without_force_no_conditional():
    seen = seen_environ(force_no_conditional=False)
    assert {key: seen[key] for key in CONDITIONAL} == CONDITIONAL


def test_other_request_headers_reach_the_app():
    assert seen_environ()["HTTP_ACCEPT"] == "text/html"


def test_the_callers_environ_is_left_as_it_was():
    environ = make_environ(**RANGES)
    read(call(UpperFilter(simple_app([b"x"], TEXT)), environ)[1])
    assert environ["HTTP_RANGE"] == "bytes=0-9"
