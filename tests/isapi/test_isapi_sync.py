"""A filtered extension that answers within HttpExtensionProc (SimpleExtension style)."""

from __future__ import annotations

import pytest
from isapi_harness import HTML, StaticExtension, UpperFilter, header_string, send

from dualfilter import Filter
from dualfilter.isapi import ExtensionError, FilterMiddleware
from dualfilter.isapi.constants import HSE_STATUS_ERROR, HSE_STATUS_SUCCESS, HSE_STATUS_SUCCESS_AND_KEEP_CONN
from dualfilter.isapi.testing import ExtensionHost, FakeECB, call_extension


def test_isapi_returns_the_isapi_middleware():
    assert isinstance(UpperFilter.isapi(StaticExtension()), FilterMiddleware)


def test_extension_object_is_detected_as_isapi():
    assert isinstance(UpperFilter(StaticExtension()), FilterMiddleware)


def test_filtered_response_has_the_new_body_and_length():
    response = call_extension(UpperFilter.isapi(StaticExtension([b"<p>a", b"b</p>"])), FakeECB())
    assert response.body == b"<P>AB</P>"
    assert response.header("Content-Length") == "9"


def test_filtered_response_goes_out_as_one_write():
    response = call_extension(UpperFilter.isapi(StaticExtension([b"<p>a", b"b</p>"])), FakeECB())
    assert response.writes == [b"<P>AB</P>"]


def test_unfiltered_type_passes_every_write_through_unchanged():
    inner = StaticExtension([b"ab", b"cd"], content_type="image/png")
    response = call_extension(UpperFilter.isapi(inner), FakeECB())
    assert response.writes == [b"ab", b"cd"] and response.header("Content-Type") == "image/png"


def test_status_and_reason_go_through():
    inner = StaticExtension(status="404 Gone Fishing", content_type="text/plain")
    response = call_extension(UpperFilter.isapi(inner), FakeECB())
    assert (response.status, response.reason) == (404, "Gone Fishing")


def test_keep_alive_flag_reaches_the_real_ecb():
    response = call_extension(UpperFilter.isapi(StaticExtension(keep_alive=True)), FakeECB())
    assert response.keep_alive is True


def test_result_of_the_inner_extension_is_returned():
    class KeepConn(StaticExtension):
        def HttpExtensionProc(self, ecb):
            super().HttpExtensionProc(ecb)
            return HSE_STATUS_SUCCESS_AND_KEEP_CONN

    assert UpperFilter.isapi(KeepConn()).HttpExtensionProc(FakeECB()) == HSE_STATUS_SUCCESS_AND_KEEP_CONN


def test_head_request_is_not_filtered_and_loses_its_length():
    inner = StaticExtension([], headers=[("Content-Length", "12")])
    response = call_extension(UpperFilter.isapi(inner), FakeECB("HEAD"))
    assert response.header("Content-Length") is None and response.status == 200


def test_body_inside_the_header_string_is_filtered():
    class Inline:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", "Content-Type: text/html\r\n\r\n<b>x</b>")
            return HSE_STATUS_SUCCESS

    assert call_extension(UpperFilter.isapi(Inline()), FakeECB()).body == b"<B>X</B>"


def test_str_written_by_print_is_utf8_as_pywin32_sends_it():
    class Printer:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", "Content-Type: text/html; charset=utf-8\r\n\r\n")
            print("<i>é</i>", file=ecb, end="")
            return HSE_STATUS_SUCCESS

    assert call_extension(UpperFilter.isapi(Printer()), FakeECB()).body == "<I>é</I>".encode()


def test_header_bytes_reach_the_client_as_the_inner_extension_wrote_them():
    class Latin1:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders(b"200 OK", b"Content-Type: text/html\r\nX-Name: caf\xe9\r\n\r\n")
            return HSE_STATUS_SUCCESS

    assert call_extension(UpperFilter.isapi(Latin1()), FakeECB()).header("X-Name") == "caf\xe9"


def test_str_header_string_is_utf8_on_the_wire_with_or_without_the_filter():
    inner = StaticExtension(headers=[("X-Name", "café")])
    unfiltered = call_extension(inner, FakeECB()).header("X-Name")
    assert call_extension(UpperFilter.isapi(inner), FakeECB()).header("X-Name") == unfiltered == "café".encode().decode("latin-1")


def test_failing_filter_gives_a_clean_500():
    class Broken(Filter):
        def filter(self, environ, headers, data):
            raise ValueError("nope")

    response = call_extension(Broken.isapi(StaticExtension()), FakeECB())
    assert response.status == 500 and response.header("Content-Type").startswith("text/plain")


def test_filter_sees_the_environ_from_server_variables():
    seen = {}

    class Spy(Filter):
        def filter(self, environ, headers, data):
            seen.update(environ)
            return data

    ecb = FakeECB("GET", "/page", "a=1")
    call_extension(Spy.isapi(StaticExtension()), ecb)
    assert (seen["PATH_INFO"], seen["QUERY_STRING"], seen["isapi.ecb"]) == ("/page", "a=1", ecb)


def test_output_before_headers_passes_through_raw():
    class Raw:
        def HttpExtensionProc(self, ecb):
            ecb.WriteClient(b"<p>raw</p>")
            return HSE_STATUS_SUCCESS

    response = call_extension(UpperFilter.isapi(Raw()), FakeECB())
    assert response.status is None and response.body == b"<p>raw</p>"


def test_second_send_response_headers_raises_extension_error_even_while_buffered():
    class Twice:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML)]))
            with pytest.raises(ExtensionError):
                ecb.SendResponseHeaders("200 OK", "\r\n")
            return HSE_STATUS_SUCCESS

    assert call_extension(UpperFilter.isapi(Twice()), FakeECB()).status == 200


def test_malformed_header_line_raises_extension_error():
    class Bad:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", "no colon here\r\n\r\n")
            return HSE_STATUS_SUCCESS

    with pytest.raises(ExtensionError):
        call_extension(UpperFilter.isapi(Bad()), FakeECB())


def test_proxy_is_dead_once_the_extension_returned():
    inner = StaticExtension()
    call_extension(UpperFilter.isapi(inner), FakeECB())
    with pytest.raises(RuntimeError, match="DoneWithSession"):
        inner.seen[0].WriteClient(b"late")


def test_inner_exception_propagates_and_sends_nothing_buffered():
    """The client gets pywin32's own error page (pyISAPI.cpp, HttpExtensionProc), not the half response."""

    class Fails:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", header_string([("Content-Type", HTML)]))
            ecb.WriteClient(b"<p>half")
            raise RuntimeError("crash")

    response = call_extension(UpperFilter.isapi(Fails()), FakeECB(), raise_errors=False)
    assert response.done_status == HSE_STATUS_ERROR and b"half" not in response.body.lower()
    assert response.body.startswith(b"<html><head><title>Python ISAPI Error")


def test_other_attributes_are_the_real_ecbs():
    seen = {}

    class Reader:
        def HttpExtensionProc(self, ecb):
            seen["method"], seen["body"], seen["conn"] = ecb.Method, ecb.ReadClient(), ecb.ConnID
            ecb.HttpStatusCode = 201
            return HSE_STATUS_SUCCESS

    ecb = FakeECB("POST", body=b"data", available=0)
    conn = ecb.ConnID
    response = call_extension(UpperFilter.isapi(Reader()), ecb)
    assert seen == {"method": b"POST", "body": b"data", "conn": conn} and response.log_status == 201


def test_load_and_unload_reach_the_inner_extension():
    inner = StaticExtension()
    with ExtensionHost(UpperFilter.isapi(inner)) as host:
        assert host.get().body == b"<P>HELLO</P>"
    assert inner.version_info.ExtensionDesc == b"static test extension" and inner.terminated == 2


def test_middleware_exposes_the_inner_extensions_attributes():
    assert UpperFilter.isapi(StaticExtension(status="201 Created")).status == "201 Created"


def test_async_def_filter_runs_to_completion():
    class AsyncUpper(Filter):
        async def filter(self, environ, headers, data):
            return data.upper()

    assert call_extension(AsyncUpper.isapi(StaticExtension()), FakeECB()).body == b"<P>HELLO</P>"


def test_oversize_response_gets_a_502_as_soon_as_it_is_too_large():
    inner = StaticExtension([b"<p>" + b"x" * 40, b"y" * 40, b"</p>"])
    ecb = FakeECB()
    response = call_extension(UpperFilter.isapi(inner, max_buffer_size=50), ecb)
    assert response.status == 502 and [name for name, _ in ecb.calls][:2] == ["SendResponseHeaders", "WriteClient"]


def test_oversize_pass_sends_the_response_unfiltered():
    inner = StaticExtension([b"<p>" + b"x" * 40, b"y" * 40, b"</p>"])
    response = call_extension(UpperFilter.isapi(inner, max_buffer_size=50, oversize="pass"), FakeECB())
    assert response.body == b"<p>" + b"x" * 40 + b"y" * 40 + b"</p>"


@pytest.mark.parametrize(
    "call",
    [
        lambda ecb: ecb.WriteClient(data=b"x"),
        lambda ecb: ecb.GetServerVariable(name="URL"),
        lambda ecb: ecb.SendResponseHeaders("200 OK", "\r\n", keepAlive=False),
        lambda ecb: ecb.DoneWithSession(status=HSE_STATUS_SUCCESS),
    ],
    ids=["WriteClient", "GetServerVariable", "SendResponseHeaders", "DoneWithSession"],
)
def test_proxy_methods_take_no_keywords_as_pywin32s_do(call):
    seen = []

    class Calls:
        def HttpExtensionProc(self, ecb):
            try:
                call(ecb)
            except TypeError:
                seen.append("TypeError")
            send(ecb, "200 OK", [("Content-Type", HTML)], [b"<p>x</p>"])
            return HSE_STATUS_SUCCESS

    call_extension(UpperFilter.isapi(Calls()), FakeECB())
    assert seen == ["TypeError"]
