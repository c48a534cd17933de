"""An extension that fails its request midway (HSE_STATUS_ERROR, returned or given to
DoneWithSession) never has what it wrote filtered into a complete-looking page (RFC 9112
section 8): while nothing went out, the clean 500 goes in its place; once a streamed page
started, it is cut short (no last chunk, and IIS closes the connection)."""

from __future__ import annotations

import threading

import pytest
from isapi_harness import HTML, header_string

from dualfilter.isapi import WSGIExtension
from dualfilter.isapi.constants import HSE_STATUS_ERROR, HSE_STATUS_PENDING
from dualfilter.isapi.testing import FakeECB, call_extension
from tests.support.filters import ClosingStream, ClosingStreams, Upper

CLEAN_500 = b"Internal Server Error\n"


class Returns:
    """Writes half its page, then returns HSE_STATUS_ERROR."""

    def HttpExtensionProc(self, ecb):
        ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML)]), False)
        ecb.WriteClient(b"<html><body><p>first half")
        return HSE_STATUS_ERROR


class EndsWithError:
    """Writes half its page on another thread, then DoneWithSession(HSE_STATUS_ERROR)."""

    def HttpExtensionProc(self, ecb):
        def work():
            ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML)]), False)
            ecb.WriteClient(b"<html><body><p>first half")
            ecb.DoneWithSession(HSE_STATUS_ERROR)

        threading.Thread(target=work).start()
        return HSE_STATUS_PENDING


def failing_wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", HTML)])
    yield b"<html><body><p>first half"
    raise RuntimeError("the database went away")


@pytest.mark.parametrize(
    "inner",
    [Returns, EndsWithError, lambda: WSGIExtension(failing_wsgi_app, workers=0)],
    ids=["returned", "done-with-session", "wsgi-app"],
)
def test_a_page_the_extension_failed_midway_is_the_clean_500_while_nothing_went_out(inner, caplog):
    response = call_extension(Upper.isapi(inner()), FakeECB(), raise_errors=False)
    assert (response.status, response.body, response.header("Content-Length")) == (500, CLEAN_500, "22")
    assert response.done_status == HSE_STATUS_ERROR
    assert "failed its request" in caplog.text


def test_a_streamed_page_the_extension_failed_midway_is_cut_short():
    # Its start went out with the first output, with no length (IIS frames nothing): the stream is
    # never finished, only let go of, and HSE_STATUS_ERROR has IIS close the connection, which cuts it.
    closed = ClosingStream.closed
    response = call_extension(ClosingStreams.isapi(Returns()), FakeECB(), raise_errors=False)
    assert response.status == 200 and response.header("Content-Length") is None
    assert response.body == b"<HTML><BODY><P>FIRST HALF" and response.done_status == HSE_STATUS_ERROR
    assert ClosingStream.closed == closed + 1
