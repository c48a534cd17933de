"""``ReverseProxy`` in front of a real upstream on uvicorn, with filters, called in-process over ASGI."""

from __future__ import annotations

import gzip
import json
import threading
from contextlib import aclosing
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import anyio
import httpx
import pytest

from dualfilter.cli.proxy import ReverseProxy, Upstream
from dualfilter.filters.inject import Inject
from tests.cli.upstream import CHUNK, GZIPPED_PAGE, LARGE, Recorder, make_app
from tests.support.cli_servers import dead_port, uvicorn_thread

FILTERED_PAGE = b"<html><body><p>upstream page</p><hr></body></html>"


@pytest.fixture(scope="module")
def gate():
    return threading.Event()


@pytest.fixture(scope="module")
def upstream(gate):
    with uvicorn_thread(make_app(gate)) as url:
        yield url


@pytest.fixture(scope="module")
def recorder():
    """An upstream that answers every request with the request as it arrived."""
    app = Recorder()
    with uvicorn_thread(app) as url:
        yield app, url


def filtered(url: str, **options) -> ReverseProxy:
    """A proxy to ``url`` whose Inject filter adds ``<hr>`` to HTML, as ``dualfilter proxy -f 'inject?html=<hr>'`` has it."""
    return ReverseProxy(url, filters=[Inject(html="<hr>")], **options)


@pytest.fixture
async def through():
    """``through(upstream_url, **options)``: an httpx client talking to a filtered proxy at http://proxy.test."""
    proxies: list[ReverseProxy] = []
    clients: list[httpx.AsyncClient] = []

    def make(url: str, **options) -> httpx.AsyncClient:
        proxy = filtered(url, **options)
        proxies.append(proxy)
        transport = httpx.ASGITransport(app=proxy, client=("10.0.0.7", 4567))
        clients.append(httpx.AsyncClient(transport=transport, base_url="http://proxy.test"))
        return clients[-1]

    yield make
    for client in clients:
        await client.aclose()
    for proxy in proxies:
        await proxy.aclose()


def read_head(connection) -> tuple[bytes, bool]:
    """What a raw upstream reads of a request: up to its head's end (or 64 KiB), and
    whether the client closed before that."""
    connection.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 65536:
        piece = connection.recv(4096)
        if not piece:
            return head, True
        head += piece
    return head, False


def echoed(response: httpx.Response) -> dict[str, list[str]]:
    """The request headers the upstream's /echo saw, name -> values."""
    headers: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        headers.setdefault(name, []).append(value)
    return headers


async def test_html_from_the_upstream_is_filtered(upstream, through):
    response = await through(upstream).get("/page")
    assert response.content == FILTERED_PAGE
    assert response.headers.get("content-length", str(len(FILTERED_PAGE))) == str(len(FILTERED_PAGE))  # absent when streamed


async def test_a_page_marked_no_transform_goes_past_the_filters_as_the_upstream_sent_it(upstream, through):
    # RFC 9111 section 5.2.2.6: an intermediary (a reverse proxy is one) must not transform it.
    response = await through(upstream).get("/no-transform")
    assert response.status_code == 200 and b"<hr>" not in response.content
    assert response.headers["cache-control"] == "public, No-Transform, max-age=60"
    assert (await through(upstream).get("/page")).content == FILTERED_PAGE


async def test_gzip_html_is_filtered_and_sent_gzip_encoded(upstream, through):
    response = await through(upstream).get("/gzip", headers={"accept-encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == FILTERED_PAGE  # httpx decoded it
    assert response.headers.get("content-length", str(len(gzip.compress(FILTERED_PAGE, mtime=0)))) == str(
        len(gzip.compress(FILTERED_PAGE, mtime=0))
    )  # absent when streamed


async def test_compressed_bodies_not_filtered_pass_as_the_upstream_sent_them(upstream):
    proxy = ReverseProxy(upstream, filters=[Inject(html="<hr>", filter_content_types=("application/json",))])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=proxy), base_url="http://proxy.test") as client:
        async with client.stream("GET", "/gzip", headers={"accept-encoding": "gzip"}) as response:
            raw = b"".join([chunk async for chunk in response.aiter_raw()])
    await proxy.aclose()
    assert (response.headers["content-encoding"], raw) == ("gzip", GZIPPED_PAGE)
    assert response.headers.get("content-length", str(len(GZIPPED_PAGE))) == str(len(GZIPPED_PAGE))  # absent when streamed


async def test_accept_encoding_is_forwarded_as_the_client_sent_it(upstream, through):
    response = await through(upstream).get("/echo", headers={"accept-encoding": "br;q=1, identity;q=0.5"})
    assert echoed(response)["accept-encoding"] == ["br;q=1, identity;q=0.5"]


async def test_no_accept_encoding_is_added_when_the_client_sent_none(upstream, through):
    client = through(upstream)
    request = client.build_request("GET", "/echo")
    del request.headers["accept-encoding"]
    response = await client.send(request)
    assert "accept-encoding" not in echoed(response)


async def test_the_host_header_is_the_upstreams(upstream, through):
    response = await through(upstream).get("/echo")
    assert echoed(response)["host"] == [urlsplit(upstream).netloc]


async def test_x_forwarded_headers_describe_the_client(upstream, through):
    response = await through(upstream).get("/echo", headers={"x-forwarded-for": "192.0.2.1"})
    headers = echoed(response)
    assert headers["x-forwarded-for"] == ["192.0.2.1, 10.0.0.7"]
    assert headers["x-forwarded-proto"] == ["http"]
    assert headers["x-forwarded-host"] == ["proxy.test"]


async def test_hop_by_hop_request_headers_are_not_forwarded(upstream, through):
    hop = {
        "connection": "keep-alive, x-private",
        "x-private": "secret",
        "keep-alive": "timeout=5",
        "te": "trailers",
        "upgrade": "h2c",
        "proxy-authorization": "Basic eDp5",
        "x-kept": "yes",
    }
    headers = echoed(await through(upstream).get("/echo", headers=hop))
    assert not {"connection", "x-private", "keep-alive", "te", "upgrade", "proxy-authorization"} & set(headers)
    assert headers["x-kept"] == ["yes"]


async def test_hop_by_hop_response_headers_are_not_returned(upstream, through):
    response = await through(upstream).get("/hop")
    assert not {"connection", "x-private", "keep-alive"} & set(response.headers)
    assert response.headers["x-kept"] == "yes"


async def test_the_path_and_query_reach_the_upstream(upstream, through):
    response = await through(upstream).get("/echo?a=1&b=%26")
    assert (response.json()["path"], response.json()["query"]) == ("/echo", "a=1&b=%26")


async def test_a_streamed_request_body_reaches_the_upstream_whole(upstream, through):
    async def chunks():
        for part in (b"one,", b"two,", b"three"):
            yield part

    response = await through(upstream).post("/echo", content=chunks())
    assert response.json()["body"] == "one,two,three"
    assert echoed(response)["transfer-encoding"] == ["chunked"]


async def test_an_absolute_redirect_to_the_upstream_points_at_the_proxy(upstream, through):
    response = await through(upstream).get("/redirect")
    assert (response.status_code, response.headers["location"]) == (302, "http://proxy.test/page?x=1#top")


async def test_a_redirect_elsewhere_is_left_alone(upstream, through):
    response = await through(upstream).get("/away")
    assert response.headers["location"] == "https://example.org/page"


async def test_the_upstreams_cookie_domain_is_dropped_and_others_kept(upstream, through):
    response = await through(upstream).get("/cookie")
    assert response.headers.get_list("set-cookie") == [
        "session=abc; Path=/; HttpOnly",
        "other=1; Domain=example.org; Path=/elsewhere",
    ]


async def test_the_proxy_keeps_no_cookies_between_clients(upstream, through):
    client = through(upstream)
    await client.get("/cookie")
    client.cookies.clear()
    assert "cookie" not in echoed(await client.get("/echo"))


async def test_an_upstream_path_prefix_maps_to_the_proxys_root(upstream, through):
    client = through(upstream + "/app/")
    assert (await client.get("/echo")).json()["path"] == "/app/echo"
    assert (await client.get("/redirect")).headers["location"] == "http://proxy.test/page?x=1#top"
    assert (await client.get("/relative-redirect")).headers["location"] == "/page"
    assert (await client.get("/cookie")).headers.get_list("set-cookie")[0] == "session=abc; Path=/; HttpOnly"


async def test_a_large_non_html_body_comes_through_byte_identical(upstream, through):
    response = await through(upstream).get("/large")
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.content == LARGE


def request(method: str, target: str, headers: tuple[tuple[str, str], ...] = (), http_version: str = "1.1") -> dict:
    """The scope of a request for ``target`` (path and query, byte for byte) as a server hands it to an ASGI app."""
    path, _, query = target.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": http_version,
        "method": method,
        "scheme": "http",
        "path": unquote(path),
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"proxy.test"), *((name.encode(), value.encode()) for name, value in headers)],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


def get(path: str) -> dict:
    """The scope of a GET for ``path`` as a server hands it to an ASGI app."""
    return request("GET", path)


@dataclass
class Answer:
    """What an ASGI app sent for one request."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    complete: bool = False


async def ask(proxy: ReverseProxy, scope: dict) -> Answer:
    """Call ``proxy`` for ``scope`` as a server would (bounded in time) and collect its answer."""
    answer = Answer()

    async def send(message):
        if message["type"] == "http.response.start":
            answer.status = message["status"]
            answer.headers = {name.decode(): value.decode() for name, value in message["headers"]}
        else:
            answer.body += message.get("body", b"")
            answer.complete = not message.get("more_body", False)

    with anyio.fail_after(10):
        await proxy(scope, Client().receive, send)
    return answer


def seen_upstream(answer: Answer) -> dict:
    """The request as the Recorder upstream received it, from the proxy's answer."""
    assert answer.status == 200, answer
    return json.loads(answer.body)


class Client:
    """A server's ``receive`` for one bodiless request: the request, then ``http.disconnect`` once ``leave()`` is called."""

    def __init__(self) -> None:
        self.requested = False
        self.left = anyio.Event()

    async def receive(self) -> dict:
        if not self.requested:
            self.requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.left.wait()
        return {"type": "http.disconnect"}

    def leave(self) -> None:
        self.left.set()


async def test_a_non_html_body_streams_before_the_upstream_has_finished(upstream, gate):
    """The upstream sends its second chunk only after the client has the first one."""
    gate.clear()
    proxy = filtered(upstream)
    body = []

    async def send(message):
        if message["type"] == "http.response.body" and message["body"]:
            body.append(message["body"])
            gate.set()

    with anyio.fail_after(10):
        await proxy(get("/gate"), Client().receive, send)
    await proxy.aclose()
    assert body == [b"first", b"second"]


async def test_the_proxy_stops_reading_the_upstream_when_the_client_leaves(upstream, gate):
    """The upstream holds its second chunk until ``gate`` is set, which only the cleanup does."""
    gate.clear()
    proxy = filtered(upstream)
    client = Client()
    body = []

    async def send(message):
        if message["type"] == "http.response.body" and message["body"]:
            body.append(message["body"])
            client.leave()

    try:
        with anyio.fail_after(5):
            await proxy(get("/gate"), client.receive, send)
    finally:
        gate.set()
        await proxy.aclose()
    assert body == [b"first"]


async def test_large_bodies_go_out_in_the_chunks_they_come_in(upstream):
    proxy = filtered(upstream)
    sizes = []

    async def send(message):
        if message["type"] == "http.response.body" and message["body"]:
            sizes.append(len(message["body"]))

    await proxy(get("/large"), Client().receive, send)
    await proxy.aclose()
    assert sum(sizes) == len(LARGE)
    assert max(sizes) <= 2 * CHUNK  # never the whole body at once


async def test_an_unreachable_upstream_is_a_502_with_one_line(through):
    url = f"http://127.0.0.1:{dead_port()}"
    response = await through(url).get("/page")
    assert response.status_code == 502
    assert response.text.startswith(f"502 Bad Gateway: cannot reach {url} for GET /page: ")
    assert response.text.count("\n") == 1 and response.text.endswith("\n")


async def test_an_upstream_that_does_not_answer_in_time_is_a_504(upstream, through):
    response = await through(upstream, timeout=0.3).get("/slow")
    assert response.status_code == 504
    assert response.text == f"504 Gateway Timeout: {upstream} did not answer GET /slow within 0.3 s\n"


@pytest.mark.parametrize("prefix", ["", "/app"])
async def test_the_path_and_query_reach_the_upstream_byte_for_byte_under_its_path(recorder, prefix):
    _, url = recorder
    target = '/a/./b/../c%2fd?q="<>&x=%41'
    async with aclosing(filtered(url + prefix)) as proxy:
        seen = seen_upstream(await ask(proxy, request("GET", target)))
    assert seen["target"] == prefix + target


@pytest.mark.parametrize("path", ["/../admin", "/x/../../admin", "/%2e%2E/admin", "/..;/admin", "/..%2fadmin", "/..\\admin"])
async def test_a_path_climbing_above_the_upstreams_path_is_refused_and_not_forwarded(recorder, path):
    app, url = recorder
    asked = len(app.targets)
    async with aclosing(filtered(url + "/app")) as proxy:
        answer = await ask(proxy, request("GET", path))
    assert (answer.status, answer.body) == (400, f"400 Bad Request: the path {path!r} climbs above the proxy's root\n".encode())
    assert len(app.targets) == asked


@pytest.mark.parametrize("prefix", ["", "/app"])
@pytest.mark.parametrize("form", ["http://front.example/x", "HTTP://front.example:8080/x", "https://front.example/x"])
async def test_an_absolute_form_target_goes_upstream_as_its_path(recorder, prefix, form):
    # RFC 9112 section 3.2.2: a server must take the absolute-form; uvicorn's h11 protocol hands it on as it came.
    _, url = recorder
    scope = request("GET", "/x?q=1")
    scope["raw_path"] = form.encode()
    async with aclosing(filtered(url + prefix)) as proxy:
        seen = seen_upstream(await ask(proxy, scope))
    assert seen["target"] == prefix + "/x?q=1"


def test_an_upstream_location_that_is_no_url_is_left_alone():
    upstream = Upstream("http://127.0.0.1:8000/app")
    for location in ("http://[bad/x", "http://127.0.0.1:99999999/x", "//[::1/x"):
        assert upstream.relocate(location, "http://proxy.test") == location


async def test_a_request_target_that_is_not_a_path_is_refused(recorder):
    app, url = recorder
    asked = len(app.targets)
    async with aclosing(filtered(url)) as proxy:
        answer = await ask(proxy, request("GET", "*"))
    assert (answer.status, answer.body) == (400, b"400 Bad Request: the request target '*' is not a path\n")
    assert len(app.targets) == asked


async def test_options_asterisk_goes_upstream_as_asterisk(recorder):
    _, url = recorder
    async with aclosing(filtered(url)) as proxy:
        seen = seen_upstream(await ask(proxy, request("OPTIONS", "*")))
    assert (seen["method"], seen["target"]) == ("OPTIONS", "*")


async def test_options_asterisk_asks_about_the_upstreams_path_when_it_has_one(recorder):
    _, url = recorder
    async with aclosing(filtered(url + "/app/")) as proxy:
        seen = seen_upstream(await ask(proxy, request("OPTIONS", "*")))
    assert (seen["method"], seen["target"]) == ("OPTIONS", "/app")


@pytest.mark.parametrize(
    ("http_version", "received", "sent"),
    [
        ("1.1", (), "1.1 dualfilter"),
        ("1.0", (("via", "1.0 fred"), ("via", "1.1 p.example.net")), "1.0 fred, 1.1 p.example.net, 1.0 dualfilter"),
    ],
)
async def test_via_gets_the_clients_protocol_and_the_proxys_name_appended(recorder, http_version, received, sent):
    _, url = recorder
    async with aclosing(filtered(url)) as proxy:
        seen = seen_upstream(await ask(proxy, request("GET", "/", received, http_version)))
    assert seen["headers"]["via"] == sent


@pytest.mark.parametrize("method", ["OPTIONS", "TRACE"])
async def test_max_forwards_of_options_and_trace_is_decremented(recorder, method):
    _, url = recorder
    async with aclosing(filtered(url)) as proxy:
        seen = seen_upstream(await ask(proxy, request(method, "/x", (("max-forwards", "5"),))))
    assert seen["headers"]["max-forwards"] == "4"


async def test_max_forwards_of_other_methods_goes_upstream_unchanged(recorder):
    _, url = recorder
    async with aclosing(filtered(url)) as proxy:
        seen = seen_upstream(await ask(proxy, request("GET", "/x", (("max-forwards", "0"),))))
    assert seen["headers"]["max-forwards"] == "0"


async def test_options_with_max_forwards_0_is_answered_by_the_proxy_with_what_it_forwards(recorder):
    app, url = recorder
    asked = len(app.targets)
    async with aclosing(filtered(url)) as proxy:
        answer = await ask(proxy, request("OPTIONS", "*", (("max-forwards", "0"),)))
    assert (answer.status, answer.headers["allow"], answer.body) == (
        200,
        "GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH",
        b"",
    )
    assert len(app.targets) == asked


async def test_trace_with_max_forwards_0_is_reflected_by_the_proxy_without_credentials(recorder):
    app, url = recorder
    asked = len(app.targets)
    headers = (("max-forwards", "0"), ("cookie", "session=secret"), ("authorization", "Basic eDp5"), ("x-kept", "yes"))
    async with aclosing(filtered(url)) as proxy:
        answer = await ask(proxy, request("TRACE", "/a?b", headers))
    assert (answer.status, answer.headers["content-type"]) == (200, "message/http")
    assert answer.body == b"TRACE /a?b HTTP/1.1\r\nhost: proxy.test\r\nmax-forwards: 0\r\nx-kept: yes\r\n\r\n"
    assert len(app.targets) == asked


async def test_an_upstream_stalling_in_the_middle_of_a_filtered_page_is_a_504(upstream, through):
    response = await through(upstream, timeout=0.3).get("/stalling-page")
    assert response.status_code == 504
    assert response.text == f"504 Gateway Timeout: {upstream} stalled for 0.3 s in its answer to GET /stalling-page\n"


async def test_an_upstream_breaking_off_in_the_middle_of_a_filtered_page_is_a_502(upstream, through):
    response = await through(upstream).get("/broken-page")
    assert response.status_code == 502
    assert response.text.startswith(f"502 Bad Gateway: {upstream} broke off its answer to GET /broken-page: ")


async def test_an_upstream_breaking_off_a_body_already_on_its_way_ends_the_response_early(upstream):
    async with aclosing(filtered(upstream)) as proxy:
        answer = await ask(proxy, get("/broken-download"))
    assert (answer.status, answer.body, answer.complete) == (200, b"<p>first part", False)


@pytest.mark.parametrize(
    "url", ["ftp://example.org", "example.org", "http://user:pw@example.org", "http://example.org/?q=1", "http://x:99999"]
)
def test_an_upstream_url_must_be_plain_http_or_https(url):
    with pytest.raises(ValueError):
        Upstream(url)


@pytest.mark.parametrize("content_type", [b"image/png", b"text/html"])
async def test_a_content_length_beside_chunked_framing_is_not_forwarded(content_type):
    # RFC 9112 section 6.3: Transfer-Encoding overrides Content-Length, and an intermediary
    # forwarding such a message must remove the Content-Length it received.
    import socket

    from tests.support.cli_servers import listening_socket

    body = bytes(range(30))
    answer_bytes = (
        b"HTTP/1.1 200 OK\r\nContent-Type: " + content_type + b"\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n1e\r\n" + body + b"\r\n0\r\n\r\n"
    )
    sock = listening_socket()

    def serve_once():
        sock.settimeout(10)
        connection, _ = sock.accept()
        with connection:
            _, closed = read_head(connection)
            if closed:
                return
            connection.sendall(answer_bytes)
            connection.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    proxy = ReverseProxy(f"http://127.0.0.1:{sock.getsockname()[1]}", filters=[])
    try:
        answer = await ask(proxy, get("/"))
    finally:
        await proxy.aclose()
        thread.join(10)
        sock.close()
    assert (answer.status, answer.body, answer.complete) == (200, body, True)
    assert answer.headers.get("content-length") in (None, "30")


def test_a_request_with_chunks_and_a_content_length_goes_upstream_without_the_length(recorder):
    # RFC 9112 section 6.1: an intermediary removes a Content-Length received beside Transfer-Encoding.
    _, url = recorder
    proxy = ReverseProxy(url, filters=[])
    scope = request("POST", "/a", (("Content-Length", "3"), ("Transfer-Encoding", "chunked")))
    names = [name.lower() for name, _ in proxy.request_headers(scope)]
    assert b"content-length" not in names and b"transfer-encoding" not in names


def test_forwarding_headers_the_proxy_does_not_vouch_for_are_not_forwarded(recorder):
    # RFC 7239 section 8: a client may send any Forwarded it likes; only the proxy's own say who the client is.
    _, url = recorder
    proxy = ReverseProxy(url, filters=[])
    forged = (
        ("Forwarded", "for=10.0.0.1;proto=https"),
        ("X-Real-IP", "10.0.0.1"),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Prefix", "/admin"),
    )
    headers = {name.lower(): value for name, value in proxy.request_headers(request("GET", "/", forged))}
    assert not {b"forwarded", b"x-real-ip", b"x-forwarded-port", b"x-forwarded-prefix"} & set(headers)
    assert headers[b"x-forwarded-for"] == b"127.0.0.1"


@pytest.mark.parametrize("status", [204, 304])
def test_a_bodiless_answer_goes_on_without_a_content_length(status):
    proxy = ReverseProxy("http://127.0.0.1:1", filters=[])
    raw = [(b"etag", b'"v1"'), (b"content-length", b"1234")]
    assert proxy.response_headers(get("/"), raw, status) == [(b"etag", b'"v1"')]


async def test_bytes_an_upstream_sends_past_a_response_never_reach_another_client():
    # An upstream answering a HEAD with a body (a whole response in it) on a connection it keeps:
    # read again for the next request, those bytes would be another client's answer.

    from tests.support.cli_servers import listening_socket

    smuggled = b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\nX-Smuggled: yes\r\n\r\nSMUGGLED!"
    sock = listening_socket()
    stop = threading.Event()

    def serve():
        sock.settimeout(0.2)
        connections = []
        try:
            for _ in range(200):  # bounded: 40 s at most
                if stop.is_set():
                    return
                try:
                    connection, _ = sock.accept()
                except TimeoutError:
                    continue
                connections.append(connection)
                head, _ = read_head(connection)
                if head.startswith(b"HEAD"):  # the body the HEAD must not have, the connection kept open
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n" + smuggled)
                else:
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nContent-Type: text/plain\r\n\r\nreal")
        finally:
            for connection in connections:
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    proxy = ReverseProxy(f"http://127.0.0.1:{sock.getsockname()[1]}", filters=[])
    try:
        head = await ask(proxy, request("HEAD", "/"))
        victim = await ask(proxy, get("/victim"))
    finally:
        await proxy.aclose()
        stop.set()
        thread.join(10)
        sock.close()
    assert (head.status, head.body) == (200, b"")
    assert (victim.status, victim.body, "x-smuggled" in victim.headers) == (200, b"real", False)
