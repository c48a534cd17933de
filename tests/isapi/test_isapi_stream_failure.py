"""A streaming filter that fails after the response started: the request ends with HSE_STATUS_ERROR
(IIS closes the connection, so the client sees the response cut), and the extension gets no ProtocolError."""

from __future__ import annotations

import threading

from isapi_harness import HTML, PoolExtension, header_string

from dualfilter import Filter
from dualfilter.errors import StreamError
from dualfilter.isapi import ExtensionError
from dualfilter.isapi.constants import HSE_STATUS_ERROR, HSE_STATUS_PENDING, HSE_STATUS_SUCCESS
from dualfilter.isapi.testing import ExtensionHost, FakeECB, call_extension

FINE, BOOM = b"<p>fine</p>", b"<p>boom</p>"


class UpperStream:
    """Upper-cases each chunk; fails on one that says boom, or at the end when told to."""

    def __init__(self, fail_at_the_end: bool) -> None:
        self.fail_at_the_end = fail_at_the_end

    def feed(self, data):
        if b"boom" in data:
            raise ValueError("boom")
        return data.upper()

    def finish(self):
        if self.fail_at_the_end:
            raise ValueError("boom at the end")
        return b""


class FailsMidway(Filter):
    def stream(self, environ, headers):
        return UpperStream(fail_at_the_end=False)


class FailsAtTheEnd(Filter):
    def stream(self, environ, headers):
        return UpperStream(fail_at_the_end=True)


def start(ecb):
    ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML)]), False)
    ecb.WriteClient(FINE)


class WritesUntilRefused:
    """Answers inside HttpExtensionProc, stops at the first write refused, returns success."""

    def __init__(self):
        self.errors = []

    def HttpExtensionProc(self, ecb):
        start(ecb)
        for chunk in (BOOM, b"<p>more</p>"):
            try:
                ecb.WriteClient(chunk)
            except Exception as exc:
                self.errors.append(exc)
        return HSE_STATUS_SUCCESS


class EndsLater:
    """Returns HSE_STATUS_PENDING; a thread answers, then calls DoneWithSession and records what it raised."""

    def __init__(self, chunks=(BOOM,)):
        self.chunks = chunks
        self.errors = []
        self.done = threading.Event()

    def HttpExtensionProc(self, ecb):
        def work():
            try:
                start(ecb)
                for chunk in self.chunks:
                    ecb.WriteClient(chunk)
            except StreamError:
                pass
            try:
                ecb.DoneWithSession()
            except BaseException as exc:
                self.errors.append(exc)
            self.done.set()

        threading.Thread(target=work).start()
        return HSE_STATUS_PENDING


def test_pending_request_cut_by_a_failing_stream_ends_with_an_error():
    def dispatch(ecb):
        start(ecb)
        ecb.WriteClient(BOOM)

    with ExtensionHost(FailsMidway.isapi(PoolExtension(dispatch))) as host:
        response = host.get()
    assert response.done_status == HSE_STATUS_ERROR and response.body == FINE.upper()


def test_done_with_session_after_a_failing_stream_does_not_raise():
    inner = EndsLater()
    call_extension(FailsMidway.isapi(inner), FakeECB())
    assert inner.done.wait(5) and inner.errors == []


def test_stream_failing_at_the_end_ends_the_pending_request_with_an_error():
    inner = EndsLater(chunks=())
    response = call_extension(FailsAtTheEnd.isapi(inner), FakeECB())
    assert response.done_status == HSE_STATUS_ERROR


def test_synchronous_request_cut_by_a_failing_stream_ends_with_an_error():
    response = call_extension(FailsMidway.isapi(WritesUntilRefused()), FakeECB(), raise_errors=False)
    assert response.done_status == HSE_STATUS_ERROR and response.error is None


def test_synchronous_request_cut_by_a_failing_stream_gets_nothing_after_the_cut():
    response = call_extension(FailsMidway.isapi(WritesUntilRefused()), FakeECB(), raise_errors=False)
    assert response.body == FINE.upper() and b"Python ISAPI Error" not in response.body


def test_write_after_a_failing_stream_raises_extension_error():
    inner = WritesUntilRefused()
    call_extension(FailsMidway.isapi(inner), FakeECB(), raise_errors=False)
    assert [type(error) for error in inner.errors] == [StreamError, ExtensionError]


class LetsErrorsOut:
    """An ordinary synchronous extension: it catches nothing its WriteClient raises."""

    def HttpExtensionProc(self, ecb):
        start(ecb)
        ecb.WriteClient(BOOM)
        ecb.WriteClient(b"<p>more</p>")
        return HSE_STATUS_SUCCESS


def test_an_extension_letting_the_failed_writes_error_out_gets_its_response_cut_without_an_error_page():
    # pywin32 writes its own error page after the body for an exception out of HttpExtensionProc.
    response = call_extension(FailsMidway.isapi(LetsErrorsOut()), FakeECB(), raise_errors=False)
    assert (response.done_status, response.error) == (HSE_STATUS_ERROR, None)
    assert response.body == FINE.upper()


def test_a_wsgi_extension_cut_by_a_failing_stream_logs_the_failure_once(caplog):
    import logging

    from dualfilter.isapi import WSGIExtension

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        return [FINE, BOOM, b"<p>more</p>"]

    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        response = call_extension(WSGIExtension(FailsMidway(app)), FakeECB(), raise_errors=False)
    assert (response.done_status, response.body) == (HSE_STATUS_ERROR, FINE.upper())
    assert [record.getMessage() for record in caplog.records] == [
        "FailsMidway failed while streaming GET /; the response is cut short"
    ]
