"""WSGIExtension checks what the app hands start_response, as a WSGI server must, before any of it
reaches SendResponseHeaders (which pywin32 passes to IIS verbatim): anything that is not a valid
status line or header (RFC 9110), CR/LF injection above all, gets a clean 500."""

from __future__ import annotations

import pytest

from dualfilter.isapi import WSGIExtension
from dualfilter.isapi.testing import FakeECB, call_extension


def app_with(status, headers):
    def app(environ, start_response):
        start_response(status, headers)
        return [b"body"]

    return app


def serve(status, headers):
    return call_extension(WSGIExtension(app_with(status, headers), workers=0), FakeECB())


@pytest.mark.parametrize(
    "status",
    ["200 OK\r\nSet-Cookie: stolen=1", "200 OK\nSet-Cookie: stolen=1", "200 OK\rX", "2000 OK", "20 OK", "OK", "200 \x00"],
    ids=repr,
)
def test_invalid_status_gets_a_clean_500(status):
    response = serve(status, [("Content-Type", "text/plain")])
    assert response.status == 500 and response.header("Set-Cookie") is None and b"body" not in response.body


@pytest.mark.parametrize(
    "header",
    [
        ("X-A", "1\r\nSet-Cookie: stolen=1"),
        ("X-A", "1\nSet-Cookie: stolen=1"),
        ("X-A", "1\r"),
        ("X-A", "a\x00b"),
        ("X-A\r\nSet-Cookie", "stolen=1"),
        ("X A", "1"),
        ("", "1"),
        ("X-A:", "1"),
        ("X-A", "snow\u2603man"),
    ],
    ids=repr,
)
def test_invalid_header_gets_a_clean_500(header):
    response = serve("200 OK", [("Content-Type", "text/plain"), header])
    assert response.status == 500 and response.header("Set-Cookie") is None and b"body" not in response.body


def test_nothing_invalid_reaches_send_response_headers():
    ecb = FakeECB()
    call_extension(WSGIExtension(app_with("200 OK", [("X-A", "1\r\nX-B: 2")]), workers=0), ecb)
    assert b"X-B" not in ecb.response.raw_head


@pytest.mark.parametrize(
    "header",
    [("X-A", "a, b; q=0.5"), ("X-A", ""), ("X-A", "tab\there"), ("X-A", "caf\xe9"), ("x-lower_and.dots~", "1")],
    ids=repr,
)
def test_valid_headers_pass(header):
    response = serve("200 OK", [header])
    assert response.status == 200 and response.header(header[0]) == header[1].strip()


def test_status_with_a_latin1_reason_passes():
    assert serve("299 Caf\xe9", []).reason == "Caf\xe9"


@pytest.mark.parametrize(
    "header", [("Transfer-Encoding", "chunked"), ("Connection", "keep-alive"), ("Keep-Alive", "timeout=5"), ("Upgrade", "h2c")]
)
def test_a_hop_by_hop_header_from_the_app_gets_a_clean_500_as_on_wsgiref(header):
    # PEP 3333: framing and connection fields are the server's; IIS would send this one verbatim.
    response = serve("200 OK", [("Content-Type", "text/plain"), header])
    assert response.status == 500 and response.header(header[0]) is None and b"body" not in response.body
