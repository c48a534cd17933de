"""HTTP/1.x on the wire (dualfilter.http1): raw responses read from pieces split anywhere, and written."""

from __future__ import annotations

import pytest

from dualfilter import http1
from dualfilter.events import Body, End, ResponseStart
from dualfilter.http1 import BodyReader, HeadReader, LengthReader, RawResponseError, ResponseWriter, body_reader, parse_head

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\n"


def h11_reader(head: bytes = HEAD, method: str = "GET") -> BodyReader:
    return BodyReader(method, parse_head(head))


def length_reader(head: bytes = HEAD) -> LengthReader:
    reader = body_reader("GET", parse_head(head))
    assert isinstance(reader, LengthReader)
    return reader


def test_head_is_parsed_with_headers_as_sent():
    head, used = HeadReader().feed(HEAD + b"hello")
    assert (head.status, head.reason, head.headers, used) == (
        200,
        "OK",
        [("Content-Type", "text/html"), ("Content-Length", "5")],
        len(HEAD),
    )


def test_head_keeps_its_bytes():
    reader = HeadReader()
    reader.feed(HEAD[:9])
    assert reader.feed(HEAD[9:] + b"hello")[0].raw == HEAD


def test_incomplete_head_uses_all_the_bytes():
    assert HeadReader().feed(HEAD[:20]) == (None, 20)


def test_blank_line_split_across_pieces_ends_the_head():
    reader = HeadReader()
    reader.feed(HEAD[:-3])
    assert reader.feed(HEAD[-3:] + b"hel")[1] == 3


def test_status_line_without_a_reason():
    assert parse_head(b"HTTP/1.1 204\r\n\r\n").reason == ""


def test_folded_header_lines_are_joined():
    assert parse_head(b"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n\r\n").headers == [("X-A", "one two")]


def test_head_over_the_limit_raises():
    with pytest.raises(RawResponseError):
        HeadReader(max_head_size=64).feed(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 100)


def test_a_status_line_that_is_not_http_raises():
    with pytest.raises(RawResponseError):
        HeadReader().feed(b"ICY 200 OK\r\n\r\n")


def test_a_header_line_without_a_colon_raises():
    with pytest.raises(RawResponseError):
        parse_head(b"HTTP/1.1 200 OK\r\nnot a header\r\n\r\n")


def test_interim_head_comes_first():
    head, used = HeadReader().feed(b"HTTP/1.1 100 Continue\r\n\r\n" + HEAD)
    assert head.informational and used == 25


def test_body_by_content_length():
    reader = h11_reader()
    assert reader.feed(b"hel") + reader.feed(b"lo") == [Body(b"hel"), Body(b"lo"), End([])]


def test_bytes_past_the_content_length_are_leftover():
    reader = h11_reader()
    reader.feed(b"helloEXTRA")
    assert reader.leftover == b"EXTRA"


def test_chunked_body_is_de_chunked_with_its_trailers():
    reader = h11_reader(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    assert reader.feed(b"3;ext=1\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n") == [Body(b"abc"), End([("X-Sum", "1")])]


def test_response_to_head_has_no_body():
    assert h11_reader(method="HEAD").feed(b"") == [End([])]


def test_body_read_to_the_end_of_the_request():
    reader = h11_reader(b"HTTP/1.0 200 OK\r\n\r\n")
    assert reader.feed(b"abc") + reader.finish() == [Body(b"abc"), End([])]


def test_body_cut_short_raises_at_the_end_of_the_request():
    reader = h11_reader()
    reader.feed(b"he")
    with pytest.raises(RawResponseError):
        reader.finish()


def test_framing_h11_refuses_raises():
    with pytest.raises(RawResponseError):
        h11_reader(b"HTTP/1.1 200 OK\r\nContent-Length: five\r\n\r\n")


def test_bad_chunk_size_raises():
    reader = h11_reader(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
    with pytest.raises(RawResponseError):
        reader.feed(b"zz\r\nabc\r\n")


def test_plain_content_length_body_is_counted_off():
    reader = length_reader()
    assert reader.feed(b"hel") + reader.feed(b"loEXTRA") == [Body(b"hel"), Body(b"lo"), End([])]


def test_counted_off_pieces_are_handed_on_without_a_copy():
    piece = b"hell"
    assert length_reader().feed(piece)[0].data is piece


def test_bytes_past_a_counted_off_body_are_leftover():
    reader = length_reader()
    reader.feed(b"helloEXTRA")
    assert reader.leftover == b"EXTRA"


def test_counted_off_body_cut_short_raises_at_the_end_of_the_request():
    reader = length_reader()
    reader.feed(b"he")
    with pytest.raises(RawResponseError):
        reader.finish()


def test_chunked_body_goes_to_h11():
    assert isinstance(body_reader("GET", parse_head(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")), BodyReader)


def test_conflicting_content_lengths_are_invalid_framing():
    with pytest.raises(http1.FramingError):
        body_reader("GET", parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"))


def test_a_signed_content_length_is_invalid_framing():
    with pytest.raises(http1.FramingError):
        body_reader("GET", parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n"))


def test_a_list_of_equal_content_lengths_is_one_length():
    assert http1.content_length([("Content-Length", "10, 10"), ("content-length", "10")]) == 10


def test_no_content_length_states_no_length():
    assert http1.content_length([("Content-Type", "text/html")]) is None


def test_content_lengths_that_differ_raise():
    with pytest.raises(ValueError):
        http1.content_length([("Content-Length", "10, 11")])


def test_a_content_length_that_is_not_a_number_raises():
    with pytest.raises(ValueError):
        http1.content_length([("Content-Length", "+5")])


@pytest.mark.parametrize(("version", "connection"), [("1.1", []), ("1.1", ["keep-alive"]), ("1.0", ["Keep-Alive"])])
def test_a_connection_persists_in_http_1_1_and_in_http_1_0_with_keep_alive(version, connection):
    assert http1.persists(version, connection)


@pytest.mark.parametrize(("version", "connection"), [("1.0", []), ("1.1", ["foo, close"]), ("1.0", ["keep-alive, Close"])])
def test_a_connection_ends_in_http_1_0_without_keep_alive_or_with_close(version, connection):
    assert not http1.persists(version, connection)


@pytest.mark.parametrize(
    "headers", [[("Content-Length", "5")], [("Content-Length", "5, 5")], [("Transfer-Encoding", "gzip, chunked")]]
)
def test_a_response_with_a_length_or_chunks_is_delimited(headers):
    assert http1.delimited(200, headers)


@pytest.mark.parametrize(
    "headers",
    [[], [("Content-Length", "5, 6")], [("Transfer-Encoding", "chunked, gzip")], [("Content-Type", "text/html")]],
)
def test_a_response_without_one_length_or_last_chunks_ends_only_with_the_connection(headers):
    assert not http1.delimited(200, headers)


@pytest.mark.parametrize(("status", "head"), [(204, False), (304, False), (103, False), (200, True)])
def test_a_response_without_a_body_is_delimited_by_its_head(status, head):
    assert http1.delimited(status, [], head=head)


def test_writer_keeps_a_content_length_body_as_it_is():
    writer = ResponseWriter()
    out = writer.encode([ResponseStart(200, [("Content-Length", "2")], "OK"), Body(b"hi"), End()])
    assert b"".join(out) == b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"


def test_writer_chunks_a_body_without_length_for_http_1_1():
    out = ResponseWriter("1.1").encode([ResponseStart(200, [], "OK"), Body(b"hi"), End()])
    assert b"".join(out) == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"


def test_writer_holds_a_body_without_length_for_http_1_0():
    writer = ResponseWriter("1.0")
    assert writer.encode([ResponseStart(200, [], "OK"), Body(b"hi")]) == [] and not writer.started
    assert b"".join(writer.encode([End()])) == b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi"


def test_writer_puts_back_the_connection_headers():
    writer = ResponseWriter(connection=[("Connection", "close")])
    out = writer.encode([ResponseStart(200, [("Content-Length", "0")], "OK"), End()])
    assert b"".join(out) == b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def test_writer_sends_no_body_for_a_head_request():
    out = ResponseWriter(bodiless=True).encode([ResponseStart(200, [], "OK"), Body(b"hi"), End()])
    assert b"".join(out) == b"HTTP/1.1 200 OK\r\n\r\n"
