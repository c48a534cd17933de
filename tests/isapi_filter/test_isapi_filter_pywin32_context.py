"""FakeFilterContext, FakeFilterVersion and FilterHost behave as pywin32 does, one fact per test.

Each docstring names the pywin32 source (``isapi/src/...``) and function the
fact is read from.
"""

from __future__ import annotations

import pytest
from filter_harness import html

from dualfilter.isapi.constants import (
    SF_NOTIFY_END_OF_NET_SESSION,
    SF_NOTIFY_END_OF_REQUEST,
    SF_NOTIFY_PREPROC_HEADERS,
    SF_NOTIFY_SEND_RAW_DATA,
    SF_STATUS_REQ_ERROR,
    SF_STATUS_REQ_NEXT_NOTIFICATION,
)
from dualfilter.isapi.testing import FakeFilterVersion, FilterHost

RAW = html()


class Probe:
    """A filter that runs ``action(fc)`` on every notification it asks for and keeps the results."""

    def __init__(self, action, flags=SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_END_OF_REQUEST, result=None):
        self.action, self.flags, self.result = action, flags, result
        self.seen = []
        self.terminated = False

    def GetFilterVersion(self, fv):
        fv.Flags = self.flags
        fv.FilterDesc = "probe"

    def HttpFilterProc(self, fc):
        self.seen.append(self.action(fc))
        return self.result

    def TerminateFilter(self, status):
        self.terminated = True


def run(probe, **options):
    with FilterHost(probe, raise_errors=options.pop("raise_errors", True)) as iis:
        return iis.request(response=options.pop("response", RAW), **options)


def on(kind, action):
    return lambda fc: action(fc) if fc.NotificationType == kind else None


def test_methods_take_no_keyword_arguments():
    """PyFilterObjects.cpp, PyHFC_methods: METH_VARARGS, parsed by PyArg_ParseTuple."""

    def keyword(fc):
        with pytest.raises(TypeError):
            fc.GetServerVariable(name="URL")
        return True

    probe = Probe(on(SF_NOTIFY_SEND_RAW_DATA, keyword))
    run(probe)
    assert True in probe.seen


def test_write_client_refuses_a_bytearray():
    """PyFilterObjects.cpp, PyHFC::WriteClient: format "s#" takes only read-only buffers."""

    def write(fc):
        with pytest.raises(TypeError):
            fc.WriteClient(bytearray(b"x"))
        return True

    probe = Probe(on(SF_NOTIFY_END_OF_REQUEST, write))
    run(probe)
    assert True in probe.seen


def test_write_client_returns_none():
    """PyFilterObjects.cpp, PyHFC::WriteClient: returns None, not a count (unlike the ECB's)."""
    probe = Probe(on(SF_NOTIFY_END_OF_REQUEST, lambda fc: ("called", fc.WriteClient(b""))))
    run(probe)
    assert ("called", None) in probe.seen


def test_add_response_headers_takes_a_str_only():
    """PyFilterObjects.cpp, PyHFC::AddResponseHeaders: parsed with "s"."""

    def add(fc):
        with pytest.raises(TypeError):
            fc.AddResponseHeaders(b"X-A: 1\r\n")
        return True

    probe = Probe(on(SF_NOTIFY_PREPROC_HEADERS, add), flags=SF_NOTIFY_PREPROC_HEADERS)
    run(probe)
    assert True in probe.seen


def test_members_are_signed_ints():
    """PyFilterObjects.cpp, PyHFC::members: NotificationType, Revision, fIsSecurePort are T_INT."""
    probe = Probe(lambda fc: (type(fc.NotificationType), type(fc.Revision), fc.fIsSecurePort))
    run(probe)
    assert probe.seen[0] == (int, int, 0)


def test_in_data_replacement_other_than_empty_is_refused():
    """PyFilterObjects.cpp, PyRAW_DATA::setattro: AllocMem'd, never copied: only b"" is safe."""

    def replace(fc):
        with pytest.raises(RuntimeError):
            fc.GetData().InData = b"other bytes"
        return True

    probe = Probe(on(SF_NOTIFY_SEND_RAW_DATA, replace))
    run(probe)
    assert True in probe.seen


def test_in_data_must_be_bytes():
    """PyFilterObjects.cpp, PyRAW_DATA::setattro: "InData must be a string" for anything but bytes."""

    def replace(fc):
        with pytest.raises(TypeError):
            fc.GetData().InData = ""
        return True

    probe = Probe(on(SF_NOTIFY_SEND_RAW_DATA, replace))
    run(probe)
    assert True in probe.seen


def test_get_data_raises_for_end_of_request():
    """PyFilterObjects.cpp, PyHFC::GetData: ValueError "Don't understand data of type"."""

    def data(fc):
        with pytest.raises(ValueError):
            fc.GetData()
        return True

    probe = Probe(on(SF_NOTIFY_END_OF_REQUEST, data))
    run(probe)
    assert True in probe.seen


def test_context_is_unusable_once_http_filter_proc_returned():
    """pyISAPI.cpp, HttpFilterProc: pyHFC->Reset() after the call (PyFilterObjects.h, PyHFC::Reset)."""
    probe = Probe(lambda fc: fc)
    run(probe)
    with pytest.raises(RuntimeError):
        probe.seen[0].WriteClient(b"late")


def test_members_still_read_once_http_filter_proc_returned():
    """PyFilterObjects.cpp, PyHFC::PyHFC: the T_INT members are copied when the object is made."""
    probe = Probe(lambda fc: fc)
    run(probe)
    assert probe.seen[0].NotificationType == SF_NOTIFY_SEND_RAW_DATA


def test_filter_context_survives_between_notifications_of_a_connection():
    """PyFilterObjects.cpp, PyHFC::setattro: FilterContext is held in pFilterContext."""

    def count(fc):
        fc.FilterContext = (fc.FilterContext or 0) + 1
        return fc.FilterContext

    probe = Probe(count)
    run(probe, splits=[10])
    assert probe.seen == [1, 2, 3, 4]


def test_end_of_net_session_is_added_to_the_flags():
    """pyISAPI.cpp, GetFilterVersion: pVer->dwFlags |= SF_NOTIFY_END_OF_NET_SESSION."""
    probe = Probe(lambda fc: fc.NotificationType)
    run(probe)
    assert probe.seen[-1] == SF_NOTIFY_END_OF_NET_SESSION


def test_terminate_filter_is_never_called():
    """pyISAPI.cpp, TerminateFilter: "this appears to never be called" (pywin32 bug 206)."""
    probe = Probe(lambda fc: None)
    run(probe)
    assert not probe.terminated


def test_a_returned_status_is_lost_on_success():
    """pyISAPI.cpp, HttpFilterProc: the inner ``DWORD action`` shadows the outer one returned."""
    probe = Probe(lambda fc: None, result=SF_STATUS_REQ_ERROR)
    response = run(probe)
    assert {(n.returned, n.result) for n in response.notifications} == {(SF_STATUS_REQ_ERROR, SF_STATUS_REQ_NEXT_NOTIFICATION)}


def test_a_raising_filter_reaches_iis_as_an_error():
    """pyISAPI.cpp, HttpFilterProc: FilterError(...) then action = SF_STATUS_REQ_ERROR (the outer one)."""

    def explode(fc):
        raise KeyError("boom")

    response = run(Probe(explode), raise_errors=False)
    assert response.notifications[0].result == SF_STATUS_REQ_ERROR and response.raw == b""


def test_filter_desc_refuses_none():
    """PyFilterObjects.cpp, PyFILTER_VERSION::setattro -> Utils.cpp, PyISAPIString_AsBytes: ValueError."""
    with pytest.raises(ValueError):
        FakeFilterVersion().FilterDesc = None


def test_filter_desc_takes_257_bytes_and_no_more():
    """PyFilterObjects.cpp, PyFILTER_VERSION::setattro: ValueError only if size > SF_MAX_FILTER_DESC_LEN
    (256+1); it then strcpys the bytes and a NUL into IIS's CHAR[SF_MAX_FILTER_DESC_LEN]."""
    version = FakeFilterVersion()
    version.FilterDesc = b"a" * 257
    with pytest.raises(ValueError):
        version.FilterDesc = "é" * 129  # 258 bytes of UTF-8


def test_filter_desc_reads_back_as_bytes():
    """PyFilterObjects.cpp, PyFILTER_VERSION::getattro: PyBytes_FromString."""
    version = FakeFilterVersion()
    version.FilterDesc = "filter"
    assert version.FilterDesc == b"filter"


def test_a_filter_refusing_to_load_is_not_loaded():
    """pyISAPI.cpp, GetFilterVersion: a false int result fails the load."""

    class Refuses(Probe):
        def GetFilterVersion(self, fv):
            return 0

    with pytest.raises(RuntimeError), FilterHost(Refuses(lambda fc: None)):
        pass
