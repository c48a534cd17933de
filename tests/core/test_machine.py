"""The response machine (dualfilter.machine): its protocol, and misuse of it raising ProtocolError."""

from __future__ import annotations

import pytest

from dualfilter import ProtocolError, chain
from dualfilter.testing import make_environ
from tests.support.filters import Upper
from tests.support.machines import driven_machine

from .conftest import drive

HTML = [("Content-Type", "text/html")]


@pytest.fixture
def machine():
    return driven_machine(Upper(), make_environ())


def test_a_body_before_the_start_is_a_protocol_error(machine):
    with pytest.raises(ProtocolError, match="before the response start"):
        machine.body(b"x")


def test_an_end_before_the_start_is_a_protocol_error(machine):
    with pytest.raises(ProtocolError, match="before the response start"):
        machine.end()


def test_a_body_after_the_end_is_a_protocol_error(machine):
    machine.start(200, HTML)
    machine.end()
    with pytest.raises(ProtocolError, match="after the response end"):
        machine.body(b"x")


def test_ending_twice_is_a_protocol_error(machine):
    machine.start(200, [("Content-Type", "image/png")])
    machine.end()
    with pytest.raises(ProtocolError, match="ended twice"):
        machine.end()


def test_a_second_start_is_a_protocol_error(machine):
    machine.start(200, HTML)
    with pytest.raises(ProtocolError, match="already started"):
        machine.start(200, HTML)


def test_a_restart_before_anything_went_out_replaces_the_response(machine):
    machine.start(200, HTML)
    machine.body(b"half")
    machine.start("500 Internal Server Error", [("Content-Type", "text/plain")], restart=True)
    events = machine.body(b"error page") + machine.end()
    assert [type(e).__name__ for e in events] == ["Body", "End"]
    assert events[0].data == b"error page"


def test_a_restart_after_the_response_ended_is_a_protocol_error(machine):
    machine.start(200, [("Content-Type", "image/png")])
    machine.body(b"sent")
    machine.end()
    with pytest.raises(ProtocolError, match="cannot restart in state DONE"):
        machine.start(500, HTML, restart=True)


def test_a_wsgi_status_string_is_parsed(machine):
    start = machine.start("404 Not Found", [("Content-Type", "image/png")])[0]
    assert (start.status, start.reason) == (404, "Not Found")


@pytest.mark.parametrize("status", [b"200 OK", 200.0, None])
def test_a_status_neither_an_int_nor_a_str_is_a_type_error(machine, status):
    with pytest.raises(TypeError, match="status line str, not"):
        machine.start(status, [("Content-Type", "image/png")])


# -- statuses with no content: the framing says so ------------------------------------------------


def test_a_205_leaves_with_content_length_zero_whatever_length_the_app_gave():
    # RFC 9110 section 15.3.6: no content, and the framing must say so (the app's
    # length of the content it dropped would leave the client waiting for it).
    _, status, headers, body = drive(Upper(), [b"reset"], status=205, headers=[*HTML, ("Content-Length", "5")])
    assert (status, body) == (205, b"")
    assert [value for name, value in headers if name.lower() == "content-length"] == ["0"]


def test_a_204_leaves_without_content_length_or_transfer_encoding():
    # RFC 9110 section 8.6 and RFC 9112 section 6.1: neither field in a 204.
    app = [*HTML, ("Content-Length", "0"), ("Transfer-Encoding", "chunked"), ("X-Kept", "1")]
    _, status, headers, body = drive(Upper(), [], status=204, headers=app)
    assert (status, headers, body) == (204, [*HTML, ("X-Kept", "1")], b"")


def test_a_304_of_a_type_not_filtered_keeps_the_length_of_the_200_it_stands_for():
    png = [("Content-Type", "image/png"), ("Content-Length", "1234")]
    _, status, headers, _ = drive(Upper(), [], status=304, headers=png)
    assert (status, headers) == (304, png)


# -- a filter's own decision code that raises ----------------------------------------------------


class RaisingDecision(Upper):
    def should_filter(self, environ, status, headers):
        raise ValueError("cannot decide")


def test_a_should_filter_that_raises_answers_the_clean_500_and_drops_the_apps_body(caplog):
    machine, status, headers, body = drive(RaisingDecision(), [b"<p>app</p>", b"<p>more</p>"])
    assert (status, body) == (500, b"Internal Server Error\n")
    assert isinstance(machine.error, ValueError)
    assert "RaisingDecision raised on GET /" in caplog.text


class Marking(Upper):
    def filter(self, environ, headers, data):
        headers["X-Marked"] = "1"
        return data


class RaisingOnMarked(Upper):
    def should_filter(self, environ, status, headers):
        if "X-Marked" in headers:
            raise ValueError("cannot decide")
        return True


def test_a_chain_stage_whose_should_filter_raises_after_an_earlier_stage_answers_the_clean_500():
    # The outer stage decides on the response as the inner one left it: at the end, not the start.
    machine, status, _, body = drive(chain(RaisingOnMarked, Marking)(), [b"<p>app</p>"])
    assert (status, body) == (500, b"Internal Server Error\n")
    assert isinstance(machine.error, ValueError)


# -- nothing of a failed response outlives it ---------------------------------------------------------


class Failing(Upper):
    def filter(self, environ, headers, data):
        try:
            {}["missing"]
        except KeyError:
            raise ValueError("boom") from None


class Marker(dict):
    """An environ a weak reference can watch."""


def test_a_failed_response_is_freed_without_the_garbage_collector(monkeypatch):
    # The error the machine keeps holds no traceback: its frames would hold the
    # driver's, which hold the machine and the request (a cycle only gc breaks).
    # (The log record keeps one: pytest keeps the records, so the logger is off.)
    import gc
    import logging
    import weakref

    monkeypatch.setattr(logging.getLogger("dualfilter"), "disabled", True)
    environ = Marker(make_environ())
    gone = weakref.ref(environ)
    gc.disable()
    try:
        machine = driven_machine(Failing(), environ)
        machine.start(200, HTML)
        assert machine.end()[0].status == 500
        assert isinstance(machine.error, ValueError) and machine.error.__traceback__ is None
        del machine, environ
        assert gone() is None
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("status", "request_header", "first_headers"),
    [
        (416, ("HTTP_RANGE", "bytes=900-"), [("Content-Type", "image/png"), ("Content-Range", "bytes */10")]),
        (304, ("HTTP_IF_NONE_MATCH", '"v1"'), [("ETag", '"v1"')]),
    ],
)
def test_a_first_answer_that_stands_goes_out_whole_before_the_second_call_ends(status, request_header, first_headers):
    # Asked again for what may be a filtered page, the page is not filtered after all: the
    # app's first answer (no body) is the response, complete at once, whatever the second call does.
    from dualfilter.events import REDISPATCH, End, ResponseStart
    from dualfilter.machine import ResponseMachine
    from dualfilter.state import State

    machine = ResponseMachine(Upper(), make_environ(environ=dict([request_header])), can_redispatch=True)
    assert machine.start(status, first_headers) == [REDISPATCH]
    events = machine.start(200, [("Content-Type", "image/png"), ("Content-Length", "10")])
    assert [type(event) for event in events] == [ResponseStart, End]
    assert events[0].status == status and machine.state is State.ANSWERED
    assert machine.body(b"0123456789") == [] and machine.end() == []


@pytest.mark.parametrize(
    ("second_type", "expected_tag"),
    [("image/png", '"v1"'), ("text/html", 'W/"v1-dfs{token}"')],
    ids=["not-filtered", "filtered"],
)
def test_a_304_to_any_tag_naming_no_type_is_asked_again_to_tell_whose_tag_it_keeps(second_type, expected_tag):
    # If-None-Match: * (RFC 9110 section 13.1.2) is true of any current page: the app's untyped 304
    # says the page exists, not whether the filter filters it. A page it leaves alone keeps the
    # app's own 304 whole (a cache then holds the app's strong tag, for If-Range); a filtered
    # page is confirmed with the derived tag.
    from dualfilter.events import REDISPATCH, End, ResponseStart
    from dualfilter.machine import ResponseMachine

    flt = Upper(force_no_conditional=False)
    own = [("ETag", '"v1"'), ("Cache-Control", "max-age=60"), ("X-App", "1")]
    machine = ResponseMachine(flt, make_environ(environ={"HTTP_IF_NONE_MATCH": "*"}), can_redispatch=True)
    assert machine.start(304, own) == [REDISPATCH]
    events = machine.start(200, [("Content-Type", second_type), ("ETag", '"v1"'), ("Content-Length", "3")])
    assert [type(event) for event in events] == [ResponseStart, End]
    tag = expected_tag.format(token=flt.etag_token)
    kept = own if second_type == "image/png" else [("Cache-Control", "max-age=60"), ("ETag", tag)]
    assert (events[0].status, events[0].headers) == (304, kept)
    assert machine.body(b"abc") == [] and machine.end() == []


def test_a_304_to_any_tag_is_confirmed_for_the_filtered_page_where_the_app_cannot_be_asked_again():
    from dualfilter.machine import ResponseMachine

    flt = Upper(force_no_conditional=False)
    machine = ResponseMachine(flt, make_environ(environ={"HTTP_IF_NONE_MATCH": "*"}), can_redispatch=False)
    events = machine.start(304, [("ETag", '"v1"')])
    assert [(event.status, event.headers) for event in events] == [(304, [("ETag", f'W/"v1-dfs{flt.etag_token}"')])]


def test_an_if_match_beside_any_tag_fails_first_for_a_page_found_filtered_when_asked_again():
    from dualfilter.events import REDISPATCH
    from dualfilter.machine import ResponseMachine

    flt = Upper(force_no_conditional=False)
    environ = make_environ(environ={"HTTP_IF_NONE_MATCH": "*", "HTTP_IF_MATCH": '"v1"'})
    machine = ResponseMachine(flt, environ, can_redispatch=True)
    assert machine.start(304, [("ETag", '"v1"')]) == [REDISPATCH]
    events = machine.start(200, [("Content-Type", "text/html"), ("ETag", '"v1"')])
    assert events[0].status == 412
