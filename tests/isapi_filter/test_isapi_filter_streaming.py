"""A streaming filter's response goes out as it is filtered, framed for the client's HTTP version."""

from __future__ import annotations

from filter_harness import HTML_TYPE, html, serve

from dualfilter import Filter
from dualfilter.isapi.testing import raw_response


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


def test_streamed_response_to_http_1_0_gets_a_content_length():
    raw = raw_response("200 OK", [HTML_TYPE], CHUNKS, http_version="1.0")
    response = serve(raw, flt=Shouting, splits=[30])
    assert response.raw == raw_response(
        "200 OK", [HTML_TYPE, ("Content-Length", "32")], [b"<P>ONE</P><P>TWO</P><!-- end -->"], http_version="1.0"
    )


def test_connection_header_survives_a_rewritten_head():
    raw = raw_response("200 OK", [HTML_TYPE, ("Connection", "close")], CHUNKS, chunked=True)
    assert serve(raw, flt=Shouting).header("Connection") == "close"
