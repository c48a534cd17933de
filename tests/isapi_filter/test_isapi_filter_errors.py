"""Errors give a clean 500 (or cut the response short), never an exception out of HttpFilterProc."""

from __future__ import annotations

import logging

import pytest
from filter_harness import HTML_TYPE, PAGE, UpperFilter, filtered, html, serve

from dualfilter import Filter
from dualfilter.isapi.constants import (
    SF_NOTIFY_SEND_RAW_DATA,
    SF_STATUS_REQ_ERROR,
    SF_STATUS_REQ_FINISHED,
    SF_STATUS_REQ_NEXT_NOTIFICATION,
)
from dualfilter.isapi.errors import FilterError
from dualfilter.isapi.testing import FakeFilterContext, FilterHost, raw_response

BODY_500 = b"Internal Server Error\n"
CLEAN_500 = raw_response(
    "500 Internal Server Error",
    [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(BODY_500)))],
    [BODY_500],
)


class Broken(Filter):
    def filter(self, environ, headers, data):
        raise ValueError("broken filter")


class BrokenDecision(Filter):
    def should_filter(self, environ, status, headers):
        raise ValueError("broken decision")

    def filter(self, environ, headers, data):
        return data


class FailsOnBoom(Filter):
    def filter(self, environ, headers, data):
        if environ["PATH_INFO"] == "/boom":
            raise ValueError("boom")
        return data.upper()


class UpperStream:
    def __init__(self, fail_after=None):
        self.fail_after = fail_after
        self.fed = 0

    def feed(self, data):
        self.fed += 1
        if self.fail_after is not None and self.fed > self.fail_after:
            raise ValueError("broken stream")
        return data.upper()

    def finish(self):
        return b""


class BrokenStreaming(Filter):
    def stream(self, environ, headers):
        return UpperStream(fail_after=1)


def test_failing_filter_gives_a_clean_500():
    assert serve(html(), flt=Broken, splits=[20]).raw == CLEAN_500


def test_failing_filter_returns_next_notification_from_every_call():
    notes = serve(html(), flt=Broken, splits=[20]).notifications
    assert {note.result for note in notes} == {SF_STATUS_REQ_NEXT_NOTIFICATION}


def test_failing_filter_is_logged(caplog):
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        serve(html(), flt=Broken)
    assert any("Broken" in record.getMessage() for record in caplog.records)


def test_failing_decision_gives_a_clean_500():
    assert serve(html(), flt=BrokenDecision, splits=[30]).raw == CLEAN_500


class BrokenRequestPredicate(Filter):
    def should_filter_request(self, environ):
        raise ValueError("broken request predicate")

    def filter(self, environ, headers, data):
        return data


def test_a_should_filter_request_that_raises_gives_a_clean_500_in_place_of_the_sites_response():
    assert serve(html(), flt=BrokenRequestPredicate, splits=[30]).raw == CLEAN_500


@pytest.mark.parametrize("strip", [True, False])
def test_a_should_filter_request_that_raises_without_preproc_headers_gives_a_clean_500(strip):
    from dualfilter.isapi.constants import SF_NOTIFY_PREPROC_HEADERS

    with FilterHost(BrokenRequestPredicate.isapi_filter(strip_request_headers=strip), raise_errors=False) as iis:
        iis.flags &= ~SF_NOTIFY_PREPROC_HEADERS  # IIS sends none: asked at the response's first bytes
        with iis.connection() as connection:
            assert connection.request("GET", "/", response=html()).raw == CLEAN_500


def test_after_a_500_the_next_request_on_the_connection_is_filtered():
    with FilterHost(FailsOnBoom.isapi_filter()) as iis, iis.connection() as connection:
        first = connection.request("GET", "/boom", response=html())
        second = connection.request("GET", "/fine", response=html())
    assert (first.raw, second.raw) == (CLEAN_500, filtered(html()))


def test_body_shorter_than_its_content_length_gives_a_502():
    raw = html()[:-5]
    response = serve(raw, splits=[40])
    assert response.status == 502 and response.body == b"Bad Gateway\nThe response ended before its body.\n"


def test_response_over_the_buffer_limit_gives_a_502_and_the_rest_is_dropped():
    response = serve(html(PAGE * 10), flt=UpperFilter.isapi_filter(max_buffer_size=100), splits=[200, 300])
    assert response.status == 502 and response.header("Content-Length") == str(len(response.body))
    assert response.raw.endswith(response.body)


def test_response_over_the_buffer_limit_passes_unfiltered_with_oversize_pass():
    raw = html(PAGE * 10)
    assert serve(raw, flt=UpperFilter.isapi_filter(max_buffer_size=100, oversize="pass"), splits=[200, 300]).raw == raw


def test_chunked_response_over_the_buffer_limit_passes_chunked_with_oversize_pass():
    raw = html(chunks=[PAGE] * 5, chunked=True)
    response = serve(raw, flt=UpperFilter.isapi_filter(max_buffer_size=100, oversize="pass"), splits=[90])
    assert response.chunked and response.body == PAGE * 5


def test_stream_failing_midway_closes_the_connection():
    response = serve(html(chunks=[b"<p>a</p>", b"<p>b</p>"], chunked=True), flt=BrokenStreaming, results_reach_iis=True)
    assert SF_STATUS_REQ_FINISHED in {note.result for note in response.notifications} and response.closed


def test_stream_failing_midway_is_never_complete_for_the_client_when_the_result_is_lost():
    """pyISAPI.cpp, HttpFilterProc: the SF_STATUS_REQ_FINISHED may never reach IIS; the client
    still cannot take the cut response for a whole one (no last chunk follows)."""
    response = serve(html(chunks=[b"<p>a</p>", b"<p>b</p>"], chunked=True), flt=BrokenStreaming)
    returned = {note.returned for note in response.notifications}
    assert SF_STATUS_REQ_FINISHED in returned and not response.closed
    assert response.raw.endswith(b"8\r\n<P>A</P>\r\n") and b"0\r\n\r\n" not in response.raw


def test_stream_failing_midway_sends_only_what_was_filtered_before():
    response = serve(html(chunks=[b"<p>a</p>", b"<p>b</p>"], chunked=True), flt=BrokenStreaming)
    assert response.raw.endswith(b"8\r\n<P>A</P>\r\n")


def test_client_gone_during_the_write_returns_req_error(monkeypatch):
    def gone(self, data, reserved=0):
        raise FilterError(10054, None, "WriteClient")

    monkeypatch.setattr(FakeFilterContext, "WriteClient", gone)
    notes = serve(html()).notifications
    assert [n.returned for n in notes if n.kind == SF_NOTIFY_SEND_RAW_DATA] == [SF_STATUS_REQ_ERROR]


def test_a_notification_that_fails_outside_any_response_lets_the_data_go_on(monkeypatch):
    def broken(self):
        raise FilterError(87, None, "GetData")

    monkeypatch.setattr(FakeFilterContext, "GetData", broken)
    response = serve(html(), splits=[20])
    assert response.raw == html() and {n.result for n in response.notifications} == {SF_STATUS_REQ_NEXT_NOTIFICATION}


def test_500_for_a_head_request_has_no_body():
    raw = raw_response("200 OK", [HTML_TYPE, ("Content-Length", "47")])
    response = serve(raw, method="HEAD", flt=BrokenDecision)
    assert response.status == 500 and response.raw.endswith(b"\r\n\r\n")


def test_conflicting_content_lengths_give_a_502():
    raw = raw_response("200 OK", [HTML_TYPE, ("Content-Length", "5"), ("Content-Length", "11")], [b"hello world"])
    response = serve(raw, splits=[40])
    assert response.status == 502 and response.body == b"Bad Gateway\nThe response's framing is invalid.\n"


def test_a_content_length_that_is_not_a_number_gives_a_502():
    raw = raw_response("200 OK", [HTML_TYPE, ("Content-Length", "+5")], [b"hello"])
    assert serve(raw).status == 502


def test_a_malformed_chunk_size_gives_a_502():
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    response = serve(raw, splits=[72])
    assert response.status == 502 and response.body == b"Bad Gateway\nThe response's body is malformed.\n"


def test_a_malformed_chunk_is_not_logged_as_a_failing_filter(caplog):
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        serve(raw)
    assert "ISAPI filter error" not in caplog.text


def test_bytes_after_a_filtered_response_are_dropped_not_sent_as_a_next_response():
    # RFC 9112 section 6.3: a client reusing the connection would read them as the answer
    # to its next request, unfiltered; also when IIS hands them over in a later notification.
    first, second = html(b"<p>ok</p>"), html(b"<p>secret</p>")
    for splits in ([], [len(first)], [len(first) + 5], [len(first) - 3, len(first) + 20]):
        response = serve(first + second, splits=splits)
        assert response.raw == filtered(first), splits
    page = html(b"<p>ok</p>")
    assert serve(page + b"<p>secret</p>", splits=[len(page)]).raw == filtered(page)


def test_a_body_the_site_writes_after_a_bodiless_head_is_dropped():
    for method, raw in [
        ("HEAD", html(b"<p>secret</p>")),
        ("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<p>secret</p>"),
        ("GET", b"HTTP/1.1 204 No Content\r\nContent-Type: text/html\r\n\r\n<p>secret</p>"),
    ]:
        head_end = raw.index(b"\r\n\r\n") + 4
        for splits in ([], [head_end]):  # in the notification of the head, or in one of their own
            assert b"secret" not in serve(raw, method=method, splits=splits).raw, (method, raw[:20], splits)


@pytest.mark.parametrize("strip", [True, False])
def test_requests_on_a_connection_without_end_of_request_between_them_each_get_their_response(strip):
    # PREPROC_HEADERS marks each new request: what the last left is over then.
    from dualfilter.isapi.constants import SF_NOTIFY_END_OF_REQUEST

    page = html(b"<p>ok</p>")
    png = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 3\r\n\r\nabc"
    with FilterHost(UpperFilter.isapi_filter(strip_request_headers=strip), raise_errors=False) as iis:
        iis.flags &= ~SF_NOTIFY_END_OF_REQUEST
        with iis.connection() as connection:
            answers = [connection.request("GET", f"/{n}", response=raw) for n, raw in enumerate([page, page, png, page])]
    assert [answer.raw for answer in answers] == [filtered(page), filtered(page), png, filtered(page)]


def test_an_interim_response_never_reaches_an_http10_client():
    # RFC 9110 section 15.2: no 1xx to an HTTP/1.0 client, which would take it for the answer.
    page = html(b"<p>ok</p>")
    raw = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" + page
    response = serve(raw, variables={"SERVER_PROTOCOL": "HTTP/1.0"})
    assert response.raw.startswith(b"HTTP/1.1 200 OK") and b"103" not in response.raw


@pytest.mark.parametrize("length", ["5, 11", "+5"])
def test_a_head_with_a_length_that_is_no_length_still_loses_the_unfiltered_validators(length):
    # Nothing follows a HEAD: its framing fields say nothing, and the ETag is the unfiltered body's.
    raw = f'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {length}\r\nETag: "v1"\r\n\r\n'.encode()
    response = serve(raw, method="HEAD")
    assert response.status == 200 and b"ETag" not in response.raw and b"Content-Length" not in response.raw
