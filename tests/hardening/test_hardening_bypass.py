"""No bypass: nothing a client sends, and no way an app sends a filtered type, skips the filter.

Each test either sees the page filtered or sees no unfiltered body, on every
host. The apps honour what they are asked (WebOb's ``conditional_response``,
Starlette's ``FileResponse``, Django): the control tests show them answering
206 or 304 without the filter, so the filter is what stops it.
"""

from __future__ import annotations

import gzip
import socket

import pytest
from starlette.applications import Starlette
from starlette.responses import FileResponse, HTMLResponse, StreamingResponse
from starlette.routing import Route
from webob import Response

from tests.support.chain_hosts import wsgiref_serving
from tests.support.hardening_hosts import (
    HOSTS,
    HTML,
    Inner,
    Redact,
    fetch,
    fetch_wsgi_app,
    header,
    redact,
    request,
    wrap,
)

PAGE = b"<html><body><p>the secret</p></body></html>"
FILTERED = redact(PAGE)
ETAG = '"v1"'
LAST_MODIFIED = 1_700_000_000  # 2023-11-14
LATER = "Wed, 15 Nov 2023 00:00:00 GMT"


def webob_page(environ, start_response):
    """A WebOb page that answers Range with 206 and validators with 304, as WebOb does."""
    response = Response(PAGE, content_type="text/html", charset="utf-8", conditional_response=True)
    response.etag = "v1"
    response.last_modified = LAST_MODIFIED
    return response(environ, start_response)


def page(*headers: tuple[str, str], chunks: list[bytes] | None = None, method: str = "GET") -> Inner:
    """An HTML page with the secret, with ``headers`` after its Content-Type."""
    return Inner(200, "OK", [("Content-Type", HTML), *headers], chunks or [PAGE], method=method)


# -- Range, If-Range, If-None-Match, If-Modified-Since ----------------------------------------

CLIENT_HEADERS = {
    "range": [("Range", "bytes=0-9")],
    "if-range": [("Range", "bytes=0-9"), ("If-Range", ETAG)],
    "if-none-match": [("If-None-Match", ETAG)],
    "if-modified-since": [("If-Modified-Since", LATER)],
}
WITHOUT_FILTER = {"range": 206, "if-range": 206, "if-none-match": 304, "if-modified-since": 304}


@pytest.mark.parametrize("asked", list(CLIENT_HEADERS))
def test_without_the_filter_the_webob_app_answers_partial_or_not_modified(asked):
    assert request("wsgi", webob_page, headers=CLIENT_HEADERS[asked]).status == WITHOUT_FILTER[asked]


@pytest.mark.parametrize("asked", ["if-range", "if-none-match", "if-modified-since"])
@pytest.mark.parametrize("host", HOSTS)
def test_conditional_requests_made_before_the_filter_get_the_whole_filtered_page(host, asked):
    # The app's validators describe its unfiltered page: none of them may revalidate
    # or select a range of the filtered one (an If-Range never matches it).
    response = fetch_wsgi_app(host, Redact(), webob_page, headers=CLIENT_HEADERS[asked])
    assert (response.status, response.body) == (200, FILTERED)


@pytest.mark.parametrize("host", HOSTS)
def test_a_range_request_gets_that_range_of_the_filtered_page(host):
    response = fetch_wsgi_app(host, Redact(), webob_page, headers=CLIENT_HEADERS["range"])
    assert (response.status, response.body) == (206, FILTERED[:10])
    assert header(response, "content-range") == f"bytes 0-9/{len(FILTERED)}"


@pytest.fixture
def starlette_files(tmp_path):
    (tmp_path / "page.html").write_bytes(PAGE)

    async def file(request):
        return FileResponse(tmp_path / "page.html")

    return Starlette(routes=[Route("/page.html", file)])


def test_without_the_filter_starlette_answers_a_range_with_206(starlette_files):
    assert request("asgi", starlette_files, path="/page.html", headers=CLIENT_HEADERS["range"]).status == 206


def test_a_range_request_to_a_starlette_file_gets_that_range_of_the_filtered_page(starlette_files):
    app = wrap("asgi", Redact(), starlette_files)
    response = request("asgi", app, path="/page.html", headers=CLIENT_HEADERS["range"])
    assert (response.status, response.body) == (206, FILTERED[:10])
    assert header(response, "content-range") == f"bytes 0-9/{len(FILTERED)}"


def test_an_if_range_request_to_a_starlette_file_gets_the_whole_filtered_page(starlette_files):
    app = wrap("asgi", Redact(), starlette_files)
    response = request("asgi", app, path="/page.html", headers=CLIENT_HEADERS["if-range"])
    assert (response.status, response.body, header(response, "content-range")) == (200, FILTERED, None)


def test_a_range_request_to_a_starlette_file_the_filter_leaves_alone_gets_starlettes_own_206(tmp_path):
    (tmp_path / "data.bin").write_bytes(bytes(range(256)))

    async def file(request):
        return FileResponse(tmp_path / "data.bin", media_type="application/octet-stream")

    app = wrap("asgi", Redact(), Starlette(routes=[Route("/data.bin", file)]))
    response = request("asgi", app, path="/data.bin", headers=CLIENT_HEADERS["range"])
    assert (response.status, response.body) == (206, bytes(range(10)))


# -- HEAD ----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
def test_head_of_a_filtered_type_sends_no_body_even_when_the_app_does(host):
    # Django and Starlette's Response send the body on HEAD and leave it to the server.
    response = fetch(host, Redact(), page(("Content-Length", str(len(PAGE))), method="HEAD"))
    assert (response.status, response.body) == (200, b"")


@pytest.mark.parametrize("host", HOSTS)
def test_head_of_a_filtered_type_carries_no_length_or_validator_of_the_unfiltered_body(host):
    response = fetch(host, Redact(), page(("Content-Length", str(len(PAGE))), ("ETag", ETAG), method="HEAD"))
    assert (header(response, "content-length"), header(response, "etag")) == (None, None)


@pytest.mark.parametrize("host", HOSTS)
def test_head_headers_say_nothing_the_filtered_get_contradicts(host):
    inner = page(("Content-Length", str(len(PAGE))), ("ETag", ETAG), ("X-Kept", "yes"))
    got = fetch(host, Redact(), inner)
    head = fetch(host, Redact(), inner, method="HEAD")
    assert set(head.headers) <= set(got.headers) and ("x-kept", "yes") in head.headers


def test_head_of_a_starlette_page_sends_no_body_through_the_filter():
    async def home(request):
        return HTMLResponse(PAGE.decode())

    app = wrap("asgi", Redact(), Starlette(routes=[Route("/", home, methods=["GET", "HEAD"])]))
    assert request("asgi", app, method="HEAD").body == b""


def test_head_through_a_real_wsgiref_server_sends_no_unfiltered_body():
    # wsgiref writes whatever body the app gives, HEAD or not: the filter must hold it back.
    def page_on_any_method(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        return [PAGE]

    wire = b""
    with wsgiref_serving(wrap("wsgi", Redact(), page_on_any_method)) as address:
        with socket.create_connection(address, timeout=5) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\nHost: localhost\r\n\r\n")
            while data := sock.recv(65536):
                wire += data
    assert wire.startswith(b"HTTP/1.0 200") and b"secret" not in wire


# -- Content-Type forms ------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", ['TEXT/HTML; Charset="UTF-8"', "Text/Html", "text/html ; charset=utf-8", " text/html"])
@pytest.mark.parametrize("host", HOSTS)
def test_a_filtered_type_in_any_case_or_with_parameters_is_filtered(host, content_type):
    inner = Inner(200, "OK", [("Content-Type", content_type)], [PAGE])
    assert fetch(host, Redact(), inner).body == FILTERED


@pytest.mark.parametrize("host", HOSTS)
def test_a_filtered_first_content_type_decides_whatever_follows(host):
    inner = Inner(200, "OK", [("Content-Type", HTML), ("Content-Type", "application/json")], [PAGE])
    assert fetch(host, Redact(), inner).body == FILTERED


@pytest.mark.parametrize("host", HOSTS)
def test_a_second_content_type_naming_a_filtered_type_cannot_sneak_the_page_through(host):
    # Browsers read the last Content-Type of several: this one is rendered as HTML.
    inner = Inner(200, "OK", [("Content-Type", "application/json"), ("Content-Type", HTML)], [PAGE])
    assert fetch(host, Redact(), inner).body == FILTERED


@pytest.mark.parametrize("host", HOSTS)
def test_content_types_folded_into_one_line_are_read_like_two_headers(host):
    # RFC 9110 section 5.3: field lines may be combined with commas; browsers read the last item.
    inner = Inner(200, "OK", [("Content-Type", "application/json, text/html")], [PAGE])
    assert fetch(host, Redact(), inner).body == FILTERED


# -- compressed, streamed, written ---------------------------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
def test_a_gzipped_page_is_filtered_not_passed_on_compressed(host):
    inner = page(("Content-Encoding", "gzip"), chunks=[gzip.compress(PAGE)])
    response = fetch(host, Redact(), inner, headers=[("Accept-Encoding", "gzip")])
    assert gzip.decompress(response.body) == FILTERED


@pytest.mark.parametrize("host", HOSTS)
def test_a_second_content_encoding_header_cannot_hide_a_gzipped_page(host):
    # Clients apply every Content-Encoding listed ("gzip, identity" is gzip): so must the filter.
    inner = page(("Content-Encoding", "gzip"), ("Content-Encoding", "identity"), chunks=[gzip.compress(PAGE)])
    response = fetch(host, Redact(), inner)
    assert gzip.decompress(response.body) == FILTERED


@pytest.mark.parametrize("host", HOSTS)
def test_a_page_streamed_in_many_chunks_without_a_length_is_filtered(host):
    chunks = [PAGE[i : i + 3] for i in range(0, len(PAGE), 3)]
    response = fetch(host, Redact(), page(chunks=chunks))
    assert (response.body, header(response, "content-length")) == (FILTERED, str(len(FILTERED)))


def test_a_starlette_streaming_response_is_filtered():
    async def streamed(request):
        async def pieces():
            for i in range(0, len(PAGE), 5):
                yield PAGE[i : i + 5]

        return StreamingResponse(pieces(), media_type="text/html")

    app = wrap("asgi", Redact(), Starlette(routes=[Route("/", streamed)]))
    assert request("asgi", app).body == FILTERED


@pytest.mark.parametrize("mode", ["write", "write-then-iterable", "lazy-start"])
def test_a_wsgi_body_given_through_write_or_a_late_start_is_filtered(mode):
    chunks = [PAGE[:10], PAGE[10:20], PAGE[20:]]
    assert fetch("wsgi", Redact(), page(chunks=chunks), mode).body == FILTERED


# -- last review pass: an untyped partial, a type list through a chain -------------------------


def if_range_page(environ, start_response):
    """A page that answers Range with If-Range as RFC 9110 section 15.3.7 suggests: a 206
    without the representation's other headers (the client has them), so without a type."""
    if environ.get("HTTP_RANGE") and environ.get("HTTP_IF_RANGE") == ETAG:
        start_response("206 Partial Content", [("Content-Range", f"bytes 0-9/{len(PAGE)}"), ("ETag", ETAG)])
        return [PAGE[:10]]
    start_response("200 OK", [("Content-Type", "text/html"), ("ETag", ETAG)])
    return [PAGE]


@pytest.mark.parametrize("host", HOSTS)
def test_an_untyped_206_after_if_range_is_asked_again_for_the_whole_filtered_page(host):
    response = fetch_wsgi_app(host, Redact(), if_range_page, headers=[("Range", "bytes=0-9"), ("If-Range", ETAG)])
    assert (response.status, response.body) == (200, FILTERED)


class JSONOnly(Redact):
    filter_content_types = ("application/json",)


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize(
    "types",
    [[("Content-Type", "text/plain"), ("Content-Type", HTML)], [("Content-Type", f"text/plain, {HTML}")]],
    ids=["lines", "list"],
)
def test_a_chain_filters_a_page_whose_content_types_name_a_filtered_one_anywhere(host, types):
    from dualfilter import chain

    response = fetch(host, chain(Redact, JSONOnly)(), Inner(200, "OK", types, [PAGE]))
    assert response.body == FILTERED


SECRET_AT = PAGE.index(b"secret")
SECRET_RANGE = f"bytes={SECRET_AT}-{SECRET_AT + 5}"


def untyped_page(environ, start_response):
    """An untyped page (no Content-Type) that answers a Range with an untyped 206."""
    if environ.get("HTTP_RANGE") == SECRET_RANGE:
        start_response("206 Partial Content", [("Content-Range", f"bytes {SECRET_AT}-{SECRET_AT + 5}/{len(PAGE)}")])
        return [PAGE[SECRET_AT : SECRET_AT + 6]]
    start_response("200 OK", [])
    return [PAGE]


class RedactUntyped(Redact):
    def should_filter(self, environ, status, headers):
        return status == 200  # untyped pages too


@pytest.mark.parametrize("host", HOSTS)
def test_an_untyped_206_of_a_page_an_overridden_should_filter_takes_is_asked_again(host):
    # Asked again without its Range, the page is filtered and the range served from it: never b"secret".
    response = fetch_wsgi_app(host, RedactUntyped(), untyped_page, headers=[("Range", SECRET_RANGE)], validate=False)
    assert (response.status, response.body) == (206, FILTERED[SECRET_AT : SECRET_AT + 6])
    assert header(response, "content-range") == f"bytes {SECRET_AT}-{SECRET_AT + 5}/{len(FILTERED)}"


def ranges_any_method(environ, start_response):
    """A page that answers Range whatever the method (Bottle's static_file does)."""
    if environ.get("HTTP_RANGE") == SECRET_RANGE:
        headers = [("Content-Type", HTML), ("Content-Range", f"bytes {SECRET_AT}-{SECRET_AT + 5}/{len(PAGE)}")]
        start_response("206 Partial Content", headers)
        return [PAGE[SECRET_AT : SECRET_AT + 6]]
    start_response("200 OK", [("Content-Type", HTML)])
    return [PAGE]


@pytest.mark.parametrize("host", HOSTS)
@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_a_range_of_a_filtered_page_answered_to_an_unsafe_method_never_goes_out(host, method):
    # RFC 9110 section 14.2: the app should have ignored the Range; it cannot be asked again (unsafe).
    response = fetch_wsgi_app(host, Redact(), ranges_any_method, method=method, headers=[("Range", SECRET_RANGE)])
    assert response.status == 502 and b"secret" not in response.body


class RedactTyped(Redact):
    def should_filter(self, environ, status, headers):
        return status == 200 and (headers.get("Content-Type") or "").startswith("text/html")  # never untyped pages


@pytest.mark.parametrize("host", HOSTS)
def test_an_untyped_206_of_a_page_an_overridden_should_filter_leaves_alone_is_the_apps_own(host):
    response = fetch_wsgi_app(host, RedactTyped(), untyped_page, headers=[("Range", SECRET_RANGE)], validate=False)
    assert (response.status, response.body) == (206, PAGE[SECRET_AT : SECRET_AT + 6])
