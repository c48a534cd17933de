"""What pywin32's objects do around the end of a request, and how the filter's proxy ECB
keeps a pywin32 extension whole there.

- ``PyECB::getattro`` reaches every attribute through the control block, which
  ``DoneWithSession`` sets to NULL: reading anything after it crashes pywin32 (the double
  raises), so the proxy answers ``HttpStatusCode`` from its own copy.
- ``ThreadPoolExtension.HandleDispatchError`` ends with ``ecb.DoneWithSession()`` in a
  ``finally``, also for an extension that ended its session and then raised; its worker
  thread runs with no ``try`` around the dispatch, so an error there ends the thread for
  good: through the proxy, that second call is logged and does nothing.
- ``PyISAPIString_AsBytes`` frees the UTF-8 copy of a str before pywin32 copies the
  description from it: dualfilter gives ``ExtensionDesc`` / ``FilterDesc`` as bytes.
"""

from __future__ import annotations

import logging

import pytest
from isapi_harness import HTML, PoolExtension, header_string

from dualfilter.isapi.extension.wsgi_extension import WSGIExtension
from dualfilter.isapi.testing import ExtensionHost, FakeECB, FakeFilterVersion, FakeVersionInfo, call_extension
from tests.support.filters import Upper


def test_a_pool_worker_survives_an_extension_that_ends_its_session_then_raises(caplog):
    def dispatch(ecb):
        ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML), ("Content-Length", "4")]), False)
        ecb.WriteClient(b"page")
        ecb.DoneWithSession()
        raise ValueError("after the session")  # HandleDispatchError then calls DoneWithSession again

    pool = PoolExtension(dispatch, workers=1)
    with caplog.at_level(logging.ERROR, logger="dualfilter"), ExtensionHost(Upper.isapi(pool)) as host:
        for _ in range(3):  # one worker: each request needs it alive
            response = call_extension(host.extension, FakeECB())
            assert (response.status, response.body) == (200, b"PAGE")
        assert all(thread.is_alive() for thread in pool.threads)
    assert "DoneWithSession called again after the session ended" in caplog.text


def test_the_proxy_answers_the_log_status_without_the_ended_real_session():
    read = []

    def dispatch(ecb):
        ecb.HttpStatusCode = 299
        ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML), ("Content-Length", "4")]), False)
        ecb.WriteClient(b"page")
        ecb.DoneWithSession()
        read.append(ecb.HttpStatusCode)  # the real ECB's session is over: pywin32 would crash reading it

    pool = PoolExtension(dispatch, workers=1)
    with ExtensionHost(Upper.isapi(pool)) as host:
        real = FakeECB()
        response = call_extension(host.extension, real)
    assert (response.status, response.body, read) == (200, b"PAGE", [299])
    with pytest.raises(RuntimeError):
        real.HttpStatusCode  # noqa: B018 (the double, as pywin32, after DoneWithSession)


class _Recording(FakeVersionInfo):
    __slots__ = ("given",)

    @FakeVersionInfo.ExtensionDesc.setter  # type: ignore[attr-defined]
    def ExtensionDesc(self, value):
        object.__setattr__(self, "given", value)
        FakeVersionInfo.ExtensionDesc.fset(self, value)


def test_descriptions_go_to_pywin32_as_bytes():
    version = _Recording()
    WSGIExtension(lambda environ, start_response: [], description="café shop").GetExtensionVersion(version)
    assert (version.given, version.ExtensionDesc) == ("café shop".encode(), "café shop".encode())
    filter_version = FakeFilterVersion()
    Upper.isapi_filter(description="café filter").GetFilterVersion(filter_version)
    assert filter_version.FilterDesc == "café filter".encode()


def test_the_double_takes_a_description_as_pywin32_encodes_it():
    with pytest.raises(UnicodeEncodeError):  # PyUnicode_AsUTF8String is strict
        FakeVersionInfo().ExtensionDesc = "lone \udc80 surrogate"
