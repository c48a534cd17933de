"""Redirect, TransmitFile and ExecURL from a filtered extension: one fixed behaviour each."""

from __future__ import annotations

import os
import threading
import time

import pytest
from isapi_harness import HTML, UpperFilter, header_string

from dualfilter.isapi import ExtensionError
from dualfilter.isapi.constants import HSE_IO_ASYNC, HSE_IO_SEND_HEADERS, HSE_STATUS_PENDING, HSE_STATUS_SUCCESS
from dualfilter.isapi.testing import FakeECB, call_extension


def test_redirect_goes_out_unfiltered():
    class Redirects:
        def HttpExtensionProc(self, ecb):
            ecb.Redirect("http://example.org/new")
            return HSE_STATUS_SUCCESS

    response = call_extension(UpperFilter.isapi(Redirects(), filter_all_status=True), FakeECB())
    assert response.status == 302 and response.header("Location") == "http://example.org/new"
    assert b"Object Moved" in response.body


def test_redirect_after_send_response_headers_raises_even_while_buffered():
    class Late:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML)]))
            with pytest.raises(ExtensionError):
                ecb.Redirect("/elsewhere")
            return HSE_STATUS_SUCCESS

    assert call_extension(UpperFilter.isapi(Late()), FakeECB()).status == 200


@pytest.fixture
def file_descriptor(tmp_path):
    path = tmp_path / "asset"
    path.write_bytes(b"<p>file</p>")
    fd = os.open(path, os.O_RDONLY)
    yield fd
    os.close(fd)


class Transmits:
    """Sends a file with TransmitFile, optionally after SendResponseHeaders; records what it raised."""

    def __init__(self, fd, content_type, send_headers_first, prefix="", tail=None):
        self.fd, self.content_type, self.send_headers_first = fd, content_type, send_headers_first
        self.prefix, self.tail = prefix, tail
        self.error = None

    def HttpExtensionProc(self, ecb):
        head = header_string([("Content-Type", self.content_type)]) + self.prefix
        flags = HSE_IO_ASYNC
        if self.send_headers_first:
            ecb.SendResponseHeaders("200 OK", head)
            head = None
        else:
            flags |= HSE_IO_SEND_HEADERS
        try:
            ecb.TransmitFile(
                lambda ecb, arg, count, error: ecb.DoneWithSession(), None, self.fd, "200 OK", 0, 0, head, self.tail, flags
            )
        except ExtensionError as exc:
            self.error = exc
            ecb.DoneWithSession()
        return HSE_STATUS_PENDING

    def sent(self, ecb, arg, count, error):
        ecb.DoneWithSession()


@pytest.mark.parametrize("send_headers_first", [True, False], ids=["after-headers", "with-headers"])
def test_transmit_file_of_an_unfiltered_response_is_passed_on(file_descriptor, send_headers_first):
    inner = Transmits(file_descriptor, "image/png", send_headers_first)
    response = call_extension(UpperFilter.isapi(inner), FakeECB())
    assert inner.error is None and response.header("Content-Type") == "image/png" and response.body == b"<p>file</p>"


def test_transmit_file_of_an_unfiltered_response_sends_what_follows_its_headers_before_the_file(file_descriptor):
    # HSE_IO_SEND_HEADERS: the head is the header lines, a blank line, and bytes to send before the file.
    inner = Transmits(file_descriptor, "image/png", False, prefix="<prefix>", tail="<suffix>")
    response = call_extension(UpperFilter.isapi(inner), FakeECB())
    assert inner.error is None and response.body == b"<prefix><p>file</p><suffix>"


@pytest.mark.parametrize("send_headers_first", [True, False], ids=["after-headers", "with-headers"])
def test_transmit_file_of_a_filtered_response_is_refused(file_descriptor, send_headers_first):
    inner = Transmits(file_descriptor, HTML, send_headers_first)
    call_extension(UpperFilter.isapi(inner), FakeECB())
    assert inner.error is not None and inner.error.funcname == "ServerSupportFunction(HSE_REQ_TRANSMIT_FILE)"


@pytest.mark.parametrize("send_headers_first", [True, False], ids=["after-headers", "with-headers"])
def test_transmit_file_answering_a_head_request_for_an_unfiltered_type_is_passed_on(file_descriptor, send_headers_first):
    inner = Transmits(file_descriptor, "image/png", send_headers_first)
    response = call_extension(UpperFilter.isapi(inner), FakeECB("HEAD"))
    assert inner.error is None and response.header("Content-Type") == "image/png"


@pytest.mark.parametrize("send_headers_first", [True, False], ids=["after-headers", "with-headers"])
def test_transmit_file_answering_a_head_request_for_a_filtered_type_is_refused(file_descriptor, send_headers_first):
    inner = Transmits(file_descriptor, HTML, send_headers_first)
    call_extension(UpperFilter.isapi(inner), FakeECB("HEAD"))
    assert inner.error is not None and inner.error.funcname == "ServerSupportFunction(HSE_REQ_TRANSMIT_FILE)"


@pytest.mark.parametrize("send_headers_first", [True, False], ids=["after-headers", "with-headers"])
def test_transmit_file_is_refused_when_the_filter_failed_to_decide(file_descriptor, send_headers_first):
    # Its answer is the clean 500: the file must not follow that start.
    class Undecided(UpperFilter):
        def should_filter(self, environ, status, headers):
            raise ValueError("cannot decide")

    inner = Transmits(file_descriptor, "image/png", send_headers_first)
    response = call_extension(Undecided.isapi(inner), FakeECB())
    assert inner.error is not None and inner.error.funcname == "ServerSupportFunction(HSE_REQ_TRANSMIT_FILE)"
    if send_headers_first:  # the start went through the machine: its clean 500, and no file after it
        assert (response.status, response.body) == (500, b"Internal Server Error\n")
    else:  # refused before anything went out
        assert (response.status, response.body) == (None, b"")


def test_refused_transmit_file_with_headers_leaves_the_response_unstarted(file_descriptor):
    inner = Transmits(file_descriptor, HTML, send_headers_first=False)
    response = call_extension(UpperFilter.isapi(inner), FakeECB())
    assert response.status is None and response.body == b""


class FallsBack:
    """Sends a file with TransmitFile without HSE_IO_ASYNC, which IIS refuses (pywin32 raises
    ExtensionError, nothing sent), then answers another way, as an extension may."""

    def __init__(self, fd, content_type, send_headers_first):
        self.fd, self.content_type, self.send_headers_first = fd, content_type, send_headers_first
        self.error = None

    def HttpExtensionProc(self, ecb):
        head = header_string([("Content-Type", self.content_type)])
        if self.send_headers_first:
            ecb.SendResponseHeaders("200 OK", head)
        try:
            flags = 0 if self.send_headers_first else HSE_IO_SEND_HEADERS
            ecb.TransmitFile(
                lambda *args: None, None, self.fd, "200 OK", 0, 0, None if self.send_headers_first else head, None, flags
            )
        except ExtensionError as exc:
            self.error = exc
            if not self.send_headers_first:
                ecb.SendResponseHeaders("503 Service Unavailable", header_string([("Content-Type", HTML)]))
            ecb.WriteClient(b"<p>try later</p>")
        ecb.DoneWithSession()
        return HSE_STATUS_SUCCESS


def test_transmit_file_iis_refuses_leaves_the_response_to_the_extension(file_descriptor):
    # The refused call sent nothing: the extension's own answer goes out, filtered as any other.
    inner = FallsBack(file_descriptor, "image/png", send_headers_first=False)
    response = call_extension(UpperFilter.isapi(inner, filter_all_status=True), FakeECB())
    assert inner.error is not None and "HSE_IO_ASYNC" in inner.error.strerror
    assert response.status == 503 and response.body == b"<P>TRY LATER</P>"
    assert response.header("Content-Length") == "16"


def test_transmit_file_iis_refuses_after_the_headers_leaves_the_body_to_the_extension(file_descriptor):
    inner = FallsBack(file_descriptor, "image/png", send_headers_first=True)
    response = call_extension(UpperFilter.isapi(inner), FakeECB())
    assert inner.error is not None
    assert (response.status, response.header("Content-Type"), response.body) == (200, "image/png", b"<p>try later</p>")


def test_redirect_iis_refuses_leaves_the_response_to_the_filter():
    class RefusingECB(FakeECB):
        """IIS refusing the redirect (a URL it cannot send), as pywin32 reports it."""

        def Redirect(self, url, /):
            raise ExtensionError(87, "The parameter is incorrect.", "ServerSupportFunction(HSE_REQ_SEND_URL_REDIRECT_RESP)")

    class Redirects:
        def HttpExtensionProc(self, ecb):
            try:
                ecb.Redirect("/elsewhere")
            except ExtensionError:
                ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML)]))
                ecb.WriteClient(b"<p>here</p>")
            return HSE_STATUS_SUCCESS

    response = call_extension(UpperFilter.isapi(Redirects()), RefusingECB())
    assert (response.status, response.body) == (200, b"<P>HERE</P>")


def test_transmit_file_callback_gets_the_proxy(file_descriptor):
    got = []
    done = threading.Event()

    class Records(Transmits):
        def HttpExtensionProc(self, ecb):
            self.proxy = ecb
            ecb.SendResponseHeaders("200 OK", "Content-Type: image/png\r\n\r\n")

            def callback(cb_ecb, arg, count, error):
                got.append((cb_ecb, arg, count, error))
                cb_ecb.DoneWithSession()
                done.set()

            ecb.TransmitFile(callback, "param", self.fd, "200 OK", 0, 0, None, None, HSE_IO_ASYNC)
            return HSE_STATUS_PENDING

    inner = Records(file_descriptor, "image/png", True)
    call_extension(UpperFilter.isapi(inner), FakeECB())
    assert done.wait(5) and got == [(inner.proxy, "param", 11, 0)]


def test_exec_url_is_refused():
    errors = []

    class Child:
        def HttpExtensionProc(self, ecb):
            try:
                ecb.ExecURL("/child", "GET", None, None, None, 0)
            except ExtensionError as exc:
                errors.append(exc)
            return HSE_STATUS_SUCCESS

    call_extension(UpperFilter.isapi(Child()), FakeECB())
    assert errors and "bypass" in errors[0].strerror


class ConditionalStatic:
    """A static-file extension: a bare 304 to a matching If-None-Match (no type), else TransmitFile."""

    def __init__(self, fd, send_headers_first):
        self.fd, self.send_headers_first, self.calls = fd, send_headers_first, 0

    def HttpExtensionProc(self, ecb):
        self.calls += 1
        if ecb.GetServerVariable("HTTP_IF_NONE_MATCH", None) == b'"v1"':
            ecb.SendResponseHeaders("304 Not Modified", 'ETag: "v1"\r\n\r\n', True)
            ecb.DoneWithSession()
            return HSE_STATUS_PENDING
        head = header_string([("Content-Type", "image/png"), ("Content-Length", "11"), ("ETag", '"v1"')])
        flags = HSE_IO_ASYNC
        if self.send_headers_first:
            ecb.SendResponseHeaders("200 OK", head, True)
            head = None
        else:
            flags |= HSE_IO_SEND_HEADERS
        ecb.TransmitFile(lambda ecb, arg, count, error: ecb.DoneWithSession(), None, self.fd, "200 OK", 0, 0, head, None, flags)
        return HSE_STATUS_PENDING


@pytest.mark.parametrize("send_headers_first", [True, False], ids=["after-headers", "with-headers"])
def test_a_first_304_that_stands_is_not_followed_by_the_file_the_second_call_transmits(file_descriptor, send_headers_first):
    # Asked again for what may be a filtered page, the page is a PNG: the 304 stands, and has no content.
    inner = ConditionalStatic(file_descriptor, send_headers_first)
    response = call_extension(UpperFilter.isapi(inner), FakeECB(headers=[("If-None-Match", '"v1"')]))
    assert (inner.calls, response.status, response.body, response.header("ETag")) == (2, 304, b"", '"v1"')


@pytest.mark.parametrize("status", ["200 OK\r\nContent-Type: text/html", "200 OK\nX: y", "200 O\x00K"])
def test_a_status_with_a_control_character_is_refused(status):
    # IIS writes the status as it is: a CR or LF would start header lines the filter never read.
    errors = []

    class Injecting:
        def HttpExtensionProc(self, ecb):
            try:
                ecb.SendResponseHeaders(status, "X-Page: 1\r\n\r\n")
            except ExtensionError as exc:
                errors.append(exc)
            return HSE_STATUS_SUCCESS

    response = call_extension(UpperFilter.isapi(Injecting()), FakeECB())
    assert errors and b"text/html" not in (response.raw_head or b"")


@pytest.mark.parametrize("status", ["204 No Content", "304 Not Modified"])
@pytest.mark.parametrize("send_headers_first", [True, False], ids=["after-headers", "with-headers"])
def test_a_file_transmitted_after_a_start_that_has_no_body_is_not_sent(file_descriptor, status, send_headers_first):
    # RFC 9112 section 6.3: a 204 or 304 ends at its head; bytes after it would be the next answer.
    class Bodiless:
        def HttpExtensionProc(self, ecb):
            head = header_string([("Content-Type", "text/plain")])
            flags = HSE_IO_ASYNC
            if send_headers_first:
                ecb.SendResponseHeaders(status, head)
                head = None
            else:
                flags |= HSE_IO_SEND_HEADERS
            done = lambda ecb, arg, count, error: ecb.DoneWithSession()  # noqa: E731
            ecb.TransmitFile(done, None, file_descriptor, status, 0, 0, head, None, flags)
            return HSE_STATUS_PENDING

    response = call_extension(UpperFilter.isapi(Bodiless()), FakeECB())
    assert (response.status, response.body) == (int(status[:3]), b"")


@pytest.mark.parametrize(("method", "status"), [("HEAD", "200 OK"), ("GET", "204 No Content")])
def test_the_callback_of_a_file_not_sent_comes_and_may_close_the_session(file_descriptor, method, status):
    # pywin32's samples/test.py returns HSE_STATUS_SUCCESS after TransmitFile; its callback closes its file.
    calls = []

    class SendsItsFile:
        def callback(self, ecb, param, count, error):
            ecb.close()  # the session is still there to end
            calls.append((count, error))

        def HttpExtensionProc(self, ecb):
            flags = HSE_IO_ASYNC | HSE_IO_SEND_HEADERS
            head = header_string([("Content-Type", "text/plain")])
            ecb.TransmitFile(self.callback, None, file_descriptor, status, 0, 0, head, None, flags)
            return HSE_STATUS_SUCCESS

    response = call_extension(UpperFilter.isapi(SendsItsFile()), FakeECB(method))
    for _ in range(100):  # the callback comes on a completion thread
        if calls:
            break
        time.sleep(0.02)
    assert calls == [(0, 0)] and response.body == b""


def test_an_untyped_partial_of_an_untyped_page_may_be_sent_with_transmit_file(file_descriptor):
    # RFC 9110 section 15.3.7: a 206 carries its 200's type; none, and no If-Range: the page has none.
    class Partial:
        def HttpExtensionProc(self, ecb):
            head = header_string([("Content-Range", "bytes 0-10/20"), ("Content-Length", "11")])
            done = lambda ecb, arg, count, error: ecb.DoneWithSession()  # noqa: E731
            ecb.TransmitFile(
                done, None, file_descriptor, "206 Partial Content", 0, 0, head, None, HSE_IO_ASYNC | HSE_IO_SEND_HEADERS
            )
            return HSE_STATUS_PENDING

    response = call_extension(UpperFilter.isapi(Partial()), FakeECB(headers=[("Range", "bytes=0-10")]))
    assert (response.status, response.body) == (206, b"<p>file</p>")


def test_a_file_not_sent_calls_back_on_another_thread_so_an_extensions_lock_does_not_deadlock(file_descriptor):
    # IIS runs a TransmitFile callback on an I/O thread, never inside the call.
    lock = threading.Lock()
    called = []

    class Locked:
        def callback(self, ecb, param, count, error):
            with lock:
                called.append(threading.current_thread().name)
            ecb.close()

        def HttpExtensionProc(self, ecb):
            with lock:
                head = header_string([("Content-Type", "text/plain")])
                flags = HSE_IO_ASYNC | HSE_IO_SEND_HEADERS
                ecb.TransmitFile(self.callback, None, file_descriptor, "204 No Content", 0, 0, head, None, flags)
            return HSE_STATUS_SUCCESS

    response = call_extension(UpperFilter.isapi(Locked()), FakeECB())
    for _ in range(100):
        if called:
            break
        time.sleep(0.02)
    assert response.status == 204 and called and called[0] != threading.current_thread().name
