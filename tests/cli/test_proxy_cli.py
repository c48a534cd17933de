"""``dualfilter proxy URL``: the command, as a real server in a subprocess, and its errors."""

from __future__ import annotations

import socket
import threading

import httpx
import pytest

from dualfilter.cli import main
from tests.cli.upstream import LARGE, Recorder, make_app
from tests.support.cli_servers import command, dead_port, uvicorn_thread


@pytest.fixture(scope="module")
def upstream():
    with uvicorn_thread(make_app(threading.Event())) as url:
        yield url


def test_the_proxy_serves_the_upstream_filtered_and_streams_the_rest(upstream):
    with (
        command("proxy", upstream, "--filter", "inject?html=<hr>") as proxy,
        httpx.Client(base_url=proxy.url, timeout=10) as client,
    ):
        page = client.get("/page")
        with client.stream("GET", "/large") as large:
            chunks = list(large.iter_raw())
        redirect = client.get("/redirect")
    assert proxy.line == f"dualfilter: proxying {upstream} with inject on {proxy.url} (press Ctrl+C to stop)\n"
    assert page.content == b"<html><body><p>upstream page</p><hr></body></html>"
    assert page.headers.get("content-length", str(len(page.content))) == str(len(page.content))  # absent when streamed
    assert b"".join(chunks) == LARGE
    assert len(chunks) > 1
    assert redirect.headers["location"] == f"{proxy.url}/page?x=1#top"


def test_the_command_forwards_the_request_target_as_the_client_sent_it():
    recorder = Recorder()
    with uvicorn_thread(recorder) as url, command("proxy", url + "/app", "-f", "inject?html=<hr>") as proxy:
        port = int(proxy.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
            connection.sendall(b'GET /a/./b/../c?q="<> HTTP/1.1\r\nHost: proxy.test\r\nConnection: close\r\n\r\n')
            answer = connection.makefile("rb").read()  # until the proxy closes the connection
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert recorder.targets == ['/app/a/./b/../c?q="<>']


def test_with_no_check_it_starts_and_answers_502_while_the_upstream_is_down():
    url = f"http://127.0.0.1:{dead_port()}"
    with command("proxy", url, "--no-check", "-f", "inject?html=<hr>") as proxy:
        response = httpx.get(proxy.url + "/", timeout=10)
    assert response.status_code == 502
    assert response.text.startswith(f"502 Bad Gateway: cannot reach {url} for GET /: ")


def test_an_unreachable_upstream_at_startup_is_one_line_and_exit_1(capsys):
    url = f"http://127.0.0.1:{dead_port()}"
    assert main(["proxy", url, "-f", "inject?html=<hr>"]) == 1
    assert capsys.readouterr().err == (
        f"dualfilter: error: cannot reach {url}: Connection refused (start it first, or pass --no-check)\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["ftp://example.org", "-f", "inject?html=x"], "'ftp://example.org' is not an http:// or https:// URL"),
        (["http://[::1", "-f", "inject?html=x"], "'http://[::1' is not a valid URL: Invalid IPv6 URL"),
        (["http://127.0.0.1:1", "-f", "replace?patern=x"], "replace: unknown option 'patern'; did you mean 'pattern'?"),
        (["http://127.0.0.1:1", "-f", "inject?html=x", "--timeout", "0"], "--timeout 0 is not a positive number of seconds"),
        (["http://127.0.0.1:1", "-f", "inject?html=x", "--port", "-1"], "--port -1 is not a port number"),
    ],
)
def test_a_command_line_that_cannot_work_is_one_line_and_exit_2(capsys, argv, message):
    assert main(["proxy", *argv]) == 2
    assert capsys.readouterr().err == f"dualfilter: error: {message}\n"


def test_a_filter_is_required(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["proxy", "http://127.0.0.1:1"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        "dualfilter: error: the following arguments are required: -f/--filter (see dualfilter proxy --help)\n"
    )
