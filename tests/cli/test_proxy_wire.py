"""``dualfilter proxy`` on the wire, run as users run it: raw requests the proxy answers
itself, and how the upstream's framing reaches clients of either HTTP/1 version."""

from __future__ import annotations

import json
import socket
import struct
import time

import pytest

from tests.cli.upstream import Recorder
from tests.cli.wire import connection, exchange, raw_upstream, read_until_closed, split_response
from tests.support.cli_servers import command, uvicorn_thread

#: What the raw upstream sends for each path: whole answers, or answers it then resets.
ANSWERS = {
    b"/chunked": b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"5\r\nfirst\r\n6\r\nsecond\r\n0\r\n\r\n",
    b"/hints": b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n"
    b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 4\r\n\r\nfour",
    b"/trailers": b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTrailer: X-Checksum\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"4\r\nfour\r\n0\r\nX-Checksum: abc\r\n\r\n",
}
CUT = {
    b"/cut-chunked": b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n8\r\nPNG-part\r\n",
    b"/cut-close-delimited": b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\nPNG-part",
}


def answer(client: socket.socket, head: bytes) -> None:
    path = head.split(b" ", 2)[1] if head.count(b" ") >= 2 else b""
    if path in CUT:
        client.sendall(CUT[path])
        time.sleep(0.2)  # the proxy has passed the part on before the reset
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with a reset
        return
    client.sendall(ANSWERS.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))


@pytest.fixture(scope="module")
def raw_proxy():
    """The proxy in front of the raw upstream that answers from ANSWERS and CUT."""
    with (
        raw_upstream(answer, connections=20) as url,
        command("proxy", url, "--filter", "inject?html=<hr>") as proxy,
    ):
        yield proxy.url


@pytest.fixture(scope="module")
def recorder():
    app = Recorder()
    with uvicorn_thread(app) as url, command("proxy", url, "--filter", "inject?html=<hr>") as proxy:
        yield app, proxy.url


def seen_upstream(received: bytes) -> dict:
    """The request as the Recorder upstream received it, from the proxy's answer."""
    status, _, body = split_response(received)
    assert status == b"HTTP/1.1 200 OK", received
    return json.loads(body)


@pytest.mark.parametrize("target", [b"127.0.0.1:443", b"/tunnel"])
def test_connect_is_answered_405_by_the_proxy_and_never_forwarded(recorder, target):
    app, url = recorder
    asked = len(app.targets)
    received, _ = exchange(url, b"CONNECT " + target + b" HTTP/1.1\r\nHost: 127.0.0.1:443\r\nConnection: close\r\n\r\n")
    status, fields, body = split_response(received)
    assert status == b"HTTP/1.1 405 Method Not Allowed", received
    assert fields[b"allow"] == b"GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH"
    assert body.startswith(b"405 Method Not Allowed: the proxy opens no tunnels")
    assert len(app.targets) == asked


def test_an_absolute_form_target_names_the_host_the_upstream_is_told_of(recorder):
    # RFC 9112 section 3.2.2: the target's authority stands for the request's Host field.
    _, url = recorder
    request = b"GET http://front.example:8080/x?q=1 HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n"
    seen = seen_upstream(exchange(url, request)[0])
    assert (seen["target"], seen["headers"]["x-forwarded-host"]) == ("/x?q=1", "front.example:8080")


def test_an_absolute_form_target_naming_no_host_is_refused(recorder):
    app, url = recorder
    asked = len(app.targets)
    received, _ = exchange(url, b"GET http://user@front.example/x HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 400 Bad Request\r\n"), received
    assert len(app.targets) == asked


def test_the_clients_values_of_fields_it_names_in_connection_are_not_forwarded(recorder):
    # RFC 9110 section 7.6.1: what Connection names is for this hop only; the proxy's own values go on.
    _, url = recorder
    request = (
        b"GET /x HTTP/1.1\r\nHost: proxy.test\r\nConnection: close, X-Forwarded-For, Via\r\n"
        b"X-Forwarded-For: 10.6.6.6\r\nVia: 1.1 forged\r\n\r\n"
    )
    headers = seen_upstream(exchange(url, request)[0])["headers"]
    assert (headers["x-forwarded-for"], headers["via"]) == ("127.0.0.1", "1.1 dualfilter")


def test_a_request_head_growing_past_64_kib_is_refused_without_being_held(recorder):
    _, url = recorder
    piece = b"a" * 65536
    sent = 0
    with connection(url) as sock:
        sock.sendall(b"GET /x HTTP/1.1\r\nHost: proxy.test\r\nX-Long: ")
        try:
            for _ in range(256):  # 16 MiB at most
                sock.sendall(piece)
                sent += len(piece)
        except OSError:  # the proxy closed the connection on the rest
            pass
        received, closed = read_until_closed(sock)
    # What was sent past the 64 KiB is what the socket buffers took before the proxy closed.
    assert closed and sent < 8 * 1024 * 1024, (sent, received)
    assert received == b"" or received.startswith(b"HTTP/1.1 400 Bad Request\r\n")


def test_a_request_head_past_64_kib_that_comes_whole_in_one_write_is_refused_too(recorder):
    # h11 measures a head only while it is incomplete: one that arrives whole is measured after.
    _, url = recorder
    request = b"GET /x HTTP/1.1\r\nHost: proxy.test\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n"
    received, closed = exchange(url, request)
    assert closed and received.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    assert b"longer than 64 KiB" in received


def test_an_http_1_0_client_gets_a_body_of_unknown_length_delimited_by_the_close(raw_proxy):
    # HTTP/1.0 has no chunked coding (RFC 9112 section 6.1): the end of the connection ends the body.
    received, closed = exchange(raw_proxy, b"GET /chunked HTTP/1.0\r\nHost: proxy.test\r\n\r\n")
    status, fields, body = split_response(received)
    assert closed and status == b"HTTP/1.1 200 OK"
    assert b"transfer-encoding" not in fields and b"content-length" not in fields
    assert body == b"firstsecond"


def test_an_http_1_1_client_gets_the_same_body_in_chunks(raw_proxy):
    received, _ = exchange(raw_proxy, b"GET /chunked HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n")
    status, fields, body = split_response(received)
    assert (status, fields[b"transfer-encoding"], body) == (b"HTTP/1.1 200 OK", b"chunked", b"firstsecond")
    assert received.endswith(b"0\r\n\r\n")


@pytest.mark.parametrize("path", [b"/cut-chunked", b"/cut-close-delimited"])
def test_a_body_the_upstream_cuts_off_reaches_an_http_1_1_client_without_its_last_chunk(raw_proxy, path):
    # RFC 9112 section 8: the client must be able to tell the response is incomplete.
    received, closed = exchange(raw_proxy, b"GET " + path + b" HTTP/1.1\r\nHost: proxy.test\r\n\r\n")
    assert closed and received.startswith(b"HTTP/1.1 200 OK\r\n"), received
    assert b"transfer-encoding: chunked" in received.lower()
    assert received.endswith(b"\r\n8\r\nPNG-part\r\n")  # no last chunk


def test_an_upstreams_interim_responses_do_not_reach_the_client_its_final_one_does(raw_proxy):
    received, _ = exchange(raw_proxy, b"GET /hints HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n")
    assert received.startswith(b"HTTP/1.1 200 OK\r\n") and b"103" not in received.split(b"\r\n", 1)[0]
    assert split_response(received)[2] == b"four"


def test_an_upstreams_trailer_fields_do_not_reach_the_client_nor_its_trailer_field(raw_proxy):
    request = b"GET /trailers HTTP/1.1\r\nHost: proxy.test\r\nTE: trailers\r\nConnection: close\r\n\r\n"
    received, _ = exchange(raw_proxy, request)
    status, fields, body = split_response(received)
    assert (status, body) == (b"HTTP/1.1 200 OK", b"four")
    assert b"trailer" not in fields and b"X-Checksum" not in received
