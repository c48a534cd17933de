"""Compressed responses: decoded, filtered, re-encoded with the same coding, on every host.

Real compressing apps (Starlette's GZipMiddleware inside the filter, Django's
GZipMiddleware, WebOb's ``encode_content``) and a plain app for each coding.
The client's Accept-Encoding reaches the app as sent; a coding the process
cannot decode passes through untouched, with a warning.
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib

import brotli
import pytest
import zstandard
from starlette.applications import Starlette
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import HTMLResponse, StreamingResponse
from starlette.routing import Route
from webob import Request, Response

from dualfilter import Filter
from tests.support.django_project import HTML_PAGE
from tests.support.hardening_hosts import (
    HOSTS,
    HTML,
    Inner,
    Redact,
    django_app,
    fetch,
    fetch_wsgi_app,
    header,
    redact,
    request,
    wrap,
)

PAGE = b"<html><body>" + b"<p>the secret, and more to compress</p>" * 40 + b"</body></html>"
FILTERED = redact(PAGE)

ENCODE = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}
DECODE = {
    "gzip": gzip.decompress,
    "deflate": zlib.decompress,
    "br": brotli.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
}


def compressed(coding: str, body: bytes = PAGE, content_type: str = HTML) -> Inner:
    """A response of ``body`` in ``coding``, sent in three chunks, with its Content-Length."""
    encoded = ENCODE[coding](body)
    third = len(encoded) // 3 + 1
    chunks = [encoded[i : i + third] for i in range(0, len(encoded), third)]
    headers = [("Content-Type", content_type), ("Content-Encoding", coding), ("Content-Length", str(len(encoded)))]
    return Inner(200, "OK", headers, chunks)


@pytest.mark.parametrize("coding", list(ENCODE))
@pytest.mark.parametrize("host", HOSTS)
def test_a_compressed_page_is_filtered_and_sent_in_its_own_coding(host, coding):
    response = fetch(host, Redact(), compressed(coding))
    assert header(response, "content-encoding") == coding
    assert DECODE[coding](response.body) == FILTERED


@pytest.mark.parametrize("coding", list(ENCODE))
@pytest.mark.parametrize("host", HOSTS)
def test_a_recompressed_page_has_the_content_length_of_its_new_bytes(host, coding):
    response = fetch(host, Redact(), compressed(coding))
    assert header(response, "content-length") == str(len(response.body))


@pytest.mark.parametrize("host", HOSTS)
def test_a_compressed_type_that_is_not_filtered_keeps_its_bytes(host):
    inner = compressed("gzip", b'{"secret": 1}', "application/json")
    assert fetch(host, Redact(), inner).body == b"".join(inner.chunks)


@pytest.mark.parametrize("host", HOSTS)
def test_an_unknown_coding_passes_through_untouched(host):
    inner = Inner(200, "OK", [("Content-Type", HTML), ("Content-Encoding", "x-custom")], [b"\x00secret\xff"])
    response = fetch(host, Redact(), inner)
    assert (response.body, header(response, "content-encoding")) == (b"\x00secret\xff", "x-custom")


@pytest.mark.parametrize("host", HOSTS)
def test_an_unknown_coding_is_logged_as_a_warning_naming_the_filter_and_coding(host, caplog):
    inner = Inner(200, "OK", [("Content-Type", HTML), ("Content-Encoding", "x-custom")], [b"<p>x</p>"])
    with caplog.at_level(logging.WARNING, logger="dualfilter"):
        fetch(host, Redact(), inner)
    warnings = [r.getMessage() for r in caplog.records if r.name == "dualfilter" and r.levelno == logging.WARNING]
    assert any("Redact" in message and "x-custom" in message for message in warnings), warnings


class Uncompress(Filter):
    """A filter that sends the page it edits without the app's compression."""

    def filter(self, environ, headers, data):
        del headers["Content-Encoding"]
        return redact(data)


class Recode(Filter):
    """A filter that names another coding for the page it edits."""

    coding = "br"

    def filter(self, environ, headers, data):
        headers["Content-Encoding"] = self.coding
        return redact(data)


@pytest.mark.parametrize("host", HOSTS)
def test_a_filter_dropping_the_content_encoding_sends_the_page_uncoded(host):
    response = fetch(host, Uncompress(), compressed("gzip"))
    assert header(response, "content-encoding") is None
    assert response.body == FILTERED
    assert header(response, "content-length") == str(len(FILTERED))


@pytest.mark.parametrize("host", HOSTS)
def test_a_filter_naming_another_coding_gets_its_page_in_that_coding(host):
    response = fetch(host, Recode(), compressed("gzip"))
    assert header(response, "content-encoding") == "br"
    assert brotli.decompress(response.body) == FILTERED


class CodeText(Filter):
    """A text filter that names a coding for a page the app sent uncoded."""

    decode_unicode = True

    def filter(self, environ, headers, data):
        headers["Content-Encoding"] = "gzip"
        return data.replace("secret", "[redacted]")


class CodeStream(Filter):
    """A streaming filter that names a coding: a stream is not compressed."""

    class Echo:
        def feed(self, data):
            return data

        def finish(self):
            return b""

    def stream(self, environ, headers):
        headers["Content-Encoding"] = "gzip"
        return self.Echo()


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize(
    ("flt", "expected"),
    [(Recode(coding="gzip"), FILTERED), (CodeText(), PAGE.replace(b"secret", b"[redacted]"))],
    ids=["bytes", "text"],
)
def test_a_filter_naming_a_coding_for_an_uncoded_page_gets_its_page_in_that_coding(host, flt, expected):
    # RFC 9110 section 8.4: Content-Encoding names the codings applied to the content.
    inner = Inner(200, "OK", [("Content-Type", HTML), ("Content-Length", str(len(PAGE)))], [PAGE])
    response = fetch(host, flt, inner)
    assert header(response, "content-encoding") == "gzip"
    assert gzip.decompress(response.body) == expected
    assert header(response, "content-length") == str(len(response.body))


@pytest.mark.parametrize("host", HOSTS)
def test_a_filter_naming_a_coding_it_cannot_apply_to_an_uncoded_page_gives_the_clean_500(host, caplog):
    inner = Inner(200, "OK", [("Content-Type", HTML)], [PAGE])
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        response = fetch(host, Recode(coding="x-custom"), inner)
    assert response.status == 500
    assert "Content-Encoding x-custom, which cannot be applied" in caplog.text


@pytest.mark.parametrize("host", HOSTS)
def test_a_stream_naming_a_coding_gives_the_clean_500(host, caplog):
    inner = Inner(200, "OK", [("Content-Type", HTML)], [PAGE])
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        response = fetch(host, CodeStream(), inner)
    assert response.status == 500
    assert b"secret" not in response.body
    assert "cannot be given a Content-Encoding" in caplog.text


@pytest.mark.parametrize("host", HOSTS)
def test_a_filter_naming_a_coding_that_cannot_be_applied_gives_the_clean_500(host, caplog):
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        response = fetch(host, Recode(coding="x-custom"), compressed("gzip"))
    assert response.status == 500
    assert "Content-Encoding x-custom, which cannot be applied" in caplog.text


@pytest.mark.parametrize("host", HOSTS)
def test_a_zstd_body_cut_short_gives_the_clean_500_not_an_empty_page(host, caplog):
    inner = compressed("zstd")
    whole = b"".join(inner.chunks)
    inner = Inner(200, "OK", [("Content-Type", HTML), ("Content-Encoding", "zstd")], [whole[:-8]])
    with caplog.at_level(logging.ERROR, logger="dualfilter"):
        assert fetch(host, Redact(), inner).status == 500
    assert "not valid zstd: truncated zstd stream" in caplog.text


@pytest.mark.parametrize("coding", list(ENCODE))
@pytest.mark.parametrize("host", HOSTS)
def test_an_empty_compressed_body_is_an_empty_page_in_every_coding(host, coding):
    inner = Inner(200, "OK", [("Content-Type", HTML), ("Content-Encoding", coding), ("Content-Length", "0")], [])
    response = fetch(host, Redact(), inner)
    assert response.status == 200
    assert DECODE[coding](response.body) == redact(b"")


def echo_accept_encoding(environ, start_response):
    """A WSGI app that reports the Accept-Encoding it was given, as JSON."""
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(environ.get("HTTP_ACCEPT_ENCODING")).encode()]


@pytest.mark.parametrize("host", HOSTS)
def test_accept_encoding_reaches_the_app_as_the_client_sent_it(host):
    sent = "br;q=1.0, gzip;q=0.8, zstd, *;q=0.1"
    response = fetch_wsgi_app(host, Redact(), echo_accept_encoding, headers=[("Accept-Encoding", sent)])
    assert json.loads(response.body) == sent


# -- real compressing apps --------------------------------------------------------------------


def starlette_gzipped(streamed: bool) -> Starlette:
    async def page(request):
        if not streamed:
            return HTMLResponse(PAGE.decode())

        async def pieces():
            for i in range(0, len(PAGE), 100):
                yield PAGE[i : i + 100]

        return StreamingResponse(pieces(), media_type="text/html")

    return Starlette(routes=[Route("/", page)])


@pytest.mark.parametrize("streamed", [False, True], ids=["html-response", "streaming-response"])
def test_starlette_gzip_middleware_inside_the_filter_gives_a_filtered_gzipped_page(streamed):
    app = wrap("asgi", Redact(), GZipMiddleware(starlette_gzipped(streamed), minimum_size=0))
    response = request("asgi", app, headers=[("Accept-Encoding", "gzip")])
    assert (header(response, "content-encoding"), gzip.decompress(response.body)) == ("gzip", FILTERED)
    assert header(response, "content-length") == str(len(response.body))


def test_starlette_gzip_middleware_compresses_only_because_accept_encoding_reached_it():
    app = wrap("asgi", Redact(), GZipMiddleware(starlette_gzipped(False), minimum_size=0))
    response = request("asgi", app)
    assert (header(response, "content-encoding"), response.body) == (None, FILTERED)


@pytest.mark.parametrize("host", HOSTS)
def test_a_django_page_gzipped_by_its_middleware_is_filtered_and_regzipped(host):
    app = wrap(host, Redact(), django_app(host, "django.middleware.gzip.GZipMiddleware"))
    path = "/astreamed/" if host == "asgi" else "/streamed/"  # each handler's own kind of stream
    response = request(host, app, path=path, headers=[("Accept-Encoding", "gzip")])
    assert header(response, "content-encoding") == "gzip"
    assert gzip.decompress(response.body) == redact(HTML_PAGE.encode())


def webob_gzipped(environ, start_response):
    """A WebOb page compressed by WebOb when the client accepts gzip."""
    response = Response(PAGE, content_type="text/html", charset="utf-8")
    if Request(environ).accept_encoding.acceptable_offers(["gzip"]):
        response.encode_content("gzip")
    return response(environ, start_response)


@pytest.mark.parametrize("host", HOSTS)
def test_a_webob_page_gzipped_by_webob_is_filtered_and_regzipped(host):
    response = fetch_wsgi_app(host, Redact(), webob_gzipped, headers=[("Accept-Encoding", "gzip")])
    assert (header(response, "content-encoding"), gzip.decompress(response.body)) == ("gzip", FILTERED)
    assert header(response, "content-length") == str(len(response.body))
