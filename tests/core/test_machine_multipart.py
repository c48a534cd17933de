"""A multipart/byteranges 206 (RFC 9110 section 14.6): read up to its first part's header, whose
type is the page's; asked again when the filter would filter that page, else on as it came."""

from __future__ import annotations

from dualfilter import multipart
from dualfilter.events import PASSTHROUGH, REDISPATCH, Body, End, ResponseStart
from dualfilter.machine import ResponseMachine
from dualfilter.state import State
from dualfilter.testing import make_environ
from tests.support.filters import Upper

MULTIPART = [("Content-Type", "multipart/byteranges; boundary=SEP")]


def part(content_type: str) -> bytes:
    return f"\r\n--SEP\r\nContent-Type: {content_type}\r\nContent-Range: bytes 0-1/9\r\n\r\nab\r\n--SEP--\r\n".encode()


def peeking() -> ResponseMachine:
    machine = ResponseMachine(Upper(), make_environ(environ={"HTTP_RANGE": "bytes=0-1,3-4"}), can_redispatch=True)
    assert machine.start(206, MULTIPART) == []
    assert machine.state is State.PEEKING
    return machine


def test_a_type_the_filter_leaves_alone_goes_on_as_it_came_once_its_first_part_header_is_read():
    machine, body = peeking(), part("image/png")
    header_end = body.index(b"\r\n\r\nab") + 4
    for byte in range(header_end - 1):
        assert machine.body(body[byte : byte + 1]) == []  # the header is not complete yet
    events = machine.body(body[header_end - 1 : header_end + 1])
    assert events == [ResponseStart(206, MULTIPART, ""), Body(body[: header_end + 1]), PASSTHROUGH]
    assert machine.body(body[header_end + 1 :]) == [Body(body[header_end + 1 :])]
    assert machine.end() == [End()]


def test_a_type_the_filter_filters_is_asked_again():
    machine = peeking()
    assert machine.body(part("text/html; charset=utf-8")) == [REDISPATCH]
    assert machine.state is State.REDISPATCHING


def test_a_body_that_ends_before_any_part_header_is_asked_again():
    # Its parts could be of the page: never passed on unread (a lenient client would show them).
    machine = peeking()
    assert machine.body(b"\r\n--SEP\r\nContent-Ty") == []
    assert machine.end() == [REDISPATCH]


def test_a_part_header_in_bare_lf_lines_is_read():
    machine = peeking()
    assert machine.body(b"\n--SEP\nContent-Type: text/html\nContent-Range: bytes 0-9/50\n\n<html><bo") == [REDISPATCH]
    assert multipart.first_part_type(b"--SEP\nContent-Type: image/png\n\nPNG", "SEP") == "image/png"
    assert multipart.first_part_type(b"--SEP\n\nraw", "SEP") == ""


def test_no_part_header_within_the_limit_is_taken_for_the_worst_and_asked_again():
    machine = peeking()
    assert machine.body(b"x" * (multipart.HEADER_LIMIT - 1)) == []
    assert machine.body(b"x") == [REDISPATCH]


def test_a_restart_while_peeking_starts_over():
    machine = peeking()
    machine.body(b"\r\n--SEP\r\n")
    events = machine.start(200, [("Content-Type", "image/png")], restart=True)
    assert events == [ResponseStart(200, [("Content-Type", "image/png")], ""), PASSTHROUGH]
    assert machine.body(b"png") == [Body(b"png")]


def test_without_a_range_asked_a_multipart_206_goes_on_as_it_came():
    unasked = ResponseMachine(Upper(), make_environ(), can_redispatch=True)
    assert unasked.start(206, MULTIPART) == [ResponseStart(206, MULTIPART, ""), PASSTHROUGH]


def test_a_host_that_cannot_ask_again_answers_a_multipart_206_of_a_filtered_page_as_a_single_range():
    # As a single range of a page to filter gets where the app cannot be asked again (the IIS
    # filter, an unsafe method): never a part of the unfiltered page; other types go as they came.
    for first_part, expected in (("text/html", 502), ("image/png", 206)):
        cannot = ResponseMachine(Upper(), make_environ(environ={"HTTP_RANGE": "bytes=0-1,3-4"}))
        assert cannot.start(206, MULTIPART) == []
        events = cannot.body(part(first_part))
        assert type(events[0]) is ResponseStart and events[0].status == expected


def test_the_first_part_type_is_read_from_a_complete_header_only():
    body = part("image/png")
    assert multipart.first_part_type(body, "SEP") == "image/png"
    assert multipart.first_part_type(body[: body.index(b"\r\n\r\n")], "SEP") is None
    assert multipart.first_part_type(b"--SEP\r\n\r\nab", "SEP") == ""  # no header fields: a page without a type
    assert multipart.first_part_type(body, "OTHER") is None


def test_a_part_header_without_a_type_is_a_page_without_one_and_goes_on_at_once():
    # RFC 9110 section 14.6: parts carry a Content-Type only when the 200 would; no type, not filtered.
    machine = peeking()
    body = b"\r\n--SEP\r\nContent-Range: bytes 0-1/9\r\n\r\nab"
    assert machine.body(body) == [ResponseStart(206, MULTIPART, ""), Body(body), PASSTHROUGH]


def test_the_page_is_decided_with_the_206s_own_headers_and_the_parts_type():
    class SkipsDownloads(Upper):
        def should_filter(self, environ, status, headers):
            return "attachment" not in (headers.get("Content-Disposition") or "") and super().should_filter(
                environ, status, headers
            )

    headers = [*MULTIPART, ("Content-Disposition", "attachment")]
    machine = ResponseMachine(SkipsDownloads(), make_environ(environ={"HTTP_RANGE": "bytes=0-1,3-4"}), True)
    assert machine.start(206, headers) == []
    body = part("text/html")
    assert machine.body(body) == [ResponseStart(206, headers, ""), Body(body), PASSTHROUGH]


def test_a_head_or_a_coded_multipart_206_is_asked_again_at_once():
    head = ResponseMachine(Upper(), make_environ("HEAD", environ={"HTTP_RANGE": "bytes=0-1,3-4"}), can_redispatch=True)
    assert head.start(206, MULTIPART) == [REDISPATCH]
    coded = ResponseMachine(Upper(), make_environ(environ={"HTTP_RANGE": "bytes=0-1,3-4"}), can_redispatch=True)
    assert coded.start(206, [*MULTIPART, ("Content-Encoding", "gzip")]) == [REDISPATCH]


def test_a_restart_of_the_answer_being_dropped_leaves_the_app_to_be_asked_again():
    machine = peeking()
    assert machine.body(part("text/html")) == [REDISPATCH]
    assert machine.start(200, [("Content-Type", "text/html")], restart=True) == []  # WSGI exc_info, first answer
    assert machine.state is State.REDISPATCHING
    assert machine.start(200, [("Content-Type", "text/html")]) == []  # the second answer, buffered to filter


def test_if_match_is_asked_before_the_derived_tag_the_app_confirmed():
    # RFC 9110 section 13.2.2: If-Match first; a filtered page has no strong tag, so it is false.
    flt = Upper(force_no_conditional=False)
    derived = f'W/"v1-dfs{flt.validator_token()}"'
    environ = make_environ(environ={"HTTP_IF_NONE_MATCH": derived, "HTTP_IF_MATCH": '"other"'})
    events = ResponseMachine(flt, environ, can_redispatch=True).start(304, [("ETag", '"v1"')])
    assert type(events[0]) is ResponseStart and events[0].status == 412
