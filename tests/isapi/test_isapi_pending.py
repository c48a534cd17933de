"""A filtered extension that returns HSE_STATUS_PENDING and ends later on another thread."""

from __future__ import annotations

import threading

from isapi_harness import HTML, PoolExtension, StaticExtension, UpperFilter, send

from dualfilter.isapi.constants import HSE_STATUS_PENDING, HSE_STATUS_SUCCESS, HSE_STATUS_SUCCESS_AND_KEEP_CONN
from dualfilter.isapi.testing import ExtensionHost, FakeECB, call_extension


def hello(ecb):
    send(ecb, "200 OK", [("Content-Type", HTML)], [b"<p>hello", b" world</p>"])


def test_pending_request_is_filtered():
    with ExtensionHost(UpperFilter.isapi(PoolExtension(hello))) as host:
        assert host.get().body == b"<P>HELLO WORLD</P>"


def test_http_extension_proc_returns_pending_at_once():
    release = threading.Event()

    def blocked(ecb):
        release.wait(5)
        hello(ecb)

    with ExtensionHost(UpperFilter.isapi(PoolExtension(blocked))) as host:
        ecb = FakeECB()
        assert host.extension.HttpExtensionProc(ecb) == HSE_STATUS_PENDING
        assert not ecb.done
        release.set()
        assert ecb.wait().body == b"<P>HELLO WORLD</P>"


def test_filtered_response_is_written_before_the_real_done_with_session():
    with ExtensionHost(UpperFilter.isapi(PoolExtension(hello))) as host:
        ecb = FakeECB()
        call_extension(host.extension, ecb)
    assert [name for name, _ in ecb.calls] == ["SendResponseHeaders", "WriteClient", "DoneWithSession"]


def test_nothing_reaches_the_client_before_done_with_session_for_a_filtered_response():
    written = threading.Event()
    release = threading.Event()

    class Slow:
        def HttpExtensionProc(self, ecb):
            def work():
                hello(ecb)
                written.set()
                release.wait(5)
                ecb.DoneWithSession()

            threading.Thread(target=work).start()
            return HSE_STATUS_PENDING

    ecb = FakeECB()
    UpperFilter.isapi(Slow()).HttpExtensionProc(ecb)
    assert written.wait(5)
    assert ecb.response.status is None
    release.set()
    assert ecb.wait().status == 200


def test_done_with_session_status_reaches_the_real_ecb():
    class KeepConn:
        def HttpExtensionProc(self, ecb):
            threading.Thread(target=lambda: (hello(ecb), ecb.DoneWithSession(HSE_STATUS_SUCCESS_AND_KEEP_CONN))).start()
            return HSE_STATUS_PENDING

    assert call_extension(UpperFilter.isapi(KeepConn()), FakeECB()).done_status == HSE_STATUS_SUCCESS_AND_KEEP_CONN


def test_done_with_session_before_pending_is_returned():
    class Eager:
        def HttpExtensionProc(self, ecb):
            hello(ecb)
            ecb.DoneWithSession()
            return HSE_STATUS_PENDING

    assert call_extension(UpperFilter.isapi(Eager()), FakeECB()).body == b"<P>HELLO WORLD</P>"


def test_close_inside_a_synchronous_extension_ends_the_request_once():
    class ClosesThenReturns(StaticExtension):
        def HttpExtensionProc(self, ecb):
            super().HttpExtensionProc(ecb)
            ecb.close()
            return HSE_STATUS_SUCCESS

    ecb = FakeECB()
    response = call_extension(UpperFilter.isapi(ClosesThenReturns()), ecb)
    assert response.body == b"<P>HELLO</P>" and [name for name, _ in ecb.calls].count("DoneWithSession") == 1


def test_proxy_is_dead_after_done_with_session():
    errors = []

    class EndsThenWrites:
        def HttpExtensionProc(self, ecb):
            def work():
                hello(ecb)
                ecb.DoneWithSession()
                try:
                    ecb.WriteClient(b"more")
                except RuntimeError as exc:
                    errors.append(exc)

            self.thread = threading.Thread(target=work)
            self.thread.start()
            return HSE_STATUS_PENDING

    inner = EndsThenWrites()
    call_extension(UpperFilter.isapi(inner), FakeECB())
    inner.thread.join(5)
    assert len(errors) == 1 and "DoneWithSession" in str(errors[0])


def test_dispatch_error_page_from_a_worker_replaces_nothing_already_sent():
    def fails_after_headers(ecb):
        ecb.SendResponseHeaders("200 OK", f"Content-Type: {HTML}\r\n\r\n")
        ecb.WriteClient(b"<p>partial")
        raise ValueError("worker failed")

    with ExtensionHost(UpperFilter.isapi(PoolExtension(fails_after_headers))) as host:
        response = host.get()
    # The error handler's SendResponseHeaders raised ExtensionError (headers already
    # sent), which it ignores: the filtered partial page goes out, as the unfiltered one would.
    assert response.body == b"<P>PARTIAL" and response.done_status == HSE_STATUS_SUCCESS


def test_two_hundred_concurrent_pending_requests_are_not_mixed_up():
    def echo_path(ecb):
        path = ecb.GetServerVariable("URL")
        send(ecb, "200 OK", [("Content-Type", HTML), ("X-Path", path.decode())], [b"<p>", path, b"</p>"])

    with ExtensionHost(UpperFilter.isapi(PoolExtension(echo_path, workers=16))) as host:
        ecbs = [FakeECB(path=f"/item/{n}") for n in range(200)]
        start = threading.Barrier(8)

        def fire(batch):
            start.wait(5)
            for ecb in batch:
                assert host.extension.HttpExtensionProc(ecb) == HSE_STATUS_PENDING

        threads = [threading.Thread(target=fire, args=(ecbs[i::8],)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        responses = [ecb.wait(10) for ecb in ecbs]
    for n, response in enumerate(responses):
        assert response.body == f"<P>/ITEM/{n}</P>".encode()
        assert response.header("X-Path") == f"/item/{n}"
        assert response.header("Content-Length") == str(len(response.body))


def test_dispatch_error_page_before_headers_is_filtered_like_any_page():
    def fails(ecb):
        raise ValueError("worker failed")

    with ExtensionHost(UpperFilter.isapi(PoolExtension(fails))) as host:
        response = host.get()
    assert b"VALUEERROR: WORKER FAILED" in response.body and response.header("Content-Length") == str(len(response.body))
