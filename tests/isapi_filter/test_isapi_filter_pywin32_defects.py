"""Filter mode is correct with pywin32 as it is: results that never reach IIS, no TerminateFilter,
an InData that can only be emptied."""

from __future__ import annotations

import pytest
from filter_harness import UpperFilter, filtered, html, serve
from test_isapi_filter_errors import CLEAN_500, Broken, BrokenStreaming

from dualfilter.isapi.constants import SF_NOTIFY_END_OF_NET_SESSION, SF_NOTIFY_SEND_RAW_DATA
from dualfilter.isapi.testing import FakeFilterContext, FakeRawData, FilterHost, raw_response

CHUNKED = html(chunks=[b"<p>a</p>", b"<p>b</p>"], chunked=True)
CUT = raw_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", "100")], [b"<p>short</p>"])
CASES = {
    "filtered": (UpperFilter, html(), filtered(html())),
    "passed": (UpperFilter, raw_response("200 OK", [("Content-Type", "image/png")], [b"png"]), None),
    "failing filter": (Broken, html(), CLEAN_500),
    "stream failing midway": (BrokenStreaming, CHUNKED, None),
    "cut short by the site": (UpperFilter, CUT, None),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_the_client_gets_the_same_bytes_whether_or_not_results_reach_iis(case):
    flt, raw, expected = CASES[case]
    lost = serve(raw, splits=[30, 60], flt=flt)
    honoured = serve(raw, splits=[30, 60], flt=flt, results_reach_iis=True)
    assert lost.raw == honoured.raw
    if expected is not None:
        assert lost.raw == expected


def test_a_response_cut_short_never_looks_complete_when_the_connection_stays_open():
    response = serve(CHUNKED, flt=BrokenStreaming)
    assert not response.closed and response.status is None  # h11 sees an incomplete message


def test_filter_asks_for_end_of_net_session_itself():
    with FilterHost(UpperFilter.isapi_filter()) as iis:
        assert iis.version.Flags & SF_NOTIFY_END_OF_NET_SESSION


def test_connection_state_is_released_at_end_of_net_session_without_terminate_filter():
    with FilterHost(UpperFilter.isapi_filter()) as iis:
        connection = iis.connection()
        connection.request(response=html(), splits=[20])
        held = connection.filter_context
        connection.close()
    assert held is not None and connection.filter_context is None


def test_in_data_is_only_ever_emptied(monkeypatch):
    assigned = []
    original = FakeRawData.InData

    def record(self, value):
        assigned.append(value)
        original.fset(self, value)

    monkeypatch.setattr(FakeRawData, "InData", property(original.fget, record))
    for flt, raw, _ in CASES.values():
        serve(raw, splits=[30, 60], flt=flt)
    assert assigned and set(assigned) == {b""}


def test_replacement_bytes_go_out_through_write_client(monkeypatch):
    writes = []
    original = FakeFilterContext.WriteClient

    def record(self, data, reserved=0, /):
        writes.append(data)
        return original(self, data, reserved)

    monkeypatch.setattr(FakeFilterContext, "WriteClient", record)
    response = serve(html(), splits=[30], flt=UpperFilter)
    assert b"".join(writes) == response.raw == filtered(html())
    assert all(n.kind == SF_NOTIFY_SEND_RAW_DATA for n in response.notifications if n.nested)
