"""A streaming filter's response goes out as it is filtered, framed for the client's HTTP version."""

from __future__ import annotations

import pytest
from filter_harness import HTML_TYPE, html, serve

from dualfilter import Filter
from dualfilter.isapi.testing import FilterHost, raw_response
from tests.support.filters import ClosingStream, ClosingStreams, Upper


class UpperStream:
    def feed(self, data):
        return data.upper()

    def finish(self):
        return b"<!-- end -->"


class Shouting(Filter):
    def stream(self, environ, headers):
        return UpperStream()


CHUNKS = [b"<p>one</p>", b"<p>two</p>"]


def test_streamed_response_is_chunked_for_http_1_1():
    response = serve(html(chunks=CHUNKS, chunked=True), flt=Shouting)
    assert response.chunked and response.body == b"<P>ONE</P><P>TWO</P><!-- end -->"


def test_streamed_response_has_no_content_length():
    assert serve(html(chunks=CHUNKS), flt=Shouting).header("Content-Length") is None


def test_streamed_output_goes_out_with_each_piece():
    raw = html(chunks=CHUNKS, chunked=True)
    response = serve(raw, flt=Shouting, splits=[raw.index(b"a\r\n<p>two")])
    writes = [n.offered for n in response.notifications if n.nested]
    assert writes[0].endswith(b"a\r\n<P>ONE</P>\r\n") and len(writes) == 2


def test_streamed_http_1_0_response_goes_out_as_it_comes_and_ends_with_the_close():
    raw = raw_response("200 OK", [HTML_TYPE], CHUNKS, http_version="1.0")
    response = serve(raw, flt=Shouting, splits=[30])
    assert response.raw == raw_response(
        "200 OK", [HTML_TYPE, ("Connection", "close")], [b"<P>ONE</P><P>TWO</P><!-- end -->"], http_version="1.0"
    )


# IIS answers an HTTP/1.0 request with an HTTP/1.1 status line: only SERVER_PROTOCOL says what the client reads.
HTTP_1_0_CLIENT = {"SERVER_PROTOCOL": "HTTP/1.0"}


def streamed_to_http_1_0_client(raw: bytes = html(chunks=CHUNKS), **options):
    """``raw`` through Shouting to an HTTP/1.0 client, its body arriving in two pieces."""
    return serve(raw, flt=Shouting, splits=[raw.index(b"<p>two")], variables=HTTP_1_0_CLIENT, **options)


def test_streamed_response_to_an_http_1_0_client_is_not_chunked():
    assert b"transfer-encoding" not in streamed_to_http_1_0_client().raw.lower()


def test_streamed_response_to_an_http_1_0_client_goes_out_as_it_comes_and_ends_with_the_close():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n"
    assert streamed_to_http_1_0_client().raw == head + b"<P>ONE</P><P>TWO</P><!-- end -->"


def test_streamed_response_to_an_http_1_0_client_asks_iis_to_close_the_connection():
    assert streamed_to_http_1_0_client(results_reach_iis=True).closed


def test_streamed_response_to_an_http_1_0_client_drops_its_keep_alive():
    raw = raw_response("200 OK", [HTML_TYPE, ("Connection", "keep-alive"), ("Keep-Alive", "timeout=5")], CHUNKS, chunked=True)
    response = streamed_to_http_1_0_client(raw)
    assert response.header("Connection") == "close" and response.header("Keep-Alive") is None


def test_streamed_response_to_an_http_1_0_client_whole_in_one_piece_gets_a_content_length():
    response = serve(html(chunks=CHUNKS), flt=Shouting, variables=HTTP_1_0_CLIENT)
    assert response.header("Content-Length") == "32" and response.body == b"<P>ONE</P><P>TWO</P><!-- end -->"


def test_connection_header_survives_a_rewritten_head():
    raw = raw_response("200 OK", [HTML_TYPE, ("Connection", "close")], CHUNKS, chunked=True)
    assert serve(raw, flt=Shouting).header("Connection") == "close"


def test_streamed_response_to_an_http_1_0_client_keeping_its_connection_is_held_for_a_content_length():
    response = streamed_to_http_1_0_client(headers=[("Connection", "keep-alive")])
    assert response.header("Content-Length") == "32" and response.body == b"<P>ONE</P><P>TWO</P><!-- end -->"


@pytest.mark.parametrize("flt", [Shouting, Upper], ids=["streamed", "passed-on-oversize"])
def test_a_body_held_for_a_keep_alive_http_1_0_client_past_max_buffer_size_goes_on_ended_by_the_close(flt):
    # What is held for a Content-Length is bounded as a filtered body is: past max_buffer_size
    # it goes out as it comes, and the close ends it (the client's keep-alive is lost).
    pieces = [b"<p>%04d</p>" % i for i in range(400)]  # 4400 bytes, past the limit of 1000
    raw = html(chunks=pieces, chunked=True)
    splits = list(range(200, len(raw), 500))
    response = serve(
        raw, flt=flt.isapi_filter(max_buffer_size=1000, oversize="pass"), splits=splits,
        variables=HTTP_1_0_CLIENT, headers=[("Connection", "keep-alive")], results_reach_iis=True,
    )  # fmt: skip
    body = b"".join(pieces)
    assert response.body == (body.upper() + b"<!-- end -->" if flt is Shouting else body)
    assert response.header("Connection") == "close" and response.header("Content-Length") is None and response.closed
    writes = [n.offered for n in response.notifications if n.nested]
    assert len(writes) > 2 and max(map(len, writes)) < 2000  # never the whole body at once


def test_a_stream_cut_short_or_left_by_a_closed_connection_is_told_so():
    # Stream.close(): a response dropped before its end lets go of what its stream holds.
    from dualfilter.isapi.constants import SF_NOTIFY_PREPROC_HEADERS
    from dualfilter.isapi.testing.filter_host import SiteRequest
    from dualfilter.isapi.testing.request import Request

    ClosingStream.closed = 0
    cut = raw_response("200 OK", [HTML_TYPE, ("Content-Length", "100")], [b"<p>one</p>"])
    serve(cut, flt=ClosingStreams)
    assert ClosingStream.closed == 1
    raw = html(chunks=[b"<p>one</p>", b"<p>two</p>"], chunked=True)
    with FilterHost(ClosingStreams.isapi_filter()) as iis:
        connection = iis.connection()
        connection._request = SiteRequest(Request("GET", "/p"))
        connection._notify(SF_NOTIFY_PREPROC_HEADERS)
        connection._send(raw[: raw.index(b"<p>two")], nested=False)
        connection.close()  # END_OF_NET_SESSION, no END_OF_REQUEST
    assert ClosingStream.closed == 2
