"""What ``serve`` and ``proxy`` refuse of a request themselves (RFC 9112 sections 3.2 and 6.1),
on the wire, whichever parser uvicorn reads requests with: httptools where it is installed,
h11 where it is not (``pip install 'dualfilter[serve]'`` brings no httptools)."""

from __future__ import annotations

import pytest

from dualfilter.cli.framing import refusal
from tests.cli.upstream import Recorder
from tests.cli.wire import exchange, parser_directory
from tests.support.cli_servers import command, uvicorn_thread

#: The app ``serve`` serves: it answers every request with its method and path.
SITE = """\
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    body = (scope["method"] + " " + scope["path"]).encode()
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
"""


@pytest.fixture(scope="module")
def recorder_url():
    with uvicorn_thread(Recorder()) as url:
        yield url


@pytest.fixture(
    scope="module",
    params=[("serve", "httptools"), ("serve", "h11"), ("proxy", "httptools"), ("proxy", "h11")],
    ids=lambda param: "-".join(param),
)
def server(request, tmp_path_factory, recorder_url):
    """The URL of ``serve`` or ``proxy`` run as users run it, its uvicorn reading requests with
    httptools or h11. What the app or the upstream was asked shows in the answer's body."""
    name, parser = request.param
    directory = parser_directory(tmp_path_factory.mktemp(f"{name}-{parser}"), parser)
    (directory / "framing_site.py").write_text(SITE)
    target = "framing_site:app" if name == "serve" else recorder_url
    with command(name, target, "--filter", "inject?html=<hr>", cwd=directory) as running:
        yield running.url


def refused(answer: tuple[bytes, bool], *statuses: int) -> bool:
    """Whether the server answered with one of ``statuses`` and then closed the connection."""
    received, closed = answer
    return closed and any(received.startswith(b"HTTP/1.1 %d " % status) for status in statuses)


def test_a_request_with_both_chunks_and_a_content_length_is_refused_and_the_bytes_after_it_never_read(server):
    # RFC 9112 section 6.1: the server must close the connection after such a request; what a
    # front server counted as its body must never be read as the next request.
    smuggling = (
        b"POST /posted HTTP/1.1\r\nHost: proxy.test\r\nContent-Length: 53\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: proxy.test\r\n\r\n"
    )
    answer = exchange(server, smuggling)
    assert refused(answer, 400), answer
    assert b"/smuggled" not in answer[0] and b"/posted" not in answer[0]


@pytest.mark.parametrize("codings", [b"gzip, chunked", b"gzip\r\nTransfer-Encoding: chunked", b"chunked, chunked"])
def test_a_transfer_coding_other_than_chunked_is_refused(server, codings):
    # RFC 9112 section 6.1: 501 for a coding the server does not understand (h11 itself answers 400);
    # never the body still coded, as if it were the content.
    coded = b"POST /coded HTTP/1.1\r\nHost: proxy.test\r\nTransfer-Encoding: " + codings + b"\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    answer = exchange(server, coded)
    assert refused(answer, 501, 400), answer
    assert b"/coded" not in answer[0]


def test_an_http_1_0_request_with_a_transfer_encoding_is_refused(server):
    # RFC 9112 section 6.1: its framing is faulty, whatever it says.
    answer = exchange(
        server, b"POST /old HTTP/1.0\r\nHost: proxy.test\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    assert refused(answer, 400), answer
    assert b"/old" not in answer[0]


@pytest.mark.parametrize(
    "fields",
    [b"", b"Host: a.example\r\nHost: b.example\r\n", b"Host: a.example, b.example\r\n", b"Host: a.example/x\r\n"],
    ids=["none", "two", "a-list", "a-path"],
)
def test_an_http_1_1_request_without_exactly_one_valid_host_is_refused(server, fields):
    # RFC 9112 section 3.2: a server must answer 400 to each of these.
    answer = exchange(server, b"GET /hosted HTTP/1.1\r\n" + fields + b"\r\n")
    assert refused(answer, 400), answer
    assert b"/hosted" not in answer[0]


def test_well_framed_requests_go_on_to_the_app_or_upstream(server):
    chunked = (
        b"POST /chunked HTTP/1.1\r\nHost: [::1]:8080\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        b"GET /old HTTP/1.0\r\n\r\n"  # no Host: none is needed in HTTP/1.0
    )
    received, closed = exchange(server, chunked)
    assert closed and received.count(b"HTTP/1.1 200 OK\r\n") == 2, received
    assert b"/chunked" in received and b"/old" in received


@pytest.mark.parametrize(
    ("scope", "status"),
    [
        ({"http_version": "1.1", "headers": [(b"host", b"a"), (b"transfer-encoding", b"chunked")]}, None),
        ({"http_version": "1.1", "headers": [(b"host", b"a"), (b"transfer-encoding", b"Chunked ")]}, None),
        ({"http_version": "1.1", "headers": [(b"host", b"a"), (b"content-length", b"3")]}, None),
        ({"http_version": "1.0", "headers": []}, None),
        ({"http_version": "1.1", "headers": [(b"host", b"")]}, None),
        ({"http_version": "1.1", "headers": [(b"host", b"[::1]:80")]}, None),
        ({"http_version": "2", "headers": []}, None),
        (
            {"http_version": "1.1", "headers": [(b"host", b"a"), (b"transfer-encoding", b"chunked"), (b"content-length", b"3")]},
            400,
        ),
        ({"http_version": "1.0", "headers": [(b"transfer-encoding", b"chunked")]}, 400),
        ({"http_version": "1.1", "headers": [(b"host", b"a"), (b"transfer-encoding", b"gzip, chunked")]}, 501),
        ({"http_version": "1.1", "headers": [(b"host", b"a"), (b"transfer-encoding", b"")]}, 501),
        ({"http_version": "1.1", "headers": []}, 400),
        ({"http_version": "1.1", "headers": [(b"host", b"a"), (b"host", b"a")]}, 400),
        ({"http_version": "1.1", "headers": [(b"host", b"a b")]}, 400),
        ({"http_version": "1.1", "headers": [(b"host", b"user@a")]}, 400),
    ],
)
def test_refusal_names_the_status_a_server_must_answer_with(scope, status):
    refused_with = refusal({"type": "http", **scope})
    assert (refused_with and refused_with[0]) == status
