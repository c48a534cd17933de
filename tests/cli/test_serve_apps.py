"""``dualfilter serve APP``: WSGI and ASGI apps served on uvicorn, wrapped in filters."""

from __future__ import annotations

import signal

import httpx
import pytest

from dualfilter.cli.serve import load_app, wrap
from dualfilter.filters.replace import Replace
from tests.support.cli_servers import command

WSGI_SITE = """\
def app(environ, start_response):
    body = b"<html><body><p>hello from WSGI</p></body></html>"
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
    return [body]
"""

ASGI_SITE = """\
async def app(scope, receive, send):
    assert scope["type"] == "http"
    body = "<html><body><p>hello from ASGI \\u2013 caf\\u00e9</p></body></html>".encode()
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
"""


@pytest.fixture
def site(tmp_path):
    (tmp_path / "wsgi_site.py").write_text(WSGI_SITE)
    (tmp_path / "asgi_site.py").write_text(ASGI_SITE)
    return tmp_path


def test_a_wsgi_app_is_served_with_its_responses_filtered(site):
    with command("serve", "wsgi_site:app", "--filter", "inject?html=<hr>", cwd=site) as server:
        response = httpx.get(server.url + "/", timeout=10)
    assert response.content == b"<html><body><p>hello from WSGI</p><hr></body></html>"
    assert response.headers.get("content-length", str(len(response.content))) == str(
        len(response.content)
    )  # absent when streamed


def test_an_asgi_app_is_served_with_its_responses_filtered(site):
    with command("serve", "asgi_site:app", "-f", "replace?pattern=café&repl=tea", "-f", "inject?html=<hr>", cwd=site) as server:
        response = httpx.get(server.url + "/", timeout=10)
    assert response.content == "<html><body><p>hello from ASGI – tea</p><hr></body></html>".encode()
    assert response.headers.get("content-length", str(len(response.content))) == str(
        len(response.content)
    )  # absent when streamed


def test_the_startup_line_names_the_app_its_kind_the_filters_and_the_address(site):
    with command("serve", "wsgi_site:app", "-f", "inject?html=<hr>", "-f", "replace?pattern=a", cwd=site) as server:
        assert (
            server.line
            == f"dualfilter: serving wsgi_site:app (WSGI) with inject, replace on {server.url} (press Ctrl+C to stop)\n"
        )


def test_ctrl_c_stops_the_server_quietly(site):
    with command("serve", "wsgi_site:app", "-f", "inject?html=<hr>", cwd=site) as server:
        server.process.send_signal(signal.SIGINT)
        server.process.wait(timeout=10)
        assert server.process.stderr is not None
        assert (server.process.returncode, server.process.stderr.read()) == (130, b"")


FOREVER_SITE = """
import asyncio

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    for _ in range(600):  # a stream that outlasts any stop
        await send({"type": "http.response.body", "body": b"data: tick\\n\\n", "more_body": True})
        await asyncio.sleep(0.1)
    await send({"type": "http.response.body", "body": b""})
"""


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_ends_the_command_while_a_response_still_streams(site, stop):
    # uvicorn waits for open responses with no limit unless told one: GRACE seconds here.
    from dualfilter.cli.serve import GRACE

    (site / "forever_site.py").write_text(FOREVER_SITE)
    with command("serve", "forever_site:app", "-f", "inject?html=<hr>", cwd=site) as server:
        with httpx.stream("GET", server.url + "/", timeout=10) as response:
            next(response.iter_bytes())  # the stream is open
            server.process.send_signal(stop)
            server.process.wait(timeout=GRACE + 10)
    assert server.process.poll() is not None


@pytest.mark.parametrize("host", ["asgi", "wsgi"])
async def test_the_first_filter_given_filters_first(host):
    async def asgi_app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<p>a</p>"})

    def wsgi_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<p>a</p>"]

    app = asgi_app if host == "asgi" else wsgi_app
    filters = [("first", Replace(pattern="a", repl="b")), ("second", Replace(pattern="b", repl="c"))]
    served = wrap(app, host, filters)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=served), base_url="http://test") as client:
        response = await client.get("/")
    # a -> b by the first filter, then b -> c by the second: the first is innermost.
    assert response.text == "<p>c</p>"


def test_the_kind_of_app_is_detected():
    assert load_app("dualfilter.demo:app")[1] == "asgi"
    assert load_app("wsgiref.simple_server:demo_app")[1] == "wsgi"
