"""The middleware in a Django project served by real servers: waitress (WSGI) and uvicorn (ASGI)."""

from __future__ import annotations

import logging
import socket

import django_middleware_project as project_module
import pytest
from django.core.asgi import get_asgi_application
from django.core.wsgi import get_wsgi_application
from django_middleware_project import BIG_PAGE, FILTER_MIDDLEWARE, HERE, PAGE, PIECES, Progress, UpperStream, project
from django_servers import TIMEOUT, Wire, dechunk, exchange, uvicorn_serving, waitress_serving

from dualfilter import Filter

UPPER = PAGE.upper().encode()
# Django's own warnings for an iterator served by a handler of the other kind (a file, a sync
# iterator, under ASGI; an async one under WSGI); not the filter's doing.
pytestmark = pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume")


class ServerFilter(Filter):
    """Upper-cases HTML as it streams; fails on a chunk holding BOOM, and at the start for ``?broken``."""

    def stream(self, environ, headers):
        if environ.get("QUERY_STRING") == "broken":
            raise RuntimeError("secret detail of a broken filter")
        return UpperStream(b"BOOM")


@pytest.fixture(scope="module", params=["waitress", "uvicorn"])
def served(request):
    """``(host name, port)`` of a real server running the project with the middleware."""
    with project([ServerFilter()]):
        if request.param == "waitress":
            with waitress_serving(get_wsgi_application()) as port:
                yield request.param, port
        else:
            with uvicorn_serving(get_asgi_application()) as port:
                yield request.param, port


@pytest.fixture
def progress():
    project_module.PROGRESS = Progress()
    return project_module.PROGRESS


def body_of(headers: dict[str, str], raw: bytes) -> bytes:
    if headers.get("transfer-encoding") == "chunked":
        payload, complete = dechunk(raw)
        assert complete
        return payload
    return raw


def test_a_filtered_page_arrives_with_the_content_length_of_its_body_on_the_wire(served):
    status, headers, body = Wire(served[1], "/html/").read_all()
    assert (status, body, headers["content-length"]) == (200, UPPER, str(len(UPPER)))


def test_a_binary_file_passes_through_intact(served):
    status, headers, body = Wire(served[1], "/binary/").read_all()
    assert (status, body_of(headers, body)) == (200, b"\x00<body>binary</body>" * 100)


def test_a_streamed_page_sends_its_first_chunk_before_the_view_goes_on(served, progress):
    path = "/gated/" if served[0] == "waitress" else "/agated/"  # Django under ASGI streams async iterators only
    wire = Wire(served[1], path)
    first = wire.read_until(PIECES[0].upper().encode())
    progress.gate.set()
    status, headers, body = wire.read_all()
    assert first and progress.gate_was_open
    assert (status, body_of(headers, body)) == (200, UPPER)


def test_a_filter_failing_at_the_start_gives_the_clean_500_on_the_wire(served, caplog):
    with caplog.at_level(logging.CRITICAL, "dualfilter"):
        status, headers, body = Wire(served[1], "/streamed/?broken").read_all()
    assert (status, body, headers["content-type"]) == (500, b"Internal Server Error\n", "text/plain; charset=utf-8")


def test_a_stream_failing_midway_leaves_the_response_visibly_cut_short(served, caplog):
    path = "/failing-stream/" if served[0] == "waitress" else "/afailing-stream/"
    with caplog.at_level(logging.CRITICAL):
        status, headers, body = Wire(served[1], path).read_all()
    assert status == 200 and b"BOOM" not in body
    assert headers.get("transfer-encoding") == "chunked"
    payload, complete = dechunk(body)
    assert payload.startswith(b"<P>ONE</P>") and not complete


@pytest.mark.parametrize("path", ["/big-file/", "/abig/"])
def test_a_streamed_page_of_several_chunks_arrives_whole_whatever_its_kind_of_iterator(served, path):
    status, headers, body = Wire(served[1], path).read_all()
    assert (status, body_of(headers, body)) == (200, BIG_PAGE.upper().encode())


def test_an_async_stream_arrives_whole_under_asgi_with_a_sync_middleware_below_the_filter():
    with project([ServerFilter()], middleware=[FILTER_MIDDLEWARE, f"{HERE}.sync_only"]):
        with uvicorn_serving(get_asgi_application()) as port:
            status, headers, body = Wire(port, "/abig/").read_all()
    assert (status, body_of(headers, body)) == (200, BIG_PAGE.upper().encode())


@pytest.mark.parametrize("path", ["/big-file/", "/abig/"])
def test_a_stream_arrives_whole_under_wsgi_with_an_async_only_middleware_below_the_filter(path):
    with project([ServerFilter()], middleware=[FILTER_MIDDLEWARE, f"{HERE}.async_only"]):
        with waitress_serving(get_wsgi_application()) as port:
            status, headers, body = Wire(port, path).read_all()
    assert (status, body_of(headers, body)) == (200, BIG_PAGE.upper().encode())


def test_the_views_own_304_for_a_page_not_filtered_goes_out_without_a_content_length(served):
    status, headers, body = exchange(served[1], "GET", "/tagged-png/", {"If-None-Match": '"v1"'})
    assert (status, body) == (304, b"")
    assert "content-length" not in dict(headers)


class UpperPage(Filter):
    def filter(self, environ, headers, data):
        return data.upper()


@pytest.mark.parametrize("flt", [UpperPage, ServerFilter], ids=["buffered", "streamed"])
def test_under_asgi_the_views_connection_close_stays_on_its_filtered_page_and_closes_it(flt):
    # The client asks to keep the connection: uvicorn closes it only because the view said so.
    with project([flt()]), uvicorn_serving(get_asgi_application()) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
            sock.sendall(b"GET /closing/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            received = bytearray()
            while chunk := sock.recv(65536):  # until the server closes (a timeout fails the test)
                received += chunk
    head, _, raw = bytes(received).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").lower().split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    assert lines[0].startswith("http/1.1 200") and headers["connection"] == "close"
    assert body_of(headers, raw) == UPPER
