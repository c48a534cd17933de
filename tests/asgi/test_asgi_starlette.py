"""Starlette apps behind the filter: response classes, middleware config, lifespan, websockets."""

from __future__ import annotations

import contextlib
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.templating import Jinja2Templates
from starlette.testclient import TestClient

from dualfilter import Filter
from tests.support.asgi_harness import UpperFilter


class JsonUpper(Filter):
    """Upper-cases every string in a JSON document."""

    format = "json"

    def filter(self, environ, headers, data):
        return {key.upper(): value.upper() if isinstance(value, str) else value for key, value in data.items()}


async def html(request):
    return HTMLResponse("<p>hello</p>")


async def streamed(request):
    async def chunks():
        for i in range(5):
            yield f"<li>{i}</li>"
        yield ""

    return StreamingResponse(chunks(), media_type="text/html")


async def plain(request):
    return PlainTextResponse("<p>plain</p>")


async def data(request):
    return JSONResponse({"greeting": "hello", "count": 2})


async def echo(request):
    return HTMLResponse(f"<pre>{(await request.body()).decode()}</pre>")


def file_route(tmp_path: Path):
    (tmp_path / "page.html").write_text("<p>from a file</p>")
    (tmp_path / "notes.txt").write_text("<p>a text file</p>")

    async def serve(request):
        return FileResponse(tmp_path / request.path_params["name"])

    return Route("/files/{name}", serve)


async def websocket_echo(websocket):
    await websocket.accept()
    await websocket.send_text((await websocket.receive_text()) + "!")
    await websocket.close()


def routes(tmp_path: Path) -> list:
    return [
        Route("/html", html),
        Route("/streamed", streamed),
        Route("/plain", plain),
        Route("/json", data),
        Route("/echo", echo, methods=["POST"]),
        file_route(tmp_path),
        WebSocketRoute("/ws", websocket_echo),
    ]


@pytest.fixture
def app(tmp_path):
    return Starlette(routes=routes(tmp_path), middleware=[Middleware(UpperFilter)])


@pytest.fixture
def client(app):
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver")


class PathsendServer:
    """The server's side of ``http.response.pathsend``: offers it in the scope
    and, like a server would, sends the named file as the body."""

    def __init__(self, app) -> None:
        self.app = app
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send):
        scope = {**scope, "extensions": {**scope.get("extensions", {}), "http.response.pathsend": {}}}

        async def server_send(message):
            if message["type"] == "http.response.pathsend":
                self.paths.append(message["path"])
                message = {"type": "http.response.body", "body": Path(message["path"]).read_bytes()}
            await send(message)

        await self.app(scope, receive, server_send)


async def test_an_html_response_is_filtered(client):
    response = await client.get("/html")
    assert response.text == "<P>HELLO</P>"
    assert response.headers["content-length"] == "12"


async def test_a_streaming_html_response_is_filtered_whole(client):
    response = await client.get("/streamed")
    assert response.text == "".join(f"<LI>{i}</LI>" for i in range(5))
    assert response.headers["content-length"] == str(len(response.content))


async def test_a_plain_text_response_passes_through(client):
    response = await client.get("/plain")
    assert response.text == "<p>plain</p>"


async def test_a_json_response_passes_through_an_html_filter(client):
    response = await client.get("/json")
    assert response.json() == {"greeting": "hello", "count": 2}


async def test_a_json_response_is_filtered_by_a_json_format_filter(tmp_path):
    app = Starlette(routes=routes(tmp_path), middleware=[Middleware(JsonUpper)])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver") as client:
        response = await client.get("/json")
    assert response.json() == {"GREETING": "HELLO", "COUNT": 2}
    assert response.headers["content-length"] == str(len(response.content))


async def test_a_request_body_reaches_the_app(client):
    response = await client.post("/echo", content=b"posted")
    assert response.text == "<PRE>POSTED</PRE>"


async def test_an_html_file_response_is_filtered(client):
    response = await client.get("/files/page.html")
    assert response.text == "<P>FROM A FILE</P>"


async def test_a_filtered_file_sent_by_pathsend_is_read_and_filtered(app):
    server = PathsendServer(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(server), base_url="http://testserver") as client:
        response = await client.get("/files/page.html")
    assert response.text == "<P>FROM A FILE</P>"
    assert response.headers["content-length"] == str(len(response.content))
    assert server.paths == []  # the filter read the file; the server was not asked to


async def test_a_file_not_filtered_still_goes_out_by_pathsend(app, tmp_path):
    server = PathsendServer(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(server), base_url="http://testserver") as client:
        response = await client.get("/files/notes.txt")
    assert response.text == "<p>a text file</p>"
    assert server.paths == [str(tmp_path / "notes.txt")]


async def test_a_pathsend_file_larger_than_max_buffer_size_goes_out_whole_with_oversize_pass(tmp_path):
    big = "<p>" + "x" * 300_000 + "</p>"
    (tmp_path / "big.html").write_text(big)
    app = Starlette(routes=routes(tmp_path), middleware=[Middleware(UpperFilter, max_buffer_size=100_000, oversize="pass")])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(PathsendServer(app)), base_url="http://testserver") as client:
        response = await client.get("/files/big.html")
    assert response.text == big


def test_add_middleware_with_options_configures_the_filter(tmp_path):
    app = Starlette(routes=routes(tmp_path))
    app.add_middleware(UpperFilter, filter_content_types=("text/plain",))
    with TestClient(app) as client:
        assert client.get("/plain").text == "<P>PLAIN</P>"
        assert client.get("/html").text == "<p>hello</p>"


def test_the_test_client_sees_the_filtered_response(app):
    with TestClient(app) as client:
        response = client.get("/html")
    assert (response.status_code, response.text) == (200, "<P>HELLO</P>")


def test_the_wrapped_app_lifespan_starts_up_and_shuts_down(tmp_path):
    events = []

    @contextlib.asynccontextmanager
    async def lifespan(app):
        events.append("startup")
        yield
        events.append("shutdown")

    wrapped = UpperFilter(Starlette(routes=routes(tmp_path), lifespan=lifespan))
    with TestClient(wrapped) as client:
        assert events == ["startup"]
        assert client.get("/html").text == "<P>HELLO</P>"
    assert events == ["startup", "shutdown"]


def test_websockets_pass_through(app):
    with TestClient(app) as client, client.websocket_connect("/ws") as websocket:
        websocket.send_text("<p>hi</p>")
        assert websocket.receive_text() == "<p>hi</p>!"


def test_trailers_reach_the_test_client_after_the_filtered_body():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")], "trailers": True})
        await send({"type": "http.response.body", "body": b"<p>t</p>"})
        await send({"type": "http.response.trailers", "headers": [(b"x-checksum", b"42")]})

    response = TestClient(UpperFilter(app)).get("/")
    assert response.text == "<P>T</P>"
    assert response.extensions["http.response.trailers"] == [(b"x-checksum", b"42")]


async def test_a_file_sent_by_pathsend_streams_through_a_streaming_filter(tmp_path):
    from dualfilter.filters import Inject

    page = "<html><body>" + "<p>a line</p>" * 10_000 + "</body></html>"
    (tmp_path / "story.html").write_text(page)
    app = Starlette(routes=routes(tmp_path), middleware=[Middleware(Inject, html="<b>X</b>")])
    server = PathsendServer(app)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(server), base_url="http://testserver") as client:
        response = await client.get("/files/story.html")
    assert response.text == page.replace("</body>", "<b>X</b></body>")
    assert "content-length" not in response.headers and server.paths == []  # streamed, read by the filter


def test_a_template_page_asked_again_after_a_304_is_filtered_and_its_template_reported(tmp_path):
    # The TestClient offers http.response.debug, so the second answer sends it before its start.
    (tmp_path / "page.html").write_text("<p>hello {{ name }}</p>")
    templates = Jinja2Templates(directory=tmp_path)

    async def page(request):
        if request.headers.get("if-none-match") == '"v1"':
            return Response(status_code=304, headers={"etag": '"v1"'})
        return templates.TemplateResponse(request, "page.html", {"name": "ada"}, headers={"etag": '"v1"'})

    with TestClient(UpperFilter(Starlette(routes=[Route("/", page)]))) as client:
        response = client.get("/", headers={"if-none-match": '"v1"'})
    assert (response.status_code, response.text) == (200, "<P>HELLO ADA</P>")
    assert response.template.name == "page.html"
