"""Request headers longer than pywin32 reads of a server variable: 16 KiB, its terminating
NUL counted (PyExtensionObjects.cpp and PyFilterObjects.cpp, GetServerVariable: an 8 KiB
buffer, then one of 16 KiB; the failed try sets the size to 0, so the next reallocation is
to nothing and pywin32 raises MemoryError, whatever default was given). IIS lets a site take
such headers (large cookies, Kerberos tokens). The doubles hold to that, and every IIS mode
serves the request: a filter reads the headers it can one by one; WSGIExtension, whose app
would miss some of its request, answers 431 (RFC 6585 section 5)."""

from __future__ import annotations

import logging

import pytest

from dualfilter import Filter
from dualfilter.isapi.constants import HSE_STATUS_SUCCESS, SF_NOTIFY_PREPROC_HEADERS, SF_STATUS_REQ_NEXT_NOTIFICATION
from dualfilter.isapi.extension.wsgi_extension import WSGIExtension
from dualfilter.isapi.testing import FakeECB, FakeFilterContext, FilterHost, Request, call_extension, raw_response

BIG_COOKIE = "session=" + "x" * 20000
PAGE = b"<p>hello</p>"


class Upper(Filter):
    def filter(self, environ, headers, data):
        seen.append(dict(environ))
        return data.upper()


seen: list[dict] = []


class Page:
    """An extension answering with the page, and noting the request headers it read."""

    def __init__(self) -> None:
        self.cookie = None

    def HttpExtensionProc(self, ecb):
        try:
            self.cookie = ecb.GetServerVariable("HTTP_COOKIE", None)
        except MemoryError as exc:  # as pywin32 tells the extension itself
            self.cookie = exc
        ecb.SendResponseHeaders("200 OK", f"Content-Type: text/html\r\nContent-Length: {len(PAGE)}\r\n\r\n", False)
        ecb.WriteClient(PAGE)
        return HSE_STATUS_SUCCESS


@pytest.fixture(autouse=True)
def _fresh():
    seen.clear()


def test_the_ecb_double_reads_up_to_16_kib_and_raises_memory_error_past_it():
    ecb = FakeECB(headers=[("X-Mid", "m" * 12000), ("X-Edge", "e" * 16383), ("X-Over", "o" * 16384)])
    assert ecb.GetServerVariable("HTTP_X_MID") == b"m" * 12000  # past the first 8 KiB buffer: read again
    assert ecb.GetServerVariable("HTTP_X_EDGE") == b"e" * 16383  # with its NUL, 16 KiB exactly
    for default in ((), (None,)):
        with pytest.raises(MemoryError):
            ecb.GetServerVariable("HTTP_X_OVER", *default)
    with pytest.raises(MemoryError):  # UTF-16 bytes count for a UNICODE_ name: 2 for each character
        FakeECB(path="/" + "p" * 8191).GetServerVariable("UNICODE_URL")
    assert FakeECB(path="/" + "p" * 8190).GetServerVariable("UNICODE_URL") == "/" + "p" * 8190


def test_the_filter_context_double_raises_memory_error_past_16_kib():
    class Probe:
        def GetFilterVersion(self, fv):
            fv.Flags = SF_NOTIFY_PREPROC_HEADERS

        def HttpFilterProc(self, fc):
            if fc.NotificationType != SF_NOTIFY_PREPROC_HEADERS:
                return SF_STATUS_REQ_NEXT_NOTIFICATION
            assert isinstance(fc, FakeFilterContext)
            with pytest.raises(MemoryError):
                fc.GetServerVariable("ALL_HTTP", None)
            probed.append(fc.GetServerVariable("HTTP_HOST"))
            return SF_STATUS_REQ_NEXT_NOTIFICATION

    probed: list = []
    with FilterHost(Probe()) as iis:
        iis.request(response=raw_response("200 OK", [("Content-Length", "0")]), headers=[("Cookie", BIG_COOKIE)])
    assert probed and probed[0]


def test_a_filtered_extension_serves_a_request_with_headers_longer_than_pywin32_reads(caplog):
    extension = Page()
    with caplog.at_level(logging.WARNING, logger="dualfilter"):
        response = call_extension(
            Upper.isapi(extension), FakeECB(headers=[("Cookie", BIG_COOKIE), ("Host", "shop.example"), ("Accept", "text/html")])
        )
    assert (response.status, response.body) == (200, PAGE.upper())
    assert isinstance(extension.cookie, MemoryError)  # the extension hears what pywin32 tells it
    environ = seen[0]
    assert (environ["HTTP_HOST"], environ["HTTP_ACCEPT"]) == ("shop.example", "text/html")  # read one by one
    assert "HTTP_COOKIE" not in environ  # too long even alone
    assert "longer than pywin32 reads" in caplog.text


def test_wsgi_extension_answers_431_without_calling_the_app():
    called = []

    def app(environ, start_response):
        called.append(environ)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    for method, body in (("GET", b"Request Header Fields Too Large\n"), ("HEAD", b"")):
        response = call_extension(WSGIExtension(app), FakeECB(method=method, headers=[("Cookie", BIG_COOKIE)]))
        assert (response.status, response.body) == (431, body)
    assert called == []
    ok = call_extension(WSGIExtension(app), FakeECB(headers=[("Cookie", "session=" + "x" * 12000)]))
    assert (ok.status, ok.body, len(called[0]["HTTP_COOKIE"])) == (200, b"ok", 12008)  # under 16 KiB: read whole


def test_filter_mode_filters_a_request_with_headers_longer_than_pywin32_reads():
    with FilterHost(Upper.isapi_filter()) as iis:
        response = iis.request(
            response=raw_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(PAGE)))], [PAGE]),
            headers=[("Cookie", BIG_COOKIE), ("Host", "shop.example")],
        )
    assert (response.status, response.body) == (200, PAGE.upper())
    assert seen[0]["HTTP_HOST"] == "shop.example"


def test_filter_mode_keeps_a_range_too_long_to_read_from_the_site():
    # Unread, it is still taken away: the site's 206 of the unfiltered page would skip the filter.
    long_range = "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(2000))
    assert len(long_range) > 16384
    site_saw = {}

    def site(ecb):
        site_saw["range"] = ecb.GetServerVariable("HTTP_RANGE", None)
        return raw_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(PAGE)))], [PAGE])

    with FilterHost(Upper.isapi_filter()) as iis:
        response = iis.request(response=site, headers=[("Range", long_range)])
    assert site_saw == {"range": None}
    assert (response.status, response.body) == (200, PAGE.upper())


def test_the_request_double_counts_what_iis_reports():
    variables = Request(headers=[("Cookie", BIG_COOKIE)]).server_variables()
    assert len(variables["HTTP_COOKIE"]) + 1 > 16384  # the case the tests above are about
