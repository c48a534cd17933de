"""FakeECB and FakeVersionInfo behave as pywin32's C++ objects do, one fact per test.

Each docstring names the pywin32 source (``isapi/src/...``) and function the
fact is read from.
"""

from __future__ import annotations

import os
import threading

import pytest

from dualfilter.isapi import ExtensionError
from dualfilter.isapi.constants import (
    HSE_IO_ASYNC,
    HSE_IO_DISCONNECT_AFTER_SEND,
    HSE_IO_SEND_HEADERS,
    HSE_STATUS_ERROR,
    HSE_STATUS_PENDING,
    HSE_STATUS_SUCCESS,
)
from dualfilter.isapi.testing import FakeECB, FakeVersionInfo, Request, call_extension


def test_total_bytes_of_a_chunked_upload_is_minus_one():
    """PyExtensionObjects.cpp, PyECB::members: TotalBytes is a T_INT member over cbTotalBytes."""
    assert FakeECB(Request("POST", body=b"abc", chunked=True)).TotalBytes == -1


def test_total_bytes_over_2_gib_reads_negative():
    """PyExtensionObjects.cpp, PyECB::members: T_INT reads a DWORD as signed 32-bit."""
    ecb = FakeECB("POST", body=b"x")
    ecb._s.total = 0x80000001  # what IIS reports for a 2 GiB + 1 byte upload
    assert ecb.TotalBytes == -(2**31) + 1


def test_http_status_code_is_a_signed_member():
    """PyExtensionObjects.cpp, PyECB::setattro: the DWORD set reads back through T_INT."""
    ecb = FakeECB()
    ecb.HttpStatusCode = 0xFFFFFFFF
    assert ecb.HttpStatusCode == -1


def test_available_data_is_at_most_the_read_ahead():
    """PyExtensionObjects.cpp, PyECB::getattro: AvailableData is cbAvailable bytes of lpbData."""
    ecb = FakeECB("POST", body=b"x" * 100, available=10)
    assert (ecb.AvailableBytes, ecb.AvailableData) == (10, b"x" * 10)


@pytest.mark.parametrize(
    "call",
    [
        lambda ecb: ecb.WriteClient(data=b"x"),
        lambda ecb: ecb.GetServerVariable(name="URL"),
        lambda ecb: ecb.ReadClient(nbytes=1),
        lambda ecb: ecb.SendResponseHeaders("200 OK", "\r\n", keepAlive=False),
        lambda ecb: ecb.DoneWithSession(status=HSE_STATUS_SUCCESS),
        lambda ecb: ecb.IOCompletion(func=print),
    ],
    ids=["WriteClient", "GetServerVariable", "ReadClient", "SendResponseHeaders", "DoneWithSession", "IOCompletion"],
)
def test_methods_take_no_keyword_arguments(call):
    """PyExtensionObjects.cpp, PyECB_methods: every method is METH_VARARGS, parsed by PyArg_ParseTuple."""
    with pytest.raises(TypeError):
        call(FakeECB("POST", body=b"abc"))


def test_write_client_sends_a_str_as_utf8():
    """PyExtensionObjects.cpp, PyECB::WriteClient: format "s#" encodes a str as UTF-8."""
    ecb = FakeECB()
    assert ecb.WriteClient("é") == 2 and ecb.response.body == "é".encode()


def test_write_client_takes_a_read_only_buffer():
    """PyExtensionObjects.cpp, PyECB::WriteClient: "s#" takes a read-only bytes-like object."""
    ecb = FakeECB()
    ecb.WriteClient(memoryview(b"abc"))
    assert ecb.response.body == b"abc"


@pytest.mark.parametrize("data", [bytearray(b"abc"), memoryview(bytearray(b"abc")), None, 3], ids=repr)
def test_write_client_refuses_writable_buffers_and_non_strings(data):
    """PyExtensionObjects.cpp, PyECB::WriteClient: "s#" refuses a writable buffer such as bytearray."""
    with pytest.raises(TypeError):
        FakeECB().WriteClient(data)


def test_get_server_variable_takes_a_str_name_only():
    """PyExtensionObjects.cpp, PyECB::GetServerVariable: the name is parsed with "s"."""
    with pytest.raises(TypeError):
        FakeECB().GetServerVariable(b"URL")


def test_get_server_variable_strips_the_nul_iis_counts():
    """ControlBlock.h, CControlBlock::GetServerVariable: the trailing NUL is not part of the value."""
    assert FakeECB(path="/a").GetServerVariable("URL") == b"/a"


def test_unknown_server_variable_raises_extension_error_without_a_default():
    """PyExtensionObjects.cpp, PyECB::GetServerVariable: SetPyECBError("GetServerVariable")."""
    with pytest.raises(ExtensionError):
        FakeECB().GetServerVariable("NO_SUCH_THING")


def test_impersonation_token_is_a_handle_of_the_requests_own():
    """PyExtensionObjects.cpp, PyECB::GetImpersonationToken: the HANDLE IIS gives for
    HSE_REQ_GET_IMPERSONATION_TOKEN, as an int (PyLong_FromVoidPtr)."""
    first, second = FakeECB(), FakeECB()
    tokens = (first.GetImpersonationToken(), second.GetImpersonationToken())
    assert all(type(token) is int and token for token in tokens) and tokens[0] != tokens[1]


def test_read_client_without_size_on_a_chunked_upload_asks_for_4_gib():
    """PyExtensionObjects.cpp, PyECB::ReadClient: the default size is TotalBytes - AvailableBytes,
    as a DWORD, allocated before reading."""
    with pytest.raises(MemoryError):
        FakeECB("POST", body=b"x" * 100, available=10, chunked=True).ReadClient()


def test_read_client_with_a_size_reads_a_chunked_upload_to_its_end():
    """PyExtensionObjects.cpp, PyECB::ReadClient: it loops until nbytes arrive or IIS gives none."""
    ecb = FakeECB("POST", body=b"x" * 100, available=10, chunked=True)
    assert (ecb.ReadClient(60), ecb.ReadClient(60), ecb.ReadClient(60)) == (b"x" * 60, b"x" * 30, b"")


def test_send_response_headers_passes_cr_lf_in_the_status_through():
    """PyExtensionObjects.cpp, PyECB::SendResponseHeaders: the strings go to
    HSE_REQ_SEND_RESPONSE_HEADER_EX unchecked, so the client reads an injected header."""
    ecb = FakeECB()
    ecb.SendResponseHeaders("200 OK\r\nSet-Cookie: x=1", "Content-Type: text/plain\r\n\r\n")
    assert ecb.response.header("Set-Cookie") == "x=1"


def test_send_response_headers_keep_alive_must_be_an_int():
    """PyExtensionObjects.cpp, PyECB::SendResponseHeaders: keepAlive is parsed with "i"."""
    with pytest.raises(TypeError):
        FakeECB().SendResponseHeaders("200 OK", "\r\n", None)


def test_log_data_can_only_be_set():
    """PyExtensionObjects.cpp, PyECB::getattro: reading LogData raises AttributeError."""
    with pytest.raises(AttributeError):
        FakeECB().LogData  # noqa: B018


def test_log_data_refuses_none():
    """Utils.cpp, PyISAPIString_AsBytes: only str or bytes, ValueError otherwise."""
    with pytest.raises(ValueError):
        FakeECB().LogData = None


def test_other_members_are_read_only():
    """PyExtensionObjects.cpp, PyECB::setattro: only HttpStatusCode and LogData can be set."""
    with pytest.raises(AttributeError):
        FakeECB().Method = b"POST"


def test_ecb_is_dead_after_done_with_session():
    """PyExtensionObjects.cpp, PyECB::DoneWithSession: m_pcb is NULL afterwards (pywin32 would crash)."""
    ecb = FakeECB()
    ecb.DoneWithSession()
    with pytest.raises(RuntimeError):
        ecb.TotalBytes  # noqa: B018


def test_ecb_is_dead_once_http_extension_proc_returned_success():
    """pyISAPI.cpp, HttpExtensionProc: IIS ends the request as it returns anything but PENDING."""
    kept = []

    class Keeps:
        def HttpExtensionProc(self, ecb):
            kept.append(ecb)
            return HSE_STATUS_SUCCESS

    call_extension(Keeps(), FakeECB())
    with pytest.raises(RuntimeError):
        kept[0].WriteClient(b"late")


def test_a_raising_extension_gets_pywin32s_error_page_with_status_200():
    """PythonEng.cpp, ExtensionError: status "200 OK", Content-type text/html, HTMLErrorResp."""

    class Raises:
        def HttpExtensionProc(self, ecb):
            raise KeyError("x")

    response = call_extension(Raises(), FakeECB(), raise_errors=False)
    assert (response.status, response.header("Content-type")) == (200, "text/html")
    assert b"HttpExtensionProc function failed!" in response.body and response.done_status == HSE_STATUS_ERROR


def test_a_raising_extension_leaves_status_4_for_the_log():
    """PythonEng.cpp, ExtensionError: pcb->SetStatus(HSE_STATUS_ERROR) sets dwHttpStatusCode to 4."""

    class Raises:
        def HttpExtensionProc(self, ecb):
            raise KeyError("x")

    assert call_extension(Raises(), FakeECB(), raise_errors=False).log_status == HSE_STATUS_ERROR


def test_an_error_page_after_the_headers_goes_into_the_body():
    """PythonEng.cpp, ExtensionError: the second SEND_RESPONSE_HEADER_EX fails unchecked, the HTML is written."""

    class Half:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", "Content-Type: text/plain\r\n\r\n")
            ecb.WriteClient(b"half")
            raise KeyError("x")

    response = call_extension(Half(), FakeECB(), raise_errors=False)
    assert response.header("Content-Type") == "text/plain" and response.body.startswith(b"half<html>")


def test_a_result_that_is_not_an_int_is_an_error():
    """pyISAPI.cpp, HttpExtensionProc: "HttpExtensionProc should return an int"."""

    class ReturnsNone:
        def HttpExtensionProc(self, ecb):
            return None

    response = call_extension(ReturnsNone(), FakeECB())
    assert response.done_status == HSE_STATUS_ERROR and b"should return an int" in response.body


def test_io_completion_callback_gets_a_new_live_ecb():
    """PyExtensionObjects.cpp, DoIOCallback: a new PyECB over the same EXTENSION_CONTROL_BLOCK."""
    ecb = FakeECB()
    seen = []
    done = threading.Event()

    def callback(cb_ecb, arg, count, error):
        seen.append((cb_ecb is not ecb, cb_ecb.ConnID == ecb.ConnID))
        cb_ecb.DoneWithSession()
        done.set()

    ecb.IOCompletion(callback)
    ecb.WriteClient(b"abc", HSE_IO_ASYNC)
    assert done.wait(5) and seen == [(True, True)] and ecb.wait().done_status == HSE_STATUS_SUCCESS


def test_a_failing_io_completion_callback_ends_the_session_with_an_error():
    """PyExtensionObjects.cpp, DoIOCallback: on failure, DoneWithSession(HSE_STATUS_ERROR)."""
    ecb = FakeECB()
    ecb.IOCompletion(lambda *args: 1 / 0)
    ecb.WriteClient(b"abc", HSE_IO_ASYNC)
    assert ecb.wait().done_status == HSE_STATUS_ERROR


def test_transmit_file_callback_gets_a_new_ecb_it_can_close(tmp_path):
    """PyExtensionObjects.cpp, transmitFileCompletion: a new PyECB, owned by the call."""
    path = tmp_path / "f.txt"
    path.write_bytes(b"file body")
    fd = os.open(path, os.O_RDONLY)
    ecb = FakeECB()
    try:
        flags = HSE_IO_ASYNC | HSE_IO_SEND_HEADERS | HSE_IO_DISCONNECT_AFTER_SEND
        ecb.TransmitFile(lambda cb_ecb, *rest: cb_ecb.close(), None, fd, "200 OK", 0, 0, None, None, flags)
        ecb.extension_returned(HSE_STATUS_PENDING)
        response = ecb.wait()
    finally:
        os.close(fd)
    assert (response.body, response.done_status) == (b"file body", HSE_STATUS_SUCCESS)


def test_transmit_file_status_must_be_a_str(tmp_path):
    """PyExtensionObjects.cpp, PyECB::TransmitFile: statusCode is parsed with "s" (bytes refused)."""
    with pytest.raises(TypeError):
        FakeECB().TransmitFile(print, None, 0, b"200 OK", 0, 0, None, None, HSE_IO_ASYNC)


def test_a_failing_transmit_file_callback_reports_the_error_and_leaves_the_session_open(tmp_path):
    """PyExtensionObjects.cpp, transmitFileCompletion: ExtensionError(pcb, ...), no DoneWithSession."""
    path = tmp_path / "f.txt"
    path.write_bytes(b"file")
    fd = os.open(path, os.O_RDONLY)
    ecb = FakeECB()
    try:
        ecb.TransmitFile(lambda *args: 1 / 0, None, fd, "200 OK", 0, 0, None, None, HSE_IO_ASYNC | HSE_IO_SEND_HEADERS)
        ecb.extension_returned(HSE_STATUS_PENDING)
        with pytest.raises(TimeoutError):
            ecb.wait(0.5)
    finally:
        os.close(fd)
    assert b"TransmitFile callback failed" in ecb.response.body and ecb.response.log_status == HSE_STATUS_ERROR


def test_extension_desc_refuses_none():
    """PyExtensionObjects.cpp, PyVERSION_INFO::setattro -> Utils.cpp, PyISAPIString_AsBytes: ValueError."""
    with pytest.raises(ValueError):
        FakeVersionInfo().ExtensionDesc = None


def test_extension_desc_is_stored_as_utf8():
    """Utils.cpp, PyISAPIString_AsBytes: a str is encoded as UTF-8."""
    info = FakeVersionInfo()
    info.ExtensionDesc = "café"
    assert info.ExtensionDesc == "café".encode()


def test_extension_desc_length_counts_encoded_bytes():
    """PyExtensionObjects.cpp, PyVERSION_INFO::setattro: the size checked is that of the UTF-8 bytes."""
    with pytest.raises(ValueError):
        FakeVersionInfo().ExtensionDesc = "é" * 129  # 129 characters, 258 bytes


def test_extension_desc_takes_256_bytes_and_no_more():
    """PyExtensionObjects.cpp, PyVERSION_INFO::setattro: ValueError only if size > HSE_MAX_EXT_DLL_NAME_LEN
    (256); it then strcpys the bytes and a NUL into IIS's CHAR[HSE_MAX_EXT_DLL_NAME_LEN]."""
    info = FakeVersionInfo()
    info.ExtensionDesc = b"a" * 256
    with pytest.raises(ValueError):
        info.ExtensionDesc = b"a" * 257
