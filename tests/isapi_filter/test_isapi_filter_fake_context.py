"""The test double keeps pywin32's HTTP_FILTER_CONTEXT contract: types, errors, lifetime, notifications."""

from __future__ import annotations

import pytest
from filter_harness import html

from dualfilter.isapi.constants import (
    HSE_STATUS_SUCCESS,
    HSE_STATUS_SUCCESS_AND_KEEP_CONN,
    SF_NOTIFY_END_OF_NET_SESSION,
    SF_NOTIFY_END_OF_REQUEST,
    SF_NOTIFY_ORDER_DEFAULT,
    SF_NOTIFY_PREPROC_HEADERS,
    SF_NOTIFY_SECURE_PORT,
    SF_NOTIFY_SEND_RAW_DATA,
    SF_STATUS_REQ_FINISHED,
    SF_STATUS_REQ_FINISHED_KEEP_CONN,
    SF_STATUS_REQ_NEXT_NOTIFICATION,
)
from dualfilter.isapi.errors import FilterError
from dualfilter.isapi.testing import FakeFilterVersion, FilterHost, extension_site, raw_response

RAW = html()


class Probe:
    """A filter that runs ``action(fc)`` on the notifications it asks for and keeps what it returns."""

    def __init__(self, action, flags=SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_END_OF_REQUEST, result=None):
        self.action = action
        self.flags = flags | SF_NOTIFY_ORDER_DEFAULT
        self.result = result
        self.seen = []

    def GetFilterVersion(self, fv):
        fv.Flags = self.flags
        fv.FilterDesc = "probe"

    def HttpFilterProc(self, fc):
        self.seen.append(self.action(fc))
        return self.result

    def TerminateFilter(self, status):
        pass


def run(probe, raw=RAW, splits=(), requests=1, results_reach_iis=False, **options):
    with (
        FilterHost(probe, results_reach_iis=results_reach_iis) as iis,
        iis.connection(https=options.pop("https", False)) as connection,
    ):
        responses = [connection.request(response=raw, splits=splits, **options) for _ in range(requests)]
    return responses[-1]


def raw_data_only(action):
    return lambda fc: action(fc) if fc.NotificationType == SF_NOTIFY_SEND_RAW_DATA else None


def test_in_data_is_the_bytes_iis_sends():
    probe = Probe(raw_data_only(lambda fc: fc.GetData().InData))
    run(probe, splits=[10])
    assert probe.seen[:2] == [RAW[:10], RAW[10:]]


def test_withholding_in_data_keeps_the_bytes_from_the_client():
    def withhold(fc):
        fc.GetData().InData = b""

    assert run(Probe(raw_data_only(withhold))).raw == b""


def test_in_data_must_be_bytes():
    def assign_str(fc):
        with pytest.raises(TypeError):
            fc.GetData().InData = "text"

    run(Probe(raw_data_only(assign_str)))


def test_a_non_empty_replacement_in_data_is_refused():
    # pywin32 allocates the new buffer but copies nothing into it.
    def replace(fc):
        with pytest.raises(RuntimeError):
            fc.GetData().InData = b"other"

    run(Probe(raw_data_only(replace)))


def test_get_data_for_end_of_request_raises_value_error():
    def get_data(fc):
        if fc.NotificationType == SF_NOTIFY_END_OF_REQUEST:
            with pytest.raises(ValueError):
                fc.GetData()

    run(Probe(get_data))


def test_server_variable_is_bytes():
    probe = Probe(raw_data_only(lambda fc: fc.GetServerVariable("REQUEST_METHOD")))
    run(probe)
    assert probe.seen[0] == b"GET"


def test_unicode_server_variable_is_str():
    probe = Probe(raw_data_only(lambda fc: fc.GetServerVariable("UNICODE_URL")))
    run(probe)
    assert probe.seen[0] == "/"


def test_unknown_server_variable_raises_filter_error():
    def unknown(fc):
        with pytest.raises(FilterError) as info:
            fc.GetServerVariable("HTTP_NOPE")
        return info.value.funcname

    probe = Probe(raw_data_only(unknown))
    run(probe)
    assert probe.seen[0] == "GetServerVariable"


def test_unknown_server_variable_with_default_returns_it():
    probe = Probe(raw_data_only(lambda fc: fc.GetServerVariable("HTTP_NOPE", "none")))
    run(probe)
    assert probe.seen[0] == "none"


def test_context_is_dead_after_http_filter_proc_returns():
    probe = Probe(lambda fc: fc)
    run(probe)
    with pytest.raises(RuntimeError):
        probe.seen[0].WriteClient(b"late")


def test_raw_data_object_is_dead_after_http_filter_proc_returns():
    probe = Probe(raw_data_only(lambda fc: fc.GetData()))
    run(probe)
    with pytest.raises(RuntimeError):
        probe.seen[0].InData  # noqa: B018


def test_filter_context_starts_as_none():
    probe = Probe(lambda fc: fc.FilterContext)
    run(probe)
    assert probe.seen[0] is None


def test_filter_context_is_kept_across_requests_on_a_connection():
    def count(fc):
        if fc.NotificationType == SF_NOTIFY_END_OF_REQUEST:
            fc.FilterContext = (fc.FilterContext or 0) + 1
            return fc.FilterContext

    probe = Probe(count)
    run(probe, requests=3)
    assert [n for n in probe.seen if n] == [1, 2, 3]


def test_filter_context_can_be_cleared_with_none():
    def clear(fc):
        fc.FilterContext = "x"
        fc.FilterContext = None
        return fc.FilterContext

    probe = Probe(clear)
    run(probe)
    assert probe.seen[0] is None


def test_notification_type_is_read_only():
    def assign(fc):
        with pytest.raises(AttributeError):
            fc.NotificationType = 1

    run(Probe(assign))


def test_secure_port_reflects_https():
    probe = Probe(lambda fc: fc.fIsSecurePort)
    run(probe, https=True)
    assert probe.seen[0] == 1


def test_secure_port_flag_limits_notifications_to_https_connections():
    probe = Probe(lambda fc: fc.NotificationType, flags=SF_NOTIFY_SEND_RAW_DATA | SF_NOTIFY_SECURE_PORT)
    run(probe)
    assert probe.seen == []


def test_write_client_is_shown_to_the_filter_as_raw_data():
    def write_once(fc):
        if fc.NotificationType == SF_NOTIFY_END_OF_REQUEST:
            fc.WriteClient(b"<!-- tail -->")
        elif fc.NotificationType == SF_NOTIFY_SEND_RAW_DATA:
            return fc.GetData().InData

    probe = Probe(write_once)
    response = run(probe)
    assert b"<!-- tail -->" in probe.seen and response.raw == RAW + b"<!-- tail -->"


def test_write_client_returns_none_and_takes_str_as_utf8():
    probe = Probe(lambda fc: fc.WriteClient("é") if fc.NotificationType == SF_NOTIFY_END_OF_REQUEST else None)
    response = run(probe)
    assert probe.seen[-1] is None and response.raw.endswith("é".encode())


def test_disable_notifications_lasts_for_the_rest_of_the_request_only():
    def disable(fc):
        if fc.NotificationType == SF_NOTIFY_SEND_RAW_DATA:
            fc.DisableNotifications(SF_NOTIFY_SEND_RAW_DATA)
        return fc.NotificationType

    probe = Probe(disable)
    run(probe, splits=[10, 20], requests=2)
    assert probe.seen == [SF_NOTIFY_SEND_RAW_DATA, SF_NOTIFY_END_OF_REQUEST] * 2 + [SF_NOTIFY_END_OF_NET_SESSION]


def test_add_response_headers_before_the_response_adds_them_to_its_head():
    def add(fc):
        if fc.NotificationType == SF_NOTIFY_PREPROC_HEADERS:
            fc.AddResponseHeaders("X-Added: yes\r\n")

    response = run(Probe(add, flags=SF_NOTIFY_PREPROC_HEADERS))
    assert response.header("X-Added") == "yes" and response.body == RAW.partition(b"\r\n\r\n")[2]


def test_add_response_headers_after_the_head_went_out_fails():
    def add(fc):
        if fc.NotificationType == SF_NOTIFY_END_OF_REQUEST:
            with pytest.raises(FilterError):
                fc.AddResponseHeaders("X-Late: yes\r\n")

    run(Probe(add))


def test_send_response_header_sends_a_status_line_from_the_filter():
    def deny(fc):
        fc.SendResponseHeader("403 Forbidden", None)

    probe = Probe(deny, flags=SF_NOTIFY_PREPROC_HEADERS, result=SF_STATUS_REQ_FINISHED_KEEP_CONN)
    response = run(probe, results_reach_iis=True)
    assert response.status == 403 and response.raw == b"HTTP/1.1 403 Forbidden\r\n\r\n"


def test_send_response_header_refuses_a_header_string_pywin32_cuts_on_64_bit_iis():
    # PyFilterObjects.cpp, SendResponseHeader: ServerSupportFunction(..., status, (DWORD)header, 0).
    refused = []

    def deny(fc):
        with pytest.raises(ValueError, match="32-bit DWORD"):
            fc.SendResponseHeader("403 Forbidden", "Content-Length: 0\r\n\r\n")
        refused.append(True)

    run(Probe(deny, flags=SF_NOTIFY_PREPROC_HEADERS))
    assert refused


def test_req_finished_closes_the_connection_with_end_of_net_session_once_results_reach_iis():
    probe = Probe(lambda fc: fc.NotificationType, flags=SF_NOTIFY_SEND_RAW_DATA, result=SF_STATUS_REQ_FINISHED)
    response = run(probe, results_reach_iis=True)
    assert response.closed and probe.seen[-1] == SF_NOTIFY_END_OF_NET_SESSION and response.raw == b""


def test_a_returned_status_does_not_reach_iis():
    """pyISAPI.cpp, HttpFilterProc: an inner ``DWORD action`` shadows the one returned, so on
    success IIS gets an uninitialised value; the double goes on as for NEXT_NOTIFICATION."""
    probe = Probe(lambda fc: fc.NotificationType, flags=SF_NOTIFY_SEND_RAW_DATA, result=SF_STATUS_REQ_FINISHED)
    response = run(probe)
    note = response.raw_data()[0]
    assert (note.returned, note.result) == (SF_STATUS_REQ_FINISHED, SF_STATUS_REQ_NEXT_NOTIFICATION)
    assert response.raw == RAW and not response.closed


def test_preproc_headers_reads_the_request_line():
    def url(fc):
        if fc.NotificationType == SF_NOTIFY_PREPROC_HEADERS:
            return fc.GetData().GetHeader("url")

    probe = Probe(url, flags=SF_NOTIFY_PREPROC_HEADERS)
    with FilterHost(probe) as iis:
        iis.request("GET", "/a/b", query_string="x=1", response=RAW)
    assert probe.seen[0] == b"/a/b?x=1"


def test_preproc_headers_set_header_to_empty_deletes_it():
    seen = {}

    def delete(fc):
        headers = fc.GetData()
        headers.SetHeader("X-Secret:", "")
        return headers.GetHeader("X-Secret:", None)

    def site(ecb):
        seen["variable"] = ecb.GetServerVariable("HTTP_X_SECRET", None)
        return RAW

    probe = Probe(delete, flags=SF_NOTIFY_PREPROC_HEADERS)
    with FilterHost(probe) as iis:
        iis.request(response=site, headers=[("X-Secret", "1")])
    assert probe.seen[0] is None and seen["variable"] is None


def test_preproc_header_names_end_with_a_colon():
    def set_bad(fc):
        with pytest.raises(FilterError):
            fc.GetData().SetHeader("X-No-Colon", "1")

    run(Probe(set_bad, flags=SF_NOTIFY_PREPROC_HEADERS))


def test_http_filter_proc_returning_none_means_next_notification():
    assert {n.result for n in run(Probe(lambda fc: None)).notifications} == {SF_STATUS_REQ_NEXT_NOTIFICATION}


def test_an_exception_from_http_filter_proc_is_raised_after_the_request():
    def explode(fc):
        raise KeyError("boom")

    with pytest.raises(KeyError):
        run(Probe(explode))


def test_filter_version_flags_must_be_an_int():
    with pytest.raises(ValueError):
        FakeFilterVersion().Flags = "0x400"


def test_filter_description_has_a_size_limit():
    with pytest.raises(ValueError):
        FakeFilterVersion().FilterDesc = "x" * 300


def test_raw_response_builds_a_chunked_response():
    assert (
        raw_response("200 OK", [], [b"ab"], chunked=True)
        == b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
    )


class OwnChunks:
    """An extension that streams as docs/iis.md says one must: framing its body in chunks itself."""

    def HttpExtensionProc(self, ecb):
        ecb.SendResponseHeaders("200 OK", "Content-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n", True)
        for piece in (b"<p>one</p>", b"<p>two</p>"):
            ecb.WriteClient(b"%x\r\n%s\r\n" % (len(piece), piece))
        ecb.WriteClient(b"0\r\n\r\n")
        return HSE_STATUS_SUCCESS_AND_KEEP_CONN


class UntilClose:
    """An extension that streams without framing, its body ended by the connection (keepAlive False)."""

    def __init__(self, status="200 OK"):
        self.status = status

    def HttpExtensionProc(self, ecb):
        ecb.SendResponseHeaders(self.status, "Content-Type: text/html\r\n\r\n", False)
        if self.status.startswith("200"):
            ecb.WriteClient(b"<p>one</p>")
            ecb.WriteClient(b"<p>two</p>")
        return HSE_STATUS_SUCCESS


def test_extension_site_sends_what_the_extension_wrote_its_own_chunks_included():
    site = extension_site(OwnChunks())
    with FilterHost(Probe(lambda fc: None)) as iis, iis.connection() as connection:
        first = connection.request("GET", "/", response=site)
        second = connection.request("GET", "/", response=site)  # keepAlive True: the connection stays
    expected = b"a\r\n<p>one</p>\r\na\r\n<p>two</p>\r\n0\r\n\r\n"
    assert first.raw.endswith(b"\r\n\r\n" + expected) and first.raw.count(b"chunked") == 1
    assert (first.body, second.body, first.closed) == (b"<p>one</p><p>two</p>",) * 2 + (False,)


def test_extension_site_ends_an_unframed_body_with_the_connection():
    with FilterHost(Probe(lambda fc: None)) as iis, iis.connection() as connection:
        response = connection.request("GET", "/", response=extension_site(UntilClose()))
    assert response.body == b"<p>one</p><p>two</p>" and response.header("Transfer-Encoding") is None
    assert response.closed and connection.closed


def test_extension_site_sends_a_304_without_a_body():
    with FilterHost(Probe(lambda fc: None)) as iis:
        response = iis.request("GET", "/", response=extension_site(UntilClose("304 Not Modified")))
    assert response.status == 304 and response.raw.endswith(b"Content-Type: text/html\r\n\r\n")
