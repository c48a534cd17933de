"""End to end: real WSGI servers on 127.0.0.1, real HTTP clients, the bytes on the wire."""

from __future__ import annotations

import socket

import httpx
import pytest
from wsgi_harness import HTML, wrap

from dualfilter import Filter
from tests.support.http_servers import waitress_serving, wsgiref_serving

PAGE_CHUNKS = [b"<html><body>", b"<p>on the wire</p>" * 50, b"</body></html>"]
BIG_CHUNK = bytes(range(256)) * 256  # 64 KiB
BIG_COUNT = 16  # 1 MiB


class WireFilter(Filter):
    """Upper-cases HTML; fails on a page that says boom."""

    def filter(self, environ, headers, data):
        if b"boom" in data:
            raise ValueError("boom")
        return data.upper()


def site(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/page":
        start_response("200 OK", [("Content-Type", HTML), ("Content-Length", str(sum(map(len, PAGE_CHUNKS))))])
        return list(PAGE_CHUNKS)
    if path == "/boom":
        start_response("200 OK", [("Content-Type", HTML)])
        return [b"<p>boom</p>"]
    if path == "/reset":  # a 205 with content, which it must not have (RFC 9110 section 15.3.6)
        start_response("205 Reset Content", [("Content-Type", HTML), ("Content-Length", "5")])
        return [b"reset"]
    if path == "/nothing":
        start_response("204 No Content", [("Content-Length", "0")])
        return []
    if path == "/unchanged":
        start_response("304 Not Modified", [("ETag", '"v1"')])
        return []
    if path == "/echo":  # reads the request content; answers a Range with its own 206
        content = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        page = b"<p>" + content + b"</p>"
        if environ.get("HTTP_RANGE") == "bytes=0-4":
            start_response("206 Partial Content", [("Content-Type", HTML), ("Content-Range", f"bytes 0-4/{len(page)}")])
            return [page[:5]]
        start_response("200 OK", [("Content-Type", HTML), ("Content-Length", str(len(page)))])
        return [page]
    if path == "/no-reason":
        start_response("299 ", [("Content-Type", HTML)])
        return [b"<p>x</p>"]

    def big():
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        for _ in range(BIG_COUNT):
            yield BIG_CHUNK

    return big()


APP = wrap(WireFilter, site, filter_all_status=True)
FILTERED_PAGE = b"".join(PAGE_CHUNKS).upper()


@pytest.fixture(scope="module")
def wsgiref_port():
    with wsgiref_serving(APP) as port:
        yield port


@pytest.fixture(scope="module")
def waitress_port():
    with waitress_serving(APP) as port:
        yield port


def fetch_raw(port: int, path: str, method: str = "GET", extra: str = "") -> tuple[str, dict[str, str], bytes]:
    """One HTTP/1.1 request on a fresh connection (``extra``: header lines); everything the server sent back."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n".encode())
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.lower(): value for name, value in (line.split(": ", 1) for line in lines)}
    return status, headers, body


def test_wsgiref_sends_a_filtered_page_whose_content_length_is_the_body_on_the_wire(wsgiref_port):
    status, headers, body = fetch_raw(wsgiref_port, "/page")
    assert status.split(" ", 1)[1] == "200 OK"
    assert body == FILTERED_PAGE
    assert int(headers["content-length"]) == len(body)


def test_wsgiref_sends_a_head_of_a_filtered_page_without_a_length_the_get_would_not_have(wsgiref_port):
    # RFC 9110 section 8.6: a HEAD's Content-Length, if any, is the GET's. The filtered
    # length is unknown without filtering, so none is sent (wsgiref would add 0 to an empty list).
    status, headers, body = fetch_raw(wsgiref_port, "/page", method="HEAD")
    assert status.split(" ", 1)[1] == "200 OK"
    assert headers.get("content-length") in (None, str(len(FILTERED_PAGE)))
    assert body == b""


def test_wsgiref_sends_a_204_without_content_length(wsgiref_port):
    status, headers, body = fetch_raw(wsgiref_port, "/nothing")
    assert (status.split(" ", 1)[1], body) == ("204 No Content", b"")
    assert "content-length" not in headers  # RFC 9110 section 8.6: never in a 204


def test_wsgiref_sends_a_304_without_a_length_of_its_own(wsgiref_port):
    status, headers, body = fetch_raw(wsgiref_port, "/unchanged")
    assert (status.split(" ", 1)[1], body, headers["etag"]) == ("304 Not Modified", b"", '"v1"')
    assert "content-length" not in headers


def test_wsgiref_sends_a_205_whose_length_says_no_content(wsgiref_port):
    status, headers, body = fetch_raw(wsgiref_port, "/reset")
    assert (status.split(" ", 1)[1], headers["content-length"], body) == ("205 Reset Content", "0", b"")


def test_a_status_without_a_reason_phrase_reaches_wsgiref_as_the_app_gave_it(wsgiref_port):
    status, headers, body = fetch_raw(wsgiref_port, "/no-reason")
    assert (status, body) == ("HTTP/1.0 299 ", b"<P>X</P>")


def test_wsgiref_sends_a_megabyte_passthrough_body_intact(wsgiref_port):
    response = httpx.get(f"http://127.0.0.1:{wsgiref_port}/big")
    assert response.content == BIG_CHUNK * BIG_COUNT


def test_waitress_sends_a_filtered_page_whose_content_length_is_the_body_on_the_wire(waitress_port):
    status, headers, body = fetch_raw(waitress_port, "/page")
    assert status == "HTTP/1.1 200 OK"
    assert body == FILTERED_PAGE
    assert int(headers["content-length"]) == len(body)
    assert "transfer-encoding" not in headers


def test_waitress_streams_a_megabyte_passthrough_body_intact(waitress_port):
    with httpx.stream("GET", f"http://127.0.0.1:{waitress_port}/big") as response:
        received = b"".join(response.iter_bytes())
    assert received == BIG_CHUNK * BIG_COUNT


def test_waitress_sends_the_clean_500_of_a_failed_filter(waitress_port):
    status, headers, body = fetch_raw(waitress_port, "/boom")
    assert status == "HTTP/1.1 500 Internal Server Error"
    assert body == b"Internal Server Error\n"
    assert int(headers["content-length"]) == len(body)


def test_filtered_pages_keep_their_length_on_a_kept_alive_connection(waitress_port):
    with httpx.Client(base_url=f"http://127.0.0.1:{waitress_port}") as client:
        bodies = [client.get("/page").content for _ in range(3)]
    assert bodies == [FILTERED_PAGE] * 3


@pytest.mark.parametrize("server", ["wsgiref", "waitress"])
def test_a_get_with_content_asked_again_gets_none_the_second_time_and_the_client_its_answer(server, wsgiref_port, waitress_port):
    # wsgiref's wsgi.input is the socket itself: reading the content again would wait for
    # bytes that never come. The second call is told there is none (docs/guarantees.md).
    port = wsgiref_port if server == "wsgiref" else waitress_port
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nRange: bytes=0-4\r\nContent-Length: 5\r\n\r\nhello"
        )
        received = bytearray()
        while chunk := sock.recv(65536):
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.split(b"\r\n", 1)[0].endswith(b"206 Partial Content")
    assert body == b"<P></P>"[:5] and b"content-range: bytes 0-4/7" in head.lower()


def test_a_304_that_stands_after_a_lazy_second_call_closes_it_and_gets_no_length_from_wsgiref():
    # Asked again for what may be a filtered page, the page is not (image/png): the first 304
    # stands, whole; the second answer, started lazily, is closed (PEP 3333) and read no further.
    closed: list[bool] = []

    class Later:
        def __init__(self, start_response):
            self.start_response, self.read = start_response, 0

        def __iter__(self):
            return self

        def __next__(self):
            if self.read == 0:
                self.start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", "20"), ("ETag", '"v1"')])
            if self.read >= 2:
                raise StopIteration
            self.read += 1
            return b"0123456789"

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        if environ.get("HTTP_IF_NONE_MATCH") == '"v1"':
            start_response("304 Not Modified", [("ETag", '"v1"')])  # a 304 need not name its type
            return []
        return Later(start_response)

    with wsgiref_serving(wrap(WireFilter, app)) as port:
        status, headers, body = fetch_raw(port, "/", extra='If-None-Match: "v1"\r\n')
    assert (status.split(" ", 1)[1], body, headers["etag"]) == ("304 Not Modified", b"", '"v1"')
    assert "content-length" not in headers
    assert closed == [True]


def test_a_304_that_stands_after_a_lazy_first_call_gets_no_length_from_wsgiref():
    def app(environ, start_response):  # a generator app: start_response comes as it is iterated
        if environ.get("HTTP_IF_NONE_MATCH") == '"v1"':
            start_response("304 Not Modified", [("ETag", '"v1"')])  # a 304 need not name its type
            yield b""
            return
        start_response("200 OK", [("Content-Type", "text/plain"), ("ETag", '"v1"'), ("Content-Length", "5")])
        yield b"hello"

    with wsgiref_serving(wrap(WireFilter, app)) as port:
        status, headers, body = fetch_raw(port, "/", extra='If-None-Match: "v1"\r\n')
    assert (status.split(" ", 1)[1], body, headers["etag"]) == ("304 Not Modified", b"", '"v1"')
    assert "content-length" not in headers  # RFC 9110 section 8.6: not 0 for a 5-byte page
