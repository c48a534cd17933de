"""Headers made true to a new body, and the machine's own error pages (dualfilter.responses)."""

from __future__ import annotations

import pytest

from dualfilter import FilterError
from dualfilter.events import Body, End, ResponseStart
from dualfilter.responses import error_response, fixed_headers, status_line

APP = [("Content-Type", "text/html"), ("Content-Length", "9"), ("ETag", '"a"'), ("Last-Modified", "x"), ("X-Kept", "1")]


def test_headers_bound_to_the_old_body_go_and_the_new_length_comes():
    assert fixed_headers(APP, APP, 4, None) == [("Content-Type", "text/html"), ("X-Kept", "1"), ("Content-Length", "4")]


def test_a_streamed_body_gets_no_length():
    assert ("Content-Length", "4") not in fixed_headers(APP, APP, None, None)


def test_headers_a_filter_changed_are_checked():
    with pytest.raises(FilterError):
        fixed_headers([*APP, ("X-Bad", "a\r\nb")], APP, 4, None)


def test_a_status_line_gets_the_standard_reason_when_none_is_given():
    assert status_line(404) == "404 Not Found"


def test_a_status_line_of_a_code_with_no_reason_keeps_the_space_after_the_code():
    # RFC 9112 section 4: status-line = HTTP-version SP status-code SP [ reason-phrase ];
    # wsgiref asserts status[3] == " ".
    assert (status_line(299), status_line(599, "")) == ("299 ", "599 ")


def test_digest_fields_of_the_old_body_are_dropped_from_a_new_body():
    app = [*APP, ("Content-Digest", "sha-256=:abc=:"), ("Repr-Digest", "sha-256=:abc=:"), ("Digest", "SHA-256=abc=")]
    assert fixed_headers(app, app, 4, None) == fixed_headers(APP, APP, 4, None)


def test_the_error_page_is_a_complete_plain_500_without_traceback():
    start, body, end = error_response(ValueError("secret"), debug=False)
    assert type(start) is ResponseStart and start.status == 500 and type(end) is End
    assert type(body) is Body and b"secret" not in body.data
    assert dict(start.headers)["Content-Length"] == str(len(body.data))
