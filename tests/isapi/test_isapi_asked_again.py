"""An extension asked again (its 206 or 304 may stand for a filtered page): the real session ends
once, however the extension ends its own; an error in the second call ends it too; and the second
call is shown the request without the content the first one read."""

from __future__ import annotations

import threading

from isapi_harness import HTML, UpperFilter, header_string

from dualfilter.isapi.constants import HSE_STATUS_ERROR, HSE_STATUS_PENDING, HSE_STATUS_SUCCESS
from dualfilter.isapi.testing import FakeECB, call_extension

PAGE = b"<p>hello</p>"


def answer(ecb):
    """A 304 to a matching If-None-Match (it may stand for the filtered page), else the page."""
    if ecb.GetServerVariable("HTTP_IF_NONE_MATCH", None) == b'"v1"':
        ecb.SendResponseHeaders("304 Not Modified", header_string([("ETag", '"v1"')]), False)
    else:
        ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML), ("Content-Length", str(len(PAGE)))]), False)
        ecb.WriteClient(PAGE)


def test_an_extension_that_closes_its_session_before_returning_is_asked_twice_and_the_session_ends_once():
    # pywin32's samples/advanced.py: ecb.close(), then return HSE_STATUS_SUCCESS.
    calls = []

    class ClosesItself:
        def HttpExtensionProc(self, ecb):
            calls.append(ecb)
            answer(ecb)
            ecb.close()
            return HSE_STATUS_SUCCESS

    response = call_extension(UpperFilter.isapi(ClosesItself()), FakeECB(headers=[("If-None-Match", '"v1"')]))
    assert (len(calls), response.status, response.body) == (2, 200, PAGE.upper())
    assert response.done_status == HSE_STATUS_SUCCESS  # the double refuses a second DoneWithSession


def test_a_pending_request_whose_second_call_raises_ends_with_an_error():
    class FailsWhenAskedAgain:
        calls = 0

        def HttpExtensionProc(self, ecb):
            FailsWhenAskedAgain.calls += 1
            if FailsWhenAskedAgain.calls == 2:
                raise RuntimeError("second call failed")

            def later():
                answer(ecb)
                ecb.DoneWithSession()

            threading.Thread(target=later).start()
            return HSE_STATUS_PENDING

    response = call_extension(UpperFilter.isapi(FailsWhenAskedAgain()), FakeECB(headers=[("If-None-Match", '"v1"')]))
    assert response.done_status == HSE_STATUS_ERROR


def test_the_second_call_is_shown_no_request_content():
    # As WSGI's second call gets CONTENT_LENGTH 0 and an empty wsgi.input: the first call read it.
    seen = []

    class ReadsItsBody:
        def HttpExtensionProc(self, ecb):
            seen.append((ecb.TotalBytes, ecb.AvailableData, ecb.ReadClient(10), ecb.GetServerVariable("CONTENT_LENGTH", None)))
            answer(ecb)
            return HSE_STATUS_SUCCESS

    body = b"x" * 100_000
    response = call_extension(
        UpperFilter.isapi(ReadsItsBody()), FakeECB(headers=[("If-None-Match", '"v1"')], body=body, available=1000)
    )
    assert response.status == 200
    assert seen[0][0] == len(body) and seen[1] == (0, b"", b"", b"0")


def test_a_second_call_that_ends_its_session_then_raises_ends_the_real_one_once():
    class ClosesThenFails:
        calls = 0

        def HttpExtensionProc(self, ecb):
            ClosesThenFails.calls += 1
            answer(ecb)
            if ClosesThenFails.calls == 1:

                def later():
                    ecb.DoneWithSession()

                threading.Thread(target=later).start()
                return HSE_STATUS_PENDING
            ecb.close()
            raise RuntimeError("failed after closing")

    response = call_extension(UpperFilter.isapi(ClosesThenFails()), FakeECB(headers=[("If-None-Match", '"v1"')]))
    assert (ClosesThenFails.calls, response.status, response.body) == (2, 200, PAGE.upper())
    assert response.done_status == HSE_STATUS_SUCCESS  # the double refuses a second DoneWithSession
