"""End to end on real servers: uvicorn and hypercorn on 127.0.0.1, concurrent clients, the bytes on the wire."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import threading
from collections.abc import Iterator

import anyio
import h2.config
import h2.connection
import h2.events
import h2.settings
import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, StreamingResponse
from starlette.routing import Route

from tests.support import http_servers
from tests.support.asgi_harness import UpperFilter

BINARY = bytes(range(256)) * 4096  # 1 MiB, not filtered
STREAMED = "".join(f"<i>{i}</i>" for i in range(50))


def make_app(tmp_path) -> Starlette:
    (tmp_path / "page.html").write_text("<p>file</p>")

    async def page(request):
        return HTMLResponse(f"<p>page {request.path_params['n']}</p>")

    async def streamed(request):
        async def chunks():
            for i in range(50):
                await anyio.sleep(0)
                yield f"<i>{i}</i>"

        return StreamingResponse(chunks(), media_type="text/html")

    async def binary(request):
        async def chunks():
            for i in range(0, len(BINARY), 65536):
                yield BINARY[i : i + 65536]

        return StreamingResponse(chunks(), media_type="application/octet-stream")

    async def file(request):
        return FileResponse(tmp_path / "page.html")

    async def started(request):
        return PlainTextResponse(request.state.started)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield {"started": "lifespan ran"}

    return Starlette(
        routes=[
            Route("/page/{n}", page),
            Route("/streamed", streamed),
            Route("/binary", binary),
            Route("/file", file),
            Route("/started", started),
        ],
        middleware=[Middleware(UpperFilter)],
        lifespan=lifespan,
    )


def listening_socket() -> socket.socket:
    """A socket bound to a free port on 127.0.0.1 and already listening: clients
    can connect (and wait in the backlog) before the server starts accepting."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


@contextlib.contextmanager
def uvicorn_serving(app, sock: socket.socket) -> Iterator[None]:
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn")
    thread.start()
    try:
        yield
    finally:
        server.should_exit = True
        thread.join()


@contextlib.contextmanager
def hypercorn_serving(app, sock: socket.socket) -> Iterator[None]:
    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    config.bind = [f"fd://{os.dup(sock.fileno())}"]  # hypercorn closes the fd it is given
    config.loglevel = "WARNING"
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    thread = threading.Thread(
        target=loop.run_until_complete, args=(serve(app, config, shutdown_trigger=stop.wait),), name="hypercorn"
    )
    thread.start()
    try:
        yield
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join()
        loop.close()


@pytest.fixture(scope="module", params=["uvicorn", "hypercorn"])
def server(request, tmp_path_factory):
    """``(host, port)`` of a real server running the filtered app."""
    serving = uvicorn_serving if request.param == "uvicorn" else hypercorn_serving
    with listening_socket() as sock, serving(make_app(tmp_path_factory.mktemp("files")), sock):
        yield sock.getsockname()


def dechunk(data: bytes) -> bytes:
    """The payload of a ``Transfer-Encoding: chunked`` body."""
    payload = []
    while True:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return b"".join(payload)
        payload.append(data[:size])
        data = data[size + 2 :]


async def wire_get(host: str, port: int, path: str) -> tuple[int, dict[bytes, bytes], bytes]:
    """GET over a raw socket with ``Connection: close``: status, headers and body as sent."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(b":", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


async def test_filtered_responses_on_the_wire_carry_a_content_length_equal_to_the_body(server):
    paths = [f"/page/{i}" for i in range(16)] + ["/streamed"] * 4 + ["/file"] * 4
    async with anyio.create_task_group() as tg:
        results = {}

        async def get(index, path):
            results[index] = await wire_get(*server, path)

        for index, path in enumerate(paths):
            tg.start_soon(get, index, path)
    expected = {**{f"/page/{i}": f"<P>PAGE {i}</P>" for i in range(16)}, "/streamed": STREAMED.upper(), "/file": "<P>FILE</P>"}
    for index, path in enumerate(paths):
        status, headers, body = results[index]
        assert status == 200
        assert b"transfer-encoding" not in headers
        assert int(headers[b"content-length"]) == len(body)
        assert body.decode() == expected[path]


async def test_a_large_passthrough_stream_arrives_intact_on_the_wire(server):
    status, headers, body = await wire_get(*server, "/binary")
    assert status == 200
    if b"content-length" in headers:
        assert int(headers[b"content-length"]) == len(body)
    else:
        assert headers[b"transfer-encoding"] == b"chunked"
        body = dechunk(body)
    assert body == BINARY


async def test_concurrent_keep_alive_clients_get_their_own_whole_responses(server):
    host, port = server
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", limits=httpx.Limits(max_connections=4)) as client:
        paths = [f"/page/{i}" for i in range(30)] + ["/binary", "/streamed"] * 3
        responses = await asyncio.gather(*(client.get(path) for path in paths))
    for path, response in zip(paths, responses, strict=True):
        assert response.status_code == 200
        if path == "/binary":
            assert response.content == BINARY
        elif path == "/streamed":
            assert response.text == STREAMED.upper()
        else:
            assert response.text == f"<P>PAGE {path.rsplit('/', 1)[1]}</P>"


async def test_the_server_ran_the_wrapped_app_lifespan(server):
    status, _, body = await wire_get(*server, "/started")
    assert (status, body) == (200, b"lifespan ran")


async def hinting_app(scope, receive, send):
    """An HTML page that sends an early hint and a push after its start, as the server offers both."""
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    if scope["path"] == "/":
        assert {"http.response.early_hint", "http.response.push"} <= set(scope["extensions"])
        await send({"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload; as=style"]})
        await send({"type": "http.response.push", "path": "/style.css", "headers": []})
    await send({"type": "http.response.body", "body": b"<p>hinted</p>"})


def h2_get(port: int, path: str) -> list[h2.events.Event]:
    """GET over HTTP/2 (prior knowledge, pushes accepted): every event of the
    connection until the response to it ends, in the order they came."""
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    connection.update_settings({h2.settings.SettingCodes.ENABLE_PUSH: 1})
    request = [(":method", "GET"), (":path", path), (":scheme", "http"), (":authority", "127.0.0.1")]
    events: list[h2.events.Event] = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        stream_id = connection.get_next_available_stream_id()
        connection.send_headers(stream_id, request, end_stream=True)
        sock.sendall(connection.data_to_send())
        while not any(isinstance(e, h2.events.StreamEnded) and e.stream_id == stream_id for e in events):
            data = sock.recv(65536)
            assert data, f"the connection closed before the response ended: {events}"
            for event in connection.receive_data(data):
                events.append(event)
                if isinstance(event, h2.events.DataReceived):
                    connection.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            sock.sendall(connection.data_to_send())
    return [e for e in events if getattr(e, "stream_id", None) == stream_id or isinstance(e, h2.events.PushedStreamReceived)]


def test_hypercorn_over_http2_sends_the_early_hint_of_a_filtered_response_before_its_start():
    with http_servers.hypercorn_serving(UpperFilter(hinting_app)) as port:
        events = h2_get(port, "/")
    hint, response = (e for e in events if isinstance(e, (h2.events.InformationalResponseReceived, h2.events.ResponseReceived)))
    assert isinstance(hint, h2.events.InformationalResponseReceived) and isinstance(response, h2.events.ResponseReceived)
    assert (b":status", b"103") in hint.headers and (b"link", b"</style.css>; rel=preload; as=style") in hint.headers
    assert b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived)) == b"<P>HINTED</P>"


def test_hypercorn_over_http2_promises_the_push_of_a_filtered_response_after_its_start():
    with http_servers.hypercorn_serving(UpperFilter(hinting_app)) as port:
        events = h2_get(port, "/")
    kinds = [type(e) for e in events if not isinstance(e, h2.events.InformationalResponseReceived)]
    assert kinds[:3] == [h2.events.ResponseReceived, h2.events.PushedStreamReceived, h2.events.DataReceived]
    promise = next(e for e in events if isinstance(e, h2.events.PushedStreamReceived))
    assert (b":path", b"/style.css") in promise.headers
    assert b"".join(e.data for e in events if isinstance(e, h2.events.DataReceived)) == b"<P>HINTED</P>"


PARTIAL_PAGE = b"<html><body><p>hello world, long enough for a range</p></body></html>"


async def _waits_for_disconnect(scope, receive, send):
    """An app shaped as Quart >= 0.23: it reads receive() until http.disconnect,
    beside its handler, and returns only then; it answers a Range with a 206."""

    async def listen():
        while (await receive())["type"] != "http.disconnect":
            pass

    async def respond():
        headers = [(b"content-type", b"text/html")]
        if dict(scope["headers"]).get(b"range") == b"bytes=0-9":
            headers += [(b"content-range", b"bytes 0-9/%d" % len(PARTIAL_PAGE)), (b"content-length", b"10")]
            await send({"type": "http.response.start", "status": 206, "headers": headers})
            await send({"type": "http.response.body", "body": PARTIAL_PAGE[:10]})
        else:
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": PARTIAL_PAGE})

    async with anyio.create_task_group() as group:
        group.start_soon(listen)
        group.start_soon(respond)


@pytest.mark.parametrize("serving", [http_servers.uvicorn_serving, http_servers.hypercorn_serving], ids=["uvicorn", "hypercorn"])
def test_an_app_that_waits_for_the_disconnect_is_told_of_it_when_its_answer_is_asked_again(serving):
    # ASGI: http.disconnect goes to an app that calls receive() after its response was
    # sent. Its 206 went to the filter, not the server: the filter tells it, or the app
    # never returns and the full page is never asked for.
    with serving(UpperFilter.asgi(_waits_for_disconnect)) as port:
        response = httpx.get(f"http://127.0.0.1:{port}/", headers={"Range": "bytes=0-9"}, timeout=10)
    assert (response.status_code, response.content) == (206, PARTIAL_PAGE.upper()[:10])


@pytest.mark.parametrize("serving", [http_servers.uvicorn_serving, http_servers.hypercorn_serving], ids=["uvicorn", "hypercorn"])
def test_a_filtered_response_whose_app_asks_to_close_closes_the_connection(serving):
    # The app's "connection: close" tells the server to close after the response; the
    # filtered page keeps it, and the server closes as it would without the filter.
    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        headers = [(b"content-type", b"text/html"), (b"connection", b"close")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"<p>bye</p>"})

    with serving(UpperFilter.asgi(app)) as port, socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # keep-alive, as HTTP/1.1 is by default
        received = b""
        for _ in range(100):  # bounded: the server closes after the response
            piece = sock.recv(65536)
            if not piece:
                break
            received += piece
        else:
            raise AssertionError("the server kept the connection open")
    head, _, content = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head.lower()
    assert content.endswith(b"<P>BYE</P>")
