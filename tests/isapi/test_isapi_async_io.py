"""Asynchronous WriteClient (HSE_IO_ASYNC) from a filtered extension: the proxy completes it."""

from __future__ import annotations

import threading

from isapi_harness import HTML, UpperFilter, header_string

from dualfilter.isapi.constants import HSE_IO_ASYNC, HSE_STATUS_ERROR, HSE_STATUS_PENDING
from dualfilter.isapi.testing import ExtensionHost, FakeECB, call_extension


class ChunkedAsync:
    """pywin32's redirector_asynch pattern: each completion writes the next chunk, the last ends the session."""

    def __init__(self, chunks, content_type=HTML):
        self.chunks = chunks
        self.content_type = content_type
        self.completions = []

    def GetExtensionVersion(self, vi):
        pass

    def TerminateExtension(self, status):
        pass

    def HttpExtensionProc(self, ecb):
        ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", self.content_type)]), False)
        ecb.IOCompletion(self.io_callback, iter(self.chunks[1:]))
        ecb.WriteClient(self.chunks[0], HSE_IO_ASYNC)
        return HSE_STATUS_PENDING

    def io_callback(self, ecb, rest, count, error):
        self.completions.append((ecb, count, error, threading.current_thread()))
        chunk = next(rest, None)
        if chunk is None:
            ecb.DoneWithSession()
        else:
            ecb.WriteClient(chunk, HSE_IO_ASYNC)


def test_async_writes_of_a_filtered_response_are_completed_and_filtered():
    inner = ChunkedAsync([b"<p>one", b" two", b" three</p>"])
    with ExtensionHost(UpperFilter.isapi(inner)) as host:
        assert host.get().body == b"<P>ONE TWO THREE</P>"


def test_completion_callback_gets_the_proxy_the_count_and_no_error():
    inner = ChunkedAsync([b"<p>one", b"22</p>"])
    ecb = FakeECB()
    call_extension(UpperFilter.isapi(inner), ecb)
    (first_ecb, first_count, first_error, _), (_, second_count, _, _) = inner.completions
    assert (first_count, first_error, second_count) == (6, 0, 6)
    assert first_ecb is not ecb and hasattr(first_ecb, "WriteClient")


def test_completion_callback_runs_on_another_thread():
    inner = ChunkedAsync([b"<p>x</p>"])
    call_extension(UpperFilter.isapi(inner), FakeECB())
    assert inner.completions[0][3] is not threading.current_thread()


def test_async_writes_of_a_passthrough_response_stream_through():
    inner = ChunkedAsync([b"a", b"b", b"c"], content_type="application/octet-stream")
    response = call_extension(UpperFilter.isapi(inner), FakeECB())
    assert response.writes == [b"a", b"b", b"c"]


def test_many_chunks_do_not_recurse():
    chunks = [b"<p>"] + [b"x"] * 3000 + [b"</p>"]
    response = call_extension(UpperFilter.isapi(ChunkedAsync(chunks)), FakeECB(), timeout=20)
    assert response.body == b"<P>" + b"X" * 3000 + b"</P>"


def test_failing_completion_callback_ends_the_request_with_error_and_no_filtered_body():
    class Fails(ChunkedAsync):
        def io_callback(self, ecb, rest, count, error):
            raise ValueError("callback bug")

    response = call_extension(UpperFilter.isapi(Fails([b"<p>x</p>"])), FakeECB())
    assert response.done_status == HSE_STATUS_ERROR and response.body == b""


def test_async_write_without_io_completion_ends_the_request_with_error():
    class NoCallback:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML)]), False)
            ecb.WriteClient(b"<p>x</p>", HSE_IO_ASYNC)
            return HSE_STATUS_PENDING

    assert call_extension(UpperFilter.isapi(NoCallback()), FakeECB()).done_status == HSE_STATUS_ERROR


def test_unfiltered_extension_behaves_the_same_on_the_double():
    inner = ChunkedAsync([b"<p>one", b" two</p>"])
    assert call_extension(inner, FakeECB()).body == b"<p>one two</p>"
