"""A TransmitFile completion callback gets an ECB it can use and close, filtered extension or not.

pywin32 hands the callback a new ECB object for the request
(PyExtensionObjects.cpp, transmitFileCompletion); IIS keeps the request
until the file is sent, whether HttpExtensionProc returned
HSE_STATUS_PENDING or, as pywin32's samples/test.py does, HSE_STATUS_SUCCESS.
"""

from __future__ import annotations

import os

import pytest
from isapi_harness import UpperFilter

from dualfilter.isapi.constants import (
    HSE_IO_ASYNC,
    HSE_IO_DISCONNECT_AFTER_SEND,
    HSE_IO_SEND_HEADERS,
    HSE_STATUS_PENDING,
    HSE_STATUS_SUCCESS,
)
from dualfilter.isapi.testing import FakeECB, call_extension

FILE = b"print('a python source file')\n"


class SendsItsFile:
    """Sends a file with TransmitFile; the callback writes a trailer and closes the session."""

    def __init__(self, fd: int, result: int) -> None:
        self.fd, self.result = fd, result
        self.callback_ecbs: list = []

    def callback(self, ecb, param, cbIO, error):
        self.callback_ecbs.append(ecb)
        ecb.WriteClient(b"# sent\n")
        ecb.close()

    def HttpExtensionProc(self, ecb):
        flags = HSE_IO_ASYNC | HSE_IO_DISCONNECT_AFTER_SEND | HSE_IO_SEND_HEADERS
        ecb.TransmitFile(self.callback, None, self.fd, "200 OK", 0, 0, "Content-Type: text/plain\r\n\r\n", None, flags)
        return self.result


@pytest.fixture
def fd(tmp_path):
    path = tmp_path / "script.py"
    path.write_bytes(FILE)
    handle = os.open(path, os.O_RDONLY)
    yield handle
    os.close(handle)


@pytest.mark.parametrize("result", [HSE_STATUS_SUCCESS, HSE_STATUS_PENDING], ids=["success", "pending"])
def test_callback_can_write_and_close_unwrapped(fd, result):
    extension = SendsItsFile(fd, result)
    response = call_extension(extension, FakeECB())
    assert (response.body, response.done_status) == (FILE + b"# sent\n", HSE_STATUS_SUCCESS)


@pytest.mark.parametrize("result", [HSE_STATUS_SUCCESS, HSE_STATUS_PENDING], ids=["success", "pending"])
def test_callback_can_write_and_close_under_a_filter(fd, result):
    extension = SendsItsFile(fd, result)
    response = call_extension(UpperFilter.isapi(extension), FakeECB())
    assert (response.body, response.done_status) == (FILE + b"# sent\n", HSE_STATUS_SUCCESS)
    assert response.header("Content-Type") == "text/plain"


def test_callback_ecb_is_dead_once_it_closed_the_session_under_a_filter(fd):
    extension = SendsItsFile(fd, HSE_STATUS_SUCCESS)
    call_extension(UpperFilter.isapi(extension), FakeECB())
    with pytest.raises(RuntimeError):
        extension.callback_ecbs[0].WriteClient(b"after close")
