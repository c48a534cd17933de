"""The environ a filter sees under the ISAPI filter matches the one it sees under WSGI and ASGI:
the same request headers, and none of those the filter removes (Range, If-Range, conditionals)."""

from __future__ import annotations

import anyio
import pytest
from filter_harness import html

from dualfilter import Filter
from dualfilter.isapi.testing import FilterHost
from tests.support.hardening_hosts import request_asgi, request_wsgi

PAGE = b"<html><body><p>page</p></body></html>"
HEADERS = [
    ("Accept", "text/html"),
    ("Accept-Language", "fr"),
    ("Range", "bytes=0-5"),
    ("If-Range", '"v1"'),
    ("If-None-Match", '"v1"'),
    ("If-Modified-Since", "Mon, 30 Nov 2026 00:00:00 GMT"),
    ("X-Custom", "yes"),
]
CGI_KEYS = ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_LENGTH")


class Recording(Filter):
    seen: dict = {}

    def filter(self, environ, headers, data):
        keys = {key: environ[key] for key in environ if key.startswith("HTTP_") and key != "HTTP_HOST"}
        keys.update({key: environ.get(key) or None for key in CGI_KEYS})
        Recording.seen = keys
        return data


def wsgi_page(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(PAGE)))])
    return [PAGE]


async def asgi_page(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": PAGE})


def seen_under(host: str, flt: Filter, **options) -> dict:
    Recording.seen = {}
    if host == "wsgi":
        request_wsgi(flt.wsgi(wsgi_page), "GET", "/page", HEADERS)
    elif host == "asgi":
        anyio.run(request_asgi, flt.asgi(asgi_page), "GET", "/page", HEADERS)
    else:
        with FilterHost(flt.isapi_filter(**options)) as iis:
            iis.request("GET", "/page", response=html(PAGE), headers=HEADERS)
    return Recording.seen


@pytest.mark.parametrize("force_no_conditional", [True, False])
@pytest.mark.parametrize("strip_request_headers", [True, False])
def test_isapi_filter_environ_matches_wsgi_and_asgi(force_no_conditional, strip_request_headers):
    flt = Recording(force_no_conditional=force_no_conditional)
    wsgi, asgi = seen_under("wsgi", flt), seen_under("asgi", flt)
    isapi = seen_under("isapi", flt, strip_request_headers=strip_request_headers)
    assert wsgi == asgi == isapi and "HTTP_X_CUSTOM" in isapi


@pytest.mark.parametrize("strip_request_headers", [True, False])
def test_the_isapi_filter_environ_shows_the_range_the_client_sent_though_the_site_never_sees_it(strip_request_headers):
    isapi = seen_under("isapi", Recording(), strip_request_headers=strip_request_headers)
    assert "HTTP_RANGE" in isapi and "HTTP_IF_RANGE" in isapi
