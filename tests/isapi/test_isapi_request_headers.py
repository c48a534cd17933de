"""What the wrapped extension's server variables show of the request: all of it when first asked; no
range or conditional header, in any form, when asked again because its 206 may stand for a filtered page."""

from __future__ import annotations

import pytest
from isapi_harness import UpperFilter

from dualfilter.isapi import ExtensionError
from dualfilter.isapi.constants import HSE_STATUS_SUCCESS
from dualfilter.isapi.testing import FakeECB, call_extension

HEADERS = [("Range", "bytes=0-3"), ("If-None-Match", '"v1"'), ("Accept", "text/html")]


def inner_sees(read, **options):
    """What ``read(ecb)`` gives inside an extension wrapped in UpperFilter(**options) when it is
    asked again: its first answer, a 206 of an HTML page, may not reach the client."""
    seen = []

    class Ranged:
        def HttpExtensionProc(self, ecb):
            if len(seen) == 0 and ecb.GetServerVariable("HTTP_RANGE", None):
                seen.append("first")
                ecb.SendResponseHeaders("206 Partial Content", "Content-Type: text/html\r\nContent-Range: bytes 0-3/9\r\n\r\n")
                ecb.WriteClient(b"<p>a")
                return HSE_STATUS_SUCCESS
            seen.append(read(ecb))
            ecb.SendResponseHeaders("200 OK", "Content-Type: text/html\r\n\r\n")
            ecb.WriteClient(b"<p>abc</p>")
            return HSE_STATUS_SUCCESS

    ecb = FakeECB(headers=HEADERS)
    call_extension(UpperFilter.isapi(Ranged(), **options), ecb)
    assert seen[0] == "first" and len(seen) == 2
    return seen[1]


def test_the_extension_is_first_shown_the_request_as_the_client_sent_it():
    seen = []

    class Reader:
        def HttpExtensionProc(self, ecb):
            seen.append((ecb.GetServerVariable("HTTP_RANGE"), ecb.GetServerVariable("HTTP_IF_NONE_MATCH")))
            return HSE_STATUS_SUCCESS

    call_extension(UpperFilter.isapi(Reader()), FakeECB(headers=HEADERS))
    assert seen == [(b"bytes=0-3", b'"v1"')]


def test_range_variable_raises_like_an_absent_header():
    def read(ecb):
        with pytest.raises(ExtensionError):
            ecb.GetServerVariable("HTTP_RANGE")
        return True

    assert inner_sees(read)


def test_range_variable_with_default_gives_the_default():
    assert inner_sees(lambda ecb: ecb.GetServerVariable("HTTP_RANGE", None)) is None


@pytest.mark.parametrize("name", ["UNICODE_HTTP_RANGE", "HEADER_Range", "HTTP_IF_NONE_MATCH"])
def test_other_forms_of_removed_headers_are_hidden(name):
    assert inner_sees(lambda ecb: ecb.GetServerVariable(name, "absent")) == "absent"


def test_asked_again_the_extension_sees_no_conditional_header_either_way():
    assert inner_sees(lambda ecb: ecb.GetServerVariable("HTTP_IF_NONE_MATCH", "absent"), force_no_conditional=False) == "absent"


def test_all_http_lacks_the_removed_headers():
    assert inner_sees(lambda ecb: ecb.GetServerVariable("ALL_HTTP")) == b"HTTP_HOST:localhost\nHTTP_ACCEPT:text/html\n"


def test_all_raw_lacks_the_removed_headers():
    assert inner_sees(lambda ecb: ecb.GetServerVariable("UNICODE_ALL_RAW")) == "Host: localhost\r\nAccept: text/html\r\n"


def test_other_headers_are_untouched():
    assert inner_sees(lambda ecb: ecb.GetServerVariable("HTTP_ACCEPT")) == b"text/html"


def test_filter_environ_keeps_the_request_as_the_client_sent_it():
    seen = {}

    class Spy(UpperFilter):
        def filter(self, environ, headers, data):
            seen.update(environ)
            return data

    class Page:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", "Content-Type: text/html\r\n\r\n")
            return HSE_STATUS_SUCCESS

    call_extension(Spy.isapi(Page()), FakeECB(headers=HEADERS))
    assert seen["HTTP_RANGE"] == "bytes=0-3"


def test_if_none_match_in_several_raw_lines_is_translated_as_the_one_list_it_is():
    # RFC 9110 section 5.3: as IIS joins them in HTTP_IF_NONE_MATCH. Line by line, the
    # client's own "v2" would stand beside the derived tag's original and could revalidate.
    from dualfilter.isapi.extension.request_headers import RequestHeaders

    token = UpperFilter(force_no_conditional=False).etag_token
    headers = RequestHeaders((), token)
    raw = f'Host: x\r\nIf-None-Match: "v2"\r\nAccept: */*\r\nIf-None-Match: W/"v1-dfs{token}"\r\n'.encode()
    assert headers.strip_list("ALL_RAW", raw) == b'Host: x\r\nIf-None-Match: "v1"\r\nAccept: */*\r\n'
    all_http = f'HTTP_IF_NONE_MATCH:"v2"\nHTTP_IF_NONE_MATCH:W/"v1-dfs{token}"\n'
    assert headers.strip_list("ALL_HTTP", all_http) == 'HTTP_IF_NONE_MATCH:"v1"\n'
