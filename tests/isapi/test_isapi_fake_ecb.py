"""The test double keeps pywin32's ECB contract: types, errors, lifetime, async I/O."""

from __future__ import annotations

import os
import threading

import pytest

from dualfilter.isapi import ExtensionError
from dualfilter.isapi.constants import (
    ERROR_INVALID_INDEX,
    HSE_IO_ASYNC,
    HSE_IO_SEND_HEADERS,
    HSE_STATUS_ERROR,
    HSE_STATUS_PENDING,
    HSE_STATUS_SUCCESS,
)
from dualfilter.isapi.testing import ExtensionHost, FakeECB, FakeVersionInfo, call_extension


def test_request_attributes_are_bytes():
    ecb = FakeECB("POST", "/a/b", "x=1", headers=[("Content-Type", "text/plain")], body=b"hi")
    assert (ecb.Method, ecb.PathInfo, ecb.QueryString, ecb.ContentType) == (b"POST", b"/a/b", b"x=1", b"text/plain")
    assert type(ecb.AvailableData) is bytes and ecb.TotalBytes == 2 and ecb.AvailableBytes == 2


def test_server_variable_is_bytes():
    assert FakeECB(headers=[("X-Token", "abc")]).GetServerVariable("HTTP_X_TOKEN") == b"abc"


def test_unicode_server_variable_is_str():
    assert FakeECB(path="/café").GetServerVariable("UNICODE_PATH_INFO") == "/café"


@pytest.mark.parametrize("name", ["UNICODE_HTTP_X_TOKEN", "UNICODE_HEADER_X-Token"])
def test_request_header_has_no_unicode_server_variable(name):
    # IIS: "UNICODE_HTTP_ACCEPT is not a valid server variable name" (GetServerVariable, Remarks).
    with pytest.raises(ExtensionError) as info:
        FakeECB(headers=[("X-Token", "abc")]).GetServerVariable(name)
    assert info.value.errno == ERROR_INVALID_INDEX


def test_unicode_prefix_is_case_sensitive_as_in_pywin32():
    # PyExtensionObjects.cpp: strncmp("UNICODE_", name, 8) picks a str; any other spelling is no such form.
    ecb = FakeECB(path="/café")
    assert type(ecb.GetServerVariable("PATH_INFO")) is bytes and ecb.GetServerVariable("unicode_path_info", None) is None


def test_unknown_server_variable_raises_extension_error():
    with pytest.raises(ExtensionError) as info:
        FakeECB().GetServerVariable("HTTP_NOPE")
    assert info.value.funcname == "GetServerVariable"


def test_unknown_server_variable_with_default_returns_default():
    marker = object()
    assert FakeECB().GetServerVariable("HTTP_NOPE", marker) is marker


def test_server_variable_name_must_be_str():
    with pytest.raises(TypeError):
        FakeECB().GetServerVariable(b"HTTP_HOST")


def test_all_http_lists_request_headers():
    all_http = FakeECB(headers=[("Accept", "text/html"), ("X-A", "1")]).GetServerVariable("ALL_HTTP")
    assert all_http == b"HTTP_HOST:localhost\nHTTP_ACCEPT:text/html\nHTTP_X_A:1\n"


def test_read_client_returns_the_body_past_available_data():
    ecb = FakeECB("POST", body=b"0123456789", available=4)
    assert ecb.AvailableData == b"0123" and ecb.ReadClient(3) == b"456" and ecb.ReadClient() == b"789" and ecb.ReadClient() == b""


def test_chunked_request_has_unknown_total_bytes_read_as_minus_one():
    """PyExtensionObjects.cpp, PyECB::members: TotalBytes is T_INT, so IIS's 0xFFFFFFFF reads -1."""
    assert FakeECB("POST", body=b"abc", chunked=True).TotalBytes == -1


def test_write_client_returns_the_count():
    assert FakeECB().WriteClient(b"hello") == 5


def test_write_client_takes_str_as_utf8_like_pywin32():
    ecb = FakeECB()
    ecb.SendResponseHeaders("200 OK", "\r\n")
    print("é", file=ecb, end="")
    assert ecb.response.body == "é".encode()


def test_write_client_refuses_a_writable_buffer():
    with pytest.raises(TypeError):
        FakeECB().WriteClient(bytearray(b"x"))


def test_write_client_refuses_non_int_flags():
    with pytest.raises(TypeError):
        FakeECB().WriteClient(b"x", "async")


def test_send_response_headers_records_status_and_headers():
    ecb = FakeECB()
    ecb.SendResponseHeaders("404 Not Found", "Content-Type: text/plain\r\nX-A: 1\r\n\r\n", True)
    response = ecb.response
    assert (response.status, response.reason, response.headers, response.keep_alive) == (
        404,
        "Not Found",
        [("Content-Type", "text/plain"), ("X-A", "1")],
        True,
    )


def test_text_after_the_blank_line_of_the_header_string_is_body():
    ecb = FakeECB()
    ecb.SendResponseHeaders("200 OK", "Content-Type: text/plain\r\n\r\nearly body")
    assert ecb.response.body == b"early body"


def test_second_send_response_headers_raises_extension_error():
    ecb = FakeECB()
    ecb.SendResponseHeaders("200 OK", "\r\n")
    with pytest.raises(ExtensionError):
        ecb.SendResponseHeaders("200 OK", "\r\n")


def test_send_response_headers_rejects_a_status_without_code():
    with pytest.raises(ExtensionError):
        FakeECB().SendResponseHeaders("OK", "\r\n")


def test_read_only_attribute_cannot_be_set():
    with pytest.raises(AttributeError):
        FakeECB().Method = b"POST"


def test_http_status_code_is_writable_for_the_log():
    ecb = FakeECB()
    ecb.HttpStatusCode = 404
    assert ecb.HttpStatusCode == 404 and ecb.response.log_status == 404


def test_log_data_can_only_be_set():
    ecb = FakeECB()
    ecb.LogData = "note"
    with pytest.raises(AttributeError):
        ecb.LogData  # noqa: B018


def test_done_with_session_ends_the_request():
    ecb = FakeECB()
    ecb.DoneWithSession(HSE_STATUS_SUCCESS)
    assert ecb.done and ecb.response.done_status == HSE_STATUS_SUCCESS


def test_close_is_done_with_session():
    ecb = FakeECB()
    ecb.close()
    assert ecb.done


@pytest.mark.parametrize(
    "use",
    [
        lambda ecb: ecb.WriteClient(b"x"),
        lambda ecb: ecb.SendResponseHeaders("200 OK", "\r\n"),
        lambda ecb: ecb.GetServerVariable("URL"),
        lambda ecb: ecb.ReadClient(),
        lambda ecb: ecb.Method,
        lambda ecb: ecb.DoneWithSession(),
    ],
    ids=["WriteClient", "SendResponseHeaders", "GetServerVariable", "ReadClient", "Method", "DoneWithSession"],
)
def test_ecb_is_dead_after_done_with_session(use):
    ecb = FakeECB()
    ecb.DoneWithSession()
    with pytest.raises(RuntimeError, match="DoneWithSession"):
        use(ecb)


def test_async_write_calls_the_io_completion_callback_on_another_thread():
    ecb = FakeECB()
    seen = []
    called = threading.Event()

    def callback(cb_ecb, arg, count, error):
        seen.append((cb_ecb, arg, count, error, threading.current_thread()))
        called.set()

    ecb.IOCompletion(callback, "arg")
    ecb.WriteClient(b"abc", HSE_IO_ASYNC)
    assert called.wait(5)
    cb_ecb, *rest, thread = seen[0]
    assert (cb_ecb.ConnID, *rest) == (ecb.ConnID, "arg", 3, 0) and thread is not threading.current_thread()


def test_async_write_without_a_callback_ends_the_session_with_error():
    ecb = FakeECB()
    ecb.WriteClient(b"abc", HSE_IO_ASYNC)
    assert ecb.wait().done_status == HSE_STATUS_ERROR


def test_failing_io_callback_ends_the_session_with_error():
    ecb = FakeECB()

    def callback(ecb, arg, count, error):
        raise ValueError("boom")

    ecb.IOCompletion(callback)
    ecb.WriteClient(b"abc", HSE_IO_ASYNC)
    assert ecb.wait().done_status == HSE_STATUS_ERROR


def test_io_completion_needs_a_callable():
    with pytest.raises(TypeError):
        FakeECB().IOCompletion("not callable")


def test_redirect_answers_302_with_location():
    ecb = FakeECB()
    ecb.Redirect("http://example.org/")
    assert ecb.response.status == 302 and ecb.response.header("Location") == "http://example.org/"


def test_redirect_after_headers_raises_extension_error():
    ecb = FakeECB()
    ecb.SendResponseHeaders("200 OK", "\r\n")
    with pytest.raises(ExtensionError):
        ecb.Redirect("/elsewhere")


def test_transmit_file_sends_headers_and_file_then_completes(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"file body")
    fd = os.open(path, os.O_RDONLY)
    ecb = FakeECB()
    done = threading.Event()
    try:
        ecb.TransmitFile(
            lambda *args: done.set(),
            None,
            fd,
            "200 OK",
            0,
            0,
            "Content-Type: image/png\r\n\r\n",
            None,
            HSE_IO_ASYNC | HSE_IO_SEND_HEADERS,
        )
        assert done.wait(5)
    finally:
        os.close(fd)
    assert (ecb.response.status, ecb.response.header("content-type"), ecb.response.body) == (200, "image/png", b"file body")


def test_transmit_file_must_be_asynchronous(tmp_path):
    with pytest.raises(ExtensionError):
        FakeECB().TransmitFile(lambda *a: None, None, 0, "200 OK", 0, 0, None, None, 0)


def test_exec_url_insists_on_none_info_and_entity():
    with pytest.raises(ValueError):
        FakeECB().ExecURL("/child", "GET", None, {}, None, 0)


def test_version_info_takes_the_description():
    vi = FakeVersionInfo()
    vi.ExtensionDesc = "my extension"
    assert vi.ExtensionDesc == b"my extension"


def test_version_info_refuses_a_long_description():
    with pytest.raises(ValueError):
        FakeVersionInfo().ExtensionDesc = "x" * 300


def test_call_extension_ends_a_synchronous_request_with_its_result():
    class Ext:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", "\r\n")
            return HSE_STATUS_SUCCESS

    ecb = FakeECB()
    assert call_extension(Ext(), ecb).done_status == HSE_STATUS_SUCCESS
    with pytest.raises(RuntimeError):
        ecb.WriteClient(b"late")


def test_call_extension_waits_for_done_with_session_after_pending():
    class Ext:
        def HttpExtensionProc(self, ecb):
            threading.Timer(0.01, lambda: (ecb.SendResponseHeaders("200 OK", "\r\n"), ecb.DoneWithSession(7))).start()
            return HSE_STATUS_PENDING

    assert call_extension(Ext(), FakeECB()).done_status == 7


def test_call_extension_times_out_when_pending_never_ends():
    class Ext:
        def HttpExtensionProc(self, ecb):
            return HSE_STATUS_PENDING

    with pytest.raises(TimeoutError):
        call_extension(Ext(), FakeECB(), timeout=0.05)


def test_extension_exception_ends_the_request_with_error():
    class Ext:
        def HttpExtensionProc(self, ecb):
            raise KeyError("x")

    response = call_extension(Ext(), FakeECB(), raise_errors=False)
    assert response.done_status == HSE_STATUS_ERROR and isinstance(response.error, KeyError)


def test_non_int_result_counts_as_error():
    class Ext:
        def HttpExtensionProc(self, ecb):
            return "ok"

    assert call_extension(Ext(), FakeECB()).done_status == HSE_STATUS_ERROR


def test_extension_host_loads_serves_and_unloads_through_the_factory():
    events = []

    class Ext:
        def GetExtensionVersion(self, vi):
            vi.ExtensionDesc = "ext"
            events.append("load")

        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", "Content-Type: text/plain\r\n\r\n")
            ecb.WriteClient(ecb.GetServerVariable("URL"))
            return HSE_STATUS_SUCCESS

        def TerminateExtension(self, status):
            events.append("unload")

    class Script:
        @staticmethod
        def __ExtensionFactory__():
            return Ext()

    with ExtensionHost(Script) as host:
        assert host.get("/where").body == b"/where"
    assert events == ["load", "unload"]


@pytest.mark.parametrize("result", ["yes", 0, object()])
def test_extension_host_refuses_an_extension_pywin32_would_not_load(result):
    # pyISAPI.cpp: GetExtensionVersion returns None or a true int, else IIS does not load the DLL.
    class Ext:
        def GetExtensionVersion(self, vi):
            return result

        def HttpExtensionProc(self, ecb):
            return HSE_STATUS_SUCCESS

        def TerminateExtension(self, status):
            pass

    with pytest.raises(RuntimeError, match="refused to load"):
        ExtensionHost(Ext()).__enter__()


@pytest.mark.parametrize(
    ("protocol", "connection", "keeps"),
    [("HTTP/1.1", None, True), ("HTTP/1.1", "close", False), ("HTTP/1.0", None, False), ("HTTP/1.0", "keep-alive", True)],
)
def test_is_keep_conn_answers_as_iis_does_by_the_request_version_and_connection(protocol, connection, keeps):
    # HSE_REQ_IS_KEEP_CONN, RFC 9112 section 9.3: HTTP/1.0 keeps its connection only when asked.
    from dualfilter.isapi.testing import Request

    headers = (("Connection", connection),) if connection else ()
    ecb = FakeECB(Request("GET", "/", headers=headers, variables={"SERVER_PROTOCOL": protocol}))
    assert ecb.IsKeepConn() is keeps
