"""What an extension's own framing says of its body, under a filter, and a response whose
sending fails at the end.

IIS sends what an extension writes as it is, so the extension's Content-Length (or its own
chunks) is where its page ends: a page cut short is no complete page (a 502 in its place),
and bytes past the end are no part of it. pywin32's ``DoneWithSession`` never raises for
what IIS says, and an extension calls it last: a filtered response that cannot be sent
ends the session with HSE_STATUS_ERROR, and the error stays in the adapter.
"""

from __future__ import annotations

import logging

import pytest
from isapi_harness import HTML, PoolExtension, header_string

from dualfilter import Filter
from dualfilter.isapi import ExtensionError
from dualfilter.isapi.constants import HSE_STATUS_ERROR, HSE_STATUS_SUCCESS
from dualfilter.isapi.testing import ExtensionHost, FakeECB, call_extension
from tests.support.filters import Upper

PAGE = b"<p>hello world</p>"


class Framed:
    """Sends a head stating ``length``, then ``writes`` (one WriteClient each)."""

    def __init__(self, length, writes):
        self.headers = [("Content-Type", HTML), ("Content-Length", str(length))]
        self.writes = writes

    def HttpExtensionProc(self, ecb):
        ecb.SendResponseHeaders("200 OK", header_string(self.headers), False)
        for data in self.writes:
            ecb.WriteClient(data)
        return HSE_STATUS_SUCCESS


def test_a_body_shorter_than_its_content_length_is_a_502_not_a_complete_page(caplog):
    # RFC 9112 section 6.3: an incomplete message is not forwarded as a complete one.
    response = call_extension(Upper.isapi(Framed(len(PAGE) + 10, [PAGE])), FakeECB())
    assert (response.status, response.body) == (502, b"Bad Gateway\nThe response ended before its body.\n")
    assert not response.keep_alive
    assert "ended early" in caplog.text


def test_bytes_past_the_content_length_are_no_part_of_the_page(caplog):
    with caplog.at_level(logging.WARNING, "dualfilter"):
        writes = [PAGE[:5], PAGE[5:] + b"<script>x</script>", b"more"]
        response = call_extension(Upper.isapi(Framed(len(PAGE), writes)), FakeECB())
    assert (response.status, response.body) == (200, PAGE.upper())
    assert response.header("Content-Length") == str(len(PAGE))
    assert caplog.text.count("bytes after the response") == 1


@pytest.mark.parametrize("split", [None, 2])
def test_a_page_that_reaches_its_content_length_is_filtered_whole(split):
    writes = [PAGE] if split is None else [PAGE[i : i + split] for i in range(0, len(PAGE), split)]
    response = call_extension(Upper.isapi(Framed(len(PAGE), writes)), FakeECB())
    assert (response.status, response.body) == (200, PAGE.upper())


class UpperStream(Filter):
    def stream(self, environ, headers):
        return _Upper()


class _Upper:
    def feed(self, data):
        return data.upper()

    def finish(self):
        return b""


class TwoChunksAWrite:
    """Frames its body in chunks itself, two of them in one WriteClient."""

    def HttpExtensionProc(self, ecb):
        head = [("Content-Type", HTML), ("Transfer-Encoding", "chunked")]
        ecb.SendResponseHeaders("200 OK", header_string(head), False)
        ecb.WriteClient(b"5\r\nhello\r\n6\r\n world\r\n")
        ecb.WriteClient(b"0\r\n\r\n")
        return HSE_STATUS_SUCCESS


@pytest.mark.parametrize("flt", [UpperStream, Upper], ids=["streamed", "buffered"])
def test_several_chunks_in_one_write_each_reach_the_filter(flt):
    response = call_extension(flt.isapi(TwoChunksAWrite()), FakeECB())
    assert (response.status, response.body) == (200, b"HELLO WORLD")


class GoneECB(FakeECB):
    """The client went away: IIS fails every write."""

    __slots__ = ()

    def WriteClient(self, data, flags=0, /):
        raise ExtensionError(10054, None, "WriteClient")

    write = WriteClient


class EndsItsOwnSession:
    """pywin32's redirector sample: DoneWithSession inside HttpExtensionProc, then return."""

    def HttpExtensionProc(self, ecb):
        ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML)]), False)
        ecb.WriteClient(PAGE)
        ecb.DoneWithSession()
        return HSE_STATUS_SUCCESS


def test_a_filtered_response_that_cannot_be_sent_ends_the_session_without_raising(caplog):
    ecb = GoneECB()
    result = Upper.isapi(EndsItsOwnSession()).HttpExtensionProc(ecb)  # pywin32 would crash IIS on an error here
    ecb.extension_returned(result)
    assert ecb.done and ecb.response.done_status == HSE_STATUS_ERROR
    assert "could not be sent" in caplog.text


def test_a_pool_worker_survives_a_client_gone_during_a_filtered_response():
    def dispatch(ecb):
        ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML)]), False)
        ecb.WriteClient(PAGE)

    pool = PoolExtension(dispatch, workers=1)
    with ExtensionHost(Upper.isapi(pool)) as host:
        for _ in range(3):  # one worker: each request needs it alive
            ecb = GoneECB()
            call_extension(host.extension, ecb)
            assert ecb.response.done_status == HSE_STATUS_ERROR
        assert all(thread.is_alive() for thread in pool.threads)


def test_the_status_for_the_log_may_be_set_after_the_session_as_pywin32_takes_it():
    ecb = FakeECB()
    ecb.DoneWithSession(HSE_STATUS_SUCCESS)
    ecb.HttpStatusCode = HSE_STATUS_ERROR  # ThreadPoolExtension's error handler does this
    assert ecb.response.log_status != HSE_STATUS_ERROR  # IIS was told nothing
    with pytest.raises(RuntimeError):  # reading it goes through the control block, gone now
        ecb.HttpStatusCode  # noqa: B018


def test_the_double_fails_an_extension_that_raises_after_its_session_ended():
    ecb = FakeECB()
    ecb.DoneWithSession(HSE_STATUS_SUCCESS)
    with pytest.raises(RuntimeError, match="after DoneWithSession"):
        ecb.extension_returned(None, ValueError("late"))


def test_a_content_length_of_0_with_no_write_is_a_complete_empty_page():
    response = call_extension(Upper.isapi(Framed(0, [])), FakeECB())
    assert (response.status, response.body, response.header("Content-Length")) == (200, b"", "0")


def test_a_page_too_large_to_filter_passes_whole_under_its_content_length():
    writes = [PAGE[:6], PAGE[6:12], PAGE[12:]]
    response = call_extension(Upper.isapi(Framed(len(PAGE), writes), max_buffer_size=8, oversize="pass"), FakeECB())
    assert (response.status, response.body, response.header("Content-Length")) == (200, PAGE, str(len(PAGE)))
    assert response.done_status != HSE_STATUS_ERROR


class OwnChunks:
    """Frames ``parts`` in chunks itself, one WriteClient a chunk, with ``trailers``."""

    def __init__(self, parts, trailers=b""):
        self.writes = [b"%x\r\n%s\r\n" % (len(part), part) for part in parts] + [b"0\r\n" + trailers + b"\r\n"]

    def HttpExtensionProc(self, ecb):
        head = [("Content-Type", HTML), ("Transfer-Encoding", "chunked"), ("Trailer", "X-Sum")]
        ecb.SendResponseHeaders("200 OK", header_string(head), False)
        for data in self.writes:
            ecb.WriteClient(data)
        return HSE_STATUS_SUCCESS


def test_a_page_in_its_own_chunks_too_large_to_filter_passes_in_chunks_with_its_trailers():
    # What the filter held was read de-chunked: it goes out framed again, and so does the rest.
    import h11

    parts = [b"<html><body>", b"<p>one</p>", b"<p>two</p>", b"</body></html>"]
    extension = OwnChunks(parts, trailers=b"X-Sum: 42\r\n")
    response = call_extension(Upper.isapi(extension, max_buffer_size=16, oversize="pass"), FakeECB())
    assert response.header("Transfer-Encoding") == "chunked" and response.done_status != HSE_STATUS_ERROR
    client = h11.Connection(h11.CLIENT)
    client.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
    client.send(h11.EndOfMessage())
    client.receive_data(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + response.body)
    events = []
    while type(event := client.next_event()) not in (h11.EndOfMessage, h11.NEED_DATA) and len(events) < 100:
        events.append(event)
    assert b"".join(bytes(e.data) for e in events if type(e) is h11.Data) == b"".join(parts)
    assert type(event) is h11.EndOfMessage and list(event.headers) == [(b"x-sum", b"42")]
