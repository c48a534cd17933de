"""An extension that frames its body in chunks itself (IIS sends what it writes as it is),
read de-chunked for the filter: whenever its own start goes out unfiltered — too large to
filter (``oversize='pass'``, its coded body too), nothing for a format to parse — the body
goes out framed in chunks again, its last chunk included, so a kept connection reads the
response whole. A 304 sent with ``TransmitFile`` keeps the connection as the extension asked."""

from __future__ import annotations

import gzip
import os

import pytest

from dualfilter import Filter
from dualfilter.http1 import BodyReader, dechunker
from dualfilter.isapi.constants import (
    HSE_IO_ASYNC,
    HSE_IO_SEND_HEADERS,
    HSE_STATUS_PENDING,
    HSE_STATUS_SUCCESS_AND_KEEP_CONN,
)
from dualfilter.isapi.testing import FakeECB, call_extension
from tests.support.filters import Upper

LAST = b"0\r\n\r\n"


class Json(Filter):
    format = "json"

    def filter(self, environ, headers, data):
        return data


class OwnChunks:
    """Frames its body in chunks, the last one in the same write, and asks to keep the connection."""

    def __init__(self, content_type, body, extra=()):
        self.content_type, self.body, self.extra = content_type, body, list(extra)

    def HttpExtensionProc(self, ecb):
        lines = f"Content-Type: {self.content_type}\r\n" + "".join(f"{name}: {value}\r\n" for name, value in self.extra)
        ecb.SendResponseHeaders("200 OK", lines + "Transfer-Encoding: chunked\r\n\r\n", True)
        body = self.body
        ecb.WriteClient((b"%x\r\n%s\r\n" % (len(body), body) if body else b"") + LAST)
        return HSE_STATUS_SUCCESS_AND_KEEP_CONN


def dechunked(response):
    reader = dechunker(200, [("Transfer-Encoding", "chunked")])
    assert isinstance(reader, BodyReader)
    events = reader.feed(response.body)
    assert reader.complete, "the last chunk is missing"
    assert not reader.leftover, "bytes after the last chunk: a kept connection reads them as the next response"
    return b"".join(event.data for event in events if hasattr(event, "data"))


PAGE = b"<p>" + b"x" * 200 + b"</p>"
COMPRESSED = gzip.compress(b"<p>" + b"a" * 5000 + b"</p>")


@pytest.mark.parametrize(
    ("wrapped", "sent"),
    [
        (lambda: Upper.isapi(OwnChunks("text/html", PAGE), oversize="pass", max_buffer_size=64), PAGE),
        (
            lambda: Upper.isapi(
                OwnChunks("text/html", COMPRESSED, [("Content-Encoding", "gzip")]), oversize="pass", max_buffer_size=1000
            ),
            COMPRESSED,
        ),
        (lambda: Json.isapi(OwnChunks("application/json", b"")), b""),
        (lambda: Json.isapi(OwnChunks("application/json", b"  \n")), b"  \n"),
    ],
    ids=["oversize-pass", "coded-oversize-pass", "empty-json", "white-space-json"],
)
def test_the_extensions_own_start_goes_out_with_its_body_in_chunks(wrapped, sent):
    response = call_extension(wrapped(), FakeECB("GET", "/"))
    assert response.header("Transfer-Encoding") == "chunked" and response.keep_alive
    assert response.body.endswith(LAST) and dechunked(response) == sent


def test_a_304_sent_with_transmit_file_keeps_the_connection_as_asked(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("file")

    class Sends:
        def HttpExtensionProc(self, ecb):
            fd = os.open(path, os.O_RDONLY)

            def done(ecb, param, cb_io, error):
                os.close(param)
                ecb.DoneWithSession(HSE_STATUS_SUCCESS_AND_KEEP_CONN)

            flags = HSE_IO_ASYNC | HSE_IO_SEND_HEADERS
            ecb.TransmitFile(done, fd, fd, "304 Not Modified", 0, 0, "Content-Type: text/plain\r\n\r\n", None, flags)
            return HSE_STATUS_PENDING

    response = call_extension(Upper.isapi(Sends()), FakeECB("GET", "/", headers=[("If-None-Match", '"x"')]))
    assert (response.status, response.keep_alive) == (304, True)


class OwnPieces:
    """Frames its body in several chunks, one write each, then the last chunk with a trailer field."""

    def HttpExtensionProc(self, ecb):
        ecb.SendResponseHeaders("200 OK", "Content-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n", True)
        for piece in (PAGE[:10], PAGE[10:100], PAGE[100:]):
            ecb.WriteClient(b"%x\r\n%s\r\n" % (len(piece), piece))
        ecb.WriteClient(b"0\r\nX-Sum: 1\r\n\r\n")
        return HSE_STATUS_SUCCESS_AND_KEEP_CONN


def test_a_body_of_several_chunks_passed_on_oversize_ends_with_its_own_last_chunk_once():
    response = call_extension(Upper.isapi(OwnPieces(), oversize="pass", max_buffer_size=64), FakeECB("GET", "/"))
    assert response.keep_alive and response.body.endswith(b"0\r\nX-Sum: 1\r\n\r\n")
    assert dechunked(response) == PAGE
