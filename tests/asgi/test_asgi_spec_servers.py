"""The ASGI spec on real servers: what the client gets, and what the app is told, with the filter and without.

uvicorn (h11) and hypercorn on 127.0.0.1 (port 0), HTTP/1.1 unless said; hypercorn
over HTTP/2 for trailers (its HTTP/1.1 scope offers none); granian, the server
that offers ``http.response.pathsend``, in a subprocess (its port found with psutil).
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import h2.events
import pytest

from dualfilter import Filter, ProtocolError
from tests.asgi.test_asgi_servers import h2_get
from tests.semantics.semantics_servers import http2
from tests.support import http_servers
from tests.support.filters import ClosingStreams, Upper

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVING = {"uvicorn": http_servers.uvicorn_serving, "hypercorn": http_servers.hypercorn_serving}
HTML = [(b"content-type", b"text/html")]
#: Fields a server sets per response, whatever the app sends.
VOLATILE = (b"date:",)


def wire(sock: socket.socket, request: bytes) -> bytes:
    """Send ``request`` and read what the server sends until it closes (bounded in time)."""
    sock.settimeout(10)
    sock.sendall(request)
    received = bytearray()
    with contextlib.suppress(ConnectionResetError, TimeoutError):
        while chunk := sock.recv(65536):
            received += chunk
    return bytes(received)


def stable(response: bytes) -> bytes:
    """A response as it arrived, less the header lines that change from one response to the next."""
    head, _, rest = response.partition(b"\r\n\r\n")
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(VOLATILE)]
    return b"\r\n".join(lines) + b"\r\n\r\n" + rest


# -- websocket scopes: a denial response is the handshake's answer, not a page ------------------------

HANDSHAKE = (
    b"GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def denying_app(scope, receive, send):
    """Denies every WebSocket handshake with an HTML page of its own (the websocket.http.response extension)."""
    if scope["type"] != "websocket":
        return
    assert "websocket.http.response" in scope["extensions"]
    assert (await receive())["type"] == "websocket.connect"
    headers = [*HTML, (b"content-length", b"18")]
    await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": b"<p>not for you</p>"})


@pytest.mark.parametrize("server", SERVING)
def test_a_websocket_denial_response_reaches_the_client_exactly_as_the_app_sent_it(server):
    # Only http scopes are filtered: a denial answers a handshake, and browsers show neither
    # its status nor its body (the WebSocket API gives a script neither). Even a filter
    # that filters every status leaves it alone.
    replies = []
    for app in (denying_app, Upper.asgi(denying_app, filter_all_status=True)):
        with SERVING[server](app) as port, socket.create_connection(("127.0.0.1", port)) as sock:
            replies.append(stable(wire(sock, HANDSHAKE)))
    bare, filtered = replies
    assert bare.startswith(b"HTTP/1.1 403") and bare.endswith(b"<p>not for you</p>")
    assert filtered == bare


# -- http.disconnect: after the response the filter sent, as after the app's own ---------------------


@pytest.mark.parametrize("server", SERVING)
@pytest.mark.parametrize("flt", [Upper, ClosingStreams], ids=["buffered", "streamed"])
def test_receive_after_a_filtered_response_says_the_client_is_done(server, flt):
    # ASGI: receive() after the response was sent gives http.disconnect. A filtered page
    # has gone to the server when the app's last send() returns, so the app is told at once.
    told = []

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await receive()  # the request
        await send({"type": "http.response.start", "status": 200, "headers": HTML})
        await send({"type": "http.response.body", "body": b"<p>one</p>", "more_body": True})
        await send({"type": "http.response.body", "body": b"<p>two</p>"})
        with anyio.fail_after(5):
            told.append(await receive())

    with SERVING[server](flt.asgi(app)) as port:
        status, _, content = http_servers.wire_get(port, "/")
    assert status == 200 and b"<P>ONE</P>" in content and b"<P>TWO</P>" in content
    assert told == [{"type": "http.disconnect"}]


# -- an app that breaks the protocol or raises after its start ---------------------------------------


@pytest.mark.parametrize("server", SERVING)
def test_a_body_after_the_filtered_page_ended_is_refused_as_the_server_refuses_it_and_the_page_stands(server):
    raised: dict[Any, BaseException] = {}

    def app_for(key):
        async def app(scope, receive, send):
            if scope["type"] != "http":
                return
            await send({"type": "http.response.start", "status": 200, "headers": HTML})
            await send({"type": "http.response.body", "body": b"<p>page</p>"})
            try:
                await send({"type": "http.response.body", "body": b"<p>more</p>"})
            except Exception as exc:
                raised[key] = exc

        return app

    with SERVING[server](app_for("bare")) as port:
        bare = http_servers.wire_get(port, "/")
    with SERVING[server](Upper.asgi(app_for("filtered"))) as port:
        status, headers, content = http_servers.wire_get(port, "/")
    assert bare[0] == status == 200
    assert (content, headers["content-length"]) == (b"<P>PAGE</P>", "11")
    assert "bare" in raised  # the server's own error (RuntimeError, UnexpectedMessageError)
    assert isinstance(raised["filtered"], ProtocolError)


class AppError(Exception):
    pass


async def failing_after_start(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": HTML})
    await send({"type": "http.response.body", "body": b"<p>half a page</p>", "more_body": True})
    raise AppError("after the start")


@pytest.mark.parametrize("server", SERVING)
def test_an_app_that_raises_after_the_start_of_a_held_page_gets_the_servers_500_and_nothing_of_the_page(server):
    with SERVING[server](Upper.asgi(failing_after_start)) as port:
        status, _, content = http_servers.wire_get(port, "/")
    assert status == 500
    assert b"half" not in content.lower()


@pytest.mark.parametrize("server", SERVING)
def test_an_app_that_raises_after_a_streamed_page_began_leaves_it_cut_short(server):
    # What went out stays, and the chunked body never gets its last chunk: no client takes
    # the page for whole, as with the app's own response.
    with SERVING[server](ClosingStreams.asgi(failing_after_start)) as port:
        status, headers, content = http_servers.wire_get(port, "/")
    assert status == 200 and headers["transfer-encoding"] == "chunked"
    assert b"<P>HALF A PAGE</P>" in content
    assert not content.endswith(b"0\r\n\r\n")


# -- root_path and lifespan state: the app and the filter see what the server gives ----------------


@contextlib.contextmanager
def mounted_serving(server: str, app: Any, root_path: str) -> Iterator[int]:
    """``server`` serving ``app`` under ``root_path`` (as behind a proxy that strips it), with its lifespan."""
    sock = http_servers.listening()
    if server == "uvicorn":
        import uvicorn

        config = uvicorn.Config(app, http="h11", lifespan="on", root_path=root_path, log_level="warning")
        running = uvicorn.Server(config)
        thread = threading.Thread(target=running.run, kwargs={"sockets": [sock]})
        stop = lambda: setattr(running, "should_exit", True)  # noqa: E731
    else:
        import asyncio

        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        config = Config()
        config.bind = [f"fd://{os.dup(sock.fileno())}"]
        config.root_path, config.loglevel, config.accesslog = root_path, "WARNING", None
        loop, event = asyncio.new_event_loop(), asyncio.Event()
        thread = threading.Thread(target=loop.run_until_complete, args=(serve(app, config, shutdown_trigger=event.wait),))
        stop = lambda: loop.call_soon_threadsafe(event.set)  # noqa: E731
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop()
        thread.join(10)
        sock.close()
    assert not thread.is_alive()


class Stamp(Filter):
    """Appends what the filter's environ says of the mount, the path and the lifespan state."""

    def filter(self, environ, headers, data):
        state = environ["asgi.scope"]["state"]
        return data + f"|{environ['SCRIPT_NAME']}|{environ['PATH_INFO']}|{state['release']}".encode()


async def app_with_state(scope, receive, send):
    """Puts a release in the lifespan state; answers with the root_path and path it was given."""
    if scope["type"] == "lifespan":
        assert (await receive())["type"] == "lifespan.startup"
        scope["state"]["release"] = "r1"
        await send({"type": "lifespan.startup.complete"})
        assert (await receive())["type"] == "lifespan.shutdown"
        await send({"type": "lifespan.shutdown.complete"})
        return
    await send({"type": "http.response.start", "status": 200, "headers": HTML})
    await send({"type": "http.response.body", "body": f"{scope['root_path']}|{scope['state']['release']}".encode()})


@pytest.mark.parametrize("server", SERVING)
def test_root_path_and_lifespan_state_reach_the_app_and_the_filter_as_the_server_gives_them(server):
    # uvicorn puts root_path in front of the path it was asked (a proxy stripped it); hypercorn
    # leaves the path as asked. Either way the path starts with root_path, and PATH_INFO is the rest.
    with mounted_serving(server, Stamp.asgi(app_with_state), "/mount") as port:
        status, _, content = http_servers.wire_get(port, "/mount/a/b" if server == "hypercorn" else "/a/b")
    assert (status, content) == (200, b"/mount|r1|/mount|/a/b|r1")


# -- trailers: hypercorn offers them over HTTP/2 --------------------------------------------------------


def test_trailers_the_app_never_announced_never_reach_the_client_under_a_filtered_start():
    # hypercorn refuses such trailers from the app itself; the filter refuses them too
    # (before any of the held page went out: the server answers 500).
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        assert "http.response.trailers" in scope["extensions"]
        await send({"type": "http.response.start", "status": 200, "headers": [*HTML, (b"trailer", b"x-checksum")]})
        await send({"type": "http.response.body", "body": b"<p>page</p>", "more_body": True})
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")]})

    with http_servers.hypercorn_serving(Upper.asgi(app)) as port:
        reply = http2(port, "GET", "/", [("TE", "trailers")])
    assert (reply.status, reply.trailers) == (500, {})
    assert b"PAGE" not in reply.body


def test_trailers_sent_in_several_messages_reach_the_client_as_one_section():
    # hypercorn ends the stream with the first trailers message, more_trailers or not; the
    # filter holds them all and sends one, so the client gets every field.
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": HTML, "trailers": True})
        await send({"type": "http.response.body", "body": b"<p>page</p>"})
        await send({"type": "http.response.trailers", "headers": [(b"x-a", b"1")], "more_trailers": True})
        await send({"type": "http.response.trailers", "headers": [(b"x-b", b"2")]})

    with http_servers.hypercorn_serving(Upper.asgi(app)) as port:
        reply = http2(port, "GET", "/", [("TE", "trailers")])
    assert (reply.status, reply.body, reply.trailers) == (200, b"<P>PAGE</P>", {"x-a": "1", "x-b": "2"})


@pytest.mark.parametrize("flt", [Upper, ClosingStreams], ids=["buffered", "streamed"])
def test_an_early_hint_sent_before_the_start_reaches_the_client_ahead_of_the_filtered_page(flt):
    # The extension's order (a 103 precedes the final response): the hint goes on at once.
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        assert "http.response.early_hint" in scope["extensions"]
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload; as=style"]})
        await send({"type": "http.response.start", "status": 200, "headers": HTML})
        await send({"type": "http.response.body", "body": b"<p>hinted</p>"})

    with http_servers.hypercorn_serving(flt.asgi(app)) as port:
        events = h2_get(port, "/")
    answers = [e for e in events if isinstance(e, (h2.events.InformationalResponseReceived, h2.events.ResponseReceived))]
    assert [type(e) for e in answers] == [h2.events.InformationalResponseReceived, h2.events.ResponseReceived]
    assert (b"link", b"</style.css>; rel=preload; as=style") in answers[0].headers
    assert b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived)) == b"<P>HINTED</P>"


# -- granian: http.response.pathsend -------------------------------------------------------------------

GRANIAN_SITE = '''
import pathlib

from starlette.applications import Starlette
from starlette.responses import FileResponse
from starlette.routing import Route

from tests.support.filters import Upper

HERE = pathlib.Path(__file__).parent


async def send_file(request):
    offered = "http.response.pathsend" in request.scope.get("extensions", {})
    return FileResponse(HERE / request.path_params["name"], headers={"x-pathsend-offered": str(offered)})


site = Starlette(routes=[Route("/{name}", send_file)])
filtered = Upper(site)


async def app(scope, receive, send):
    """The site under /raw, the filtered site at the root."""
    if scope["type"] == "http" and scope["path"].startswith("/raw/"):
        scope = {**scope, "path": scope["path"][4:], "raw_path": scope["raw_path"][4:]}
        await site(scope, receive, send)
    else:
        await filtered(scope, receive, send)
'''


@contextlib.contextmanager
def granian_serving(site: str) -> Iterator[int]:
    """granian (ASGI, one worker) serving ``app`` of the module ``site`` on 127.0.0.1, port 0; yields the port."""
    with tempfile.TemporaryDirectory(prefix="df-") as folder:
        directory = pathlib.Path(folder)
        (directory / "granian_site.py").write_text(site)
        (directory / "page.html").write_bytes(b"<p>a page sent by pathsend</p>")
        (directory / "logo.bin").write_bytes(bytes(range(256)) * 64)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), folder])}
        command = [sys.executable, "-m", "granian", "--interface", "asginl", "--host", "127.0.0.1", "--port", "0"]
        command += ["--no-ws", "--log-level", "error", "granian_site:app"]
        log = directory / "granian.log"
        with log.open("wb") as errors:
            process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=errors)
        try:
            try:
                port = http_servers.listening_port(process)
            except AssertionError:
                raise AssertionError(f"granian did not start: {log.read_text()!r}") from None
            yield port
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def granian_get(port: int, target: str) -> bytes:
    """GET ``target``, waiting (bounded) for granian to accept: it may listen before its worker serves."""
    deadline = time.monotonic() + 10
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            break
        except ConnectionRefusedError:
            assert time.monotonic() < deadline, "granian did not accept in time"
            time.sleep(0.02)
    with sock:
        return wire(sock, f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())


@pytest.fixture(scope="module")
def granian() -> Iterator[int]:
    with granian_serving(GRANIAN_SITE) as port:
        yield port


def test_on_granian_a_filtered_page_the_app_sends_by_pathsend_arrives_filtered_with_its_true_length(granian):
    head, _, content = granian_get(granian, "/page.html").partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"x-pathsend-offered: True" in head
    assert content == b"<P>A PAGE SENT BY PATHSEND</P>"
    assert f"content-length: {len(content)}".encode() in head


def test_on_granian_a_file_the_filter_leaves_alone_goes_out_by_pathsend_exactly_as_without_it(granian):
    filtered = stable(granian_get(granian, "/logo.bin"))
    assert filtered == stable(granian_get(granian, "/raw/logo.bin"))
    assert filtered.endswith(bytes(range(256)) * 64)
