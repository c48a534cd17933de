"""A filtered extension's connection is kept only when the client can tell where the response
ends (RFC 9112 section 6.3): a streamed response that lost its Content-Length ends with it."""

from __future__ import annotations

import threading

from isapi_harness import HTML, send

from dualfilter import Filter
from dualfilter.isapi.constants import HSE_STATUS_PENDING, HSE_STATUS_SUCCESS, HSE_STATUS_SUCCESS_AND_KEEP_CONN
from dualfilter.isapi.testing import FakeECB, call_extension

PAGE = b"<p>hello</p>"


class StreamingUpper(Filter):
    """Upper-cases the body as it comes: the filtered length is not known when the start goes out."""

    def stream(self, environ, headers):
        class Upper:
            def feed(self, data):
                return data.upper()

            def finish(self):
                return b""

        return Upper()


def keep_alive_page(ecb):
    """What pywin32 asks of a keep-alive extension: a true Content-Length and keepAlive."""
    send(ecb, "200 OK", [("Content-Type", HTML), ("Content-Length", str(len(PAGE)))], [PAGE], keep_alive=True)


class KeepAliveExtension:
    def HttpExtensionProc(self, ecb):
        keep_alive_page(ecb)
        return HSE_STATUS_SUCCESS_AND_KEEP_CONN


def test_streamed_response_without_a_length_goes_out_without_keep_alive():
    response = call_extension(StreamingUpper.isapi(KeepAliveExtension()), FakeECB())
    assert response.header("Content-Length") is None and response.keep_alive is False


def test_keep_conn_returned_for_a_streamed_response_without_a_length_becomes_success():
    assert StreamingUpper.isapi(KeepAliveExtension()).HttpExtensionProc(FakeECB()) == HSE_STATUS_SUCCESS


def test_keep_conn_given_to_done_with_session_for_a_streamed_response_without_a_length_becomes_success():
    class PendingKeepAlive:
        def HttpExtensionProc(self, ecb):
            def finish():
                keep_alive_page(ecb)
                ecb.DoneWithSession(HSE_STATUS_SUCCESS_AND_KEEP_CONN)

            threading.Thread(target=finish).start()
            return HSE_STATUS_PENDING

    assert call_extension(StreamingUpper.isapi(PendingKeepAlive()), FakeECB()).done_status == HSE_STATUS_SUCCESS


class BufferedUpper(Filter):
    def filter(self, environ, headers, data):
        return data.upper()


def test_keep_conn_of_a_synchronous_answer_after_a_pending_one_was_asked_again_reaches_done_with_session():
    # A pending 304 for what may be a filtered page is dropped and the extension asked again;
    # its synchronous HSE_STATUS_SUCCESS_AND_KEEP_CONN answer keeps the connection, as IIS is told.
    class ConditionalLater:
        def HttpExtensionProc(self, ecb):
            if ecb.GetServerVariable("HTTP_IF_NONE_MATCH", None):

                def later():
                    ecb.SendResponseHeaders("304 Not Modified", 'ETag: "v1"\r\n\r\n', True)
                    ecb.DoneWithSession(HSE_STATUS_SUCCESS_AND_KEEP_CONN)

                threading.Thread(target=later).start()
                return HSE_STATUS_PENDING
            keep_alive_page(ecb)
            return HSE_STATUS_SUCCESS_AND_KEEP_CONN

    response = call_extension(BufferedUpper.isapi(ConditionalLater()), FakeECB(headers=[("If-None-Match", '"v1"')]))
    assert (response.status, response.body, response.keep_alive) == (200, PAGE.upper(), True)
    assert response.done_status == HSE_STATUS_SUCCESS_AND_KEEP_CONN
