"""An extension that frames its body in chunks itself, as ISAPI extensions stream (IIS sends what
they write as it is): a filtered body is read de-chunked (RFC 9112 section 7.1), a passed one as written."""

from __future__ import annotations

import pytest
from isapi_harness import HTML, header_string

from dualfilter import Filter
from dualfilter.isapi import ExtensionError
from dualfilter.isapi.constants import HSE_STATUS_SUCCESS
from dualfilter.isapi.testing import FakeECB, call_extension

PARTS = (b"<p>hello", b" world</p>")


def framed(parts=PARTS, trailers=b""):
    return [b"%x\r\n%s\r\n" % (len(part), part) for part in parts] + [b"0\r\n" + trailers + b"\r\n"]


class Chunking:
    """Sends ``writes`` after a chunked head, as its own framing."""

    def __init__(self, content_type=HTML, writes=None, extra=()):
        self.headers = [("Content-Type", content_type), ("Transfer-Encoding", "chunked"), *extra]
        self.writes = framed() if writes is None else writes
        self.errors = []

    def HttpExtensionProc(self, ecb):
        ecb.SendResponseHeaders("200 OK", header_string(self.headers), False)
        for data in self.writes:
            try:
                ecb.WriteClient(data)
            except ExtensionError as exc:
                self.errors.append(exc)
                break
        return HSE_STATUS_SUCCESS


class Upper(Filter):
    def filter(self, environ, headers, data):
        assert data == b"<p>hello world</p>"  # the page, not its framing
        return data.upper()


class UpperStream(Filter):
    def stream(self, environ, headers):
        return Stream()


class Stream:
    def feed(self, data):
        return data.upper()

    def finish(self):
        return b""


@pytest.mark.parametrize("split", [None, 1, 3])
def test_a_filtered_body_the_extension_chunks_itself_is_read_de_chunked(split):
    writes = framed()
    if split is not None:  # the framing cut anywhere between writes
        whole = b"".join(writes)
        writes = [whole[i : i + split] for i in range(0, len(whole), split)]
    response = call_extension(Upper.isapi(Chunking(writes=writes)), FakeECB())
    assert (response.status, response.body) == (200, b"<P>HELLO WORLD</P>")
    assert response.header("Content-Length") == "18" and response.header("Transfer-Encoding") is None


def test_a_streamed_filter_gets_each_de_chunked_part():
    response = call_extension(UpperStream.isapi(Chunking()), FakeECB())
    assert response.body == b"<P>HELLO WORLD</P>" and response.header("Transfer-Encoding") is None


def test_a_body_the_filter_leaves_alone_goes_out_with_the_extensions_own_framing():
    response = call_extension(Upper.isapi(Chunking(content_type="image/png")), FakeECB())
    assert response.body == b"".join(framed()) and response.header("Transfer-Encoding") == "chunked"


def test_the_last_chunks_trailers_go_with_the_framing_and_the_page_goes_out_whole():
    # IIS frames nothing an extension writes: a filtered page can carry no trailers, so it has a length.
    extension = Chunking(writes=framed(trailers=b"X-Sum: 42\r\n"), extra=[("Trailer", "X-Sum")])
    response = call_extension(Upper.isapi(extension), FakeECB())
    assert (response.body, response.header("Content-Length")) == (b"<P>HELLO WORLD</P>", "18")
    assert response.header("Trailer") is None


def test_malformed_framing_is_refused_to_the_extension():
    extension = Chunking(writes=[b"zz\r\nhello\r\n"])
    call_extension(Upper.isapi(extension), FakeECB(), raise_errors=False)
    assert [type(error) for error in extension.errors] == [ExtensionError]


def test_a_chunked_body_the_extension_never_ends_is_a_502_not_a_complete_page(caplog):
    # RFC 9112 section 8: an incomplete message may not pass for a complete one.
    extension = Chunking(writes=framed()[:-1])  # no last chunk
    response = call_extension(Upper.isapi(extension), FakeECB(), raise_errors=False)
    assert (response.status, response.body) == (502, b"Bad Gateway\nThe response ended before its body.\n")


def test_a_head_of_a_page_the_extension_chunks_itself_needs_no_body():
    response = call_extension(Upper.isapi(Chunking(writes=[])), FakeECB("HEAD", "/"))
    assert (response.status, response.body) == (200, b"")


PAGE = b"<p>secret page</p>"
#: Two ranges of PAGE as a multipart/byteranges body, split where a chunk boundary falls
#: inside the first part's header.
RANGES = (
    b"--b\r\nContent-Range: bytes 0-3/18\r\n",
    b"Content-Type: text/html\r\n\r\n<p>s\r\n"
    b"--b\r\nContent-Range: bytes 5-8/18\r\nContent-Type: text/html\r\n\r\ncret\r\n--b--\r\n",
)


class RangesInChunks:
    """The whole page, or a multipart 206 of it in its own chunked framing."""

    def HttpExtensionProc(self, ecb):
        if not ecb.GetServerVariable("HTTP_RANGE", ""):
            ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML), ("Content-Length", str(len(PAGE)))]), False)
            ecb.WriteClient(PAGE)
            return HSE_STATUS_SUCCESS
        head = [("Content-Type", "multipart/byteranges; boundary=b"), ("Transfer-Encoding", "chunked")]
        ecb.SendResponseHeaders("206 Partial Content", header_string(head), False)
        for data in framed(RANGES):
            ecb.WriteClient(data)
        return HSE_STATUS_SUCCESS


def test_a_multipart_206_in_the_extensions_own_chunks_is_asked_again_for_the_filtered_page():
    # Its parts' types cannot be read through the extension's framing: asked again at once,
    # as a coded one is, never passed on with the unfiltered page's ranges.
    response = call_extension(UpperStream.isapi(RangesInChunks()), FakeECB(headers=[("Range", "bytes=0-3,5-8")]))
    assert (response.status, response.body) == (200, PAGE.upper())
