"""``ReverseProxy`` against a real upstream on uvicorn that sends no Date and holds requests open:
the proxy dates what it forwards, and never makes a request wait for a pooled connection."""

from __future__ import annotations

import contextlib
import email.utils
import threading

import anyio
import httpx
import pytest

from dualfilter.cli.proxy import ReverseProxy
from dualfilter.filters.inject import Inject
from tests.support.cli_servers import listening_socket

HELD = 110  # more than httpx's default pool of 100 connections


class Holding:
    """``/hold`` answers once ``release`` is set; anything else at once. No Date header (uvicorn adds none here)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.held = 0
        self.lock = threading.Lock()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        if scope["path"] == "/hold":
            with self.lock:
                self.held += 1
            await anyio.to_thread.run_sync(self.release.wait, 20)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": b"<p>" + scope["path"].encode() + b"</p>"})


@pytest.fixture(scope="module")
def upstream():
    import uvicorn

    app = Holding()
    sock = listening_socket()
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, date_header=False, backlog=256))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        app.release.set()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@contextlib.asynccontextmanager
async def proxied(url: str, **options):
    proxy = ReverseProxy(url, filters=[Inject(html="<hr>")], **options)
    transport = httpx.ASGITransport(app=proxy, client=("10.0.0.7", 4567))
    async with httpx.AsyncClient(transport=transport, base_url="http://proxy.test", timeout=30) as client:
        try:
            yield client
        finally:
            await proxy.aclose()


async def test_a_response_the_upstream_sent_without_a_date_gets_one_and_so_do_the_proxys_own(upstream):
    # RFC 9110 section 6.6.1: a recipient with a clock forwarding a response without Date appends one.
    _, url = upstream
    async with proxied(url) as client:
        forwarded = await client.get("/page")
        own = await client.options("/page", headers={"Max-Forwards": "0"})  # the proxy answers it itself
    for response in (forwarded, own):
        assert email.utils.parsedate_to_datetime(response.headers["date"]) is not None
    assert forwarded.text == "<p>/page</p><hr>" and own.status_code == 200 and "allow" in own.headers


async def test_requests_held_open_upstream_do_not_make_the_next_one_wait_for_a_connection(upstream):
    app, url = upstream
    async with proxied(url, timeout=3.0) as client:
        async with anyio.create_task_group() as group:
            for _ in range(HELD):
                group.start_soon(client.get, "/hold")
            with anyio.fail_after(20):
                while app.held < HELD:  # every one of them reached the upstream
                    await anyio.sleep(0.05)
            with anyio.fail_after(2.5):  # within the proxy's timeout: no wait for a pooled connection
                response = await client.get("/now")
            app.release.set()
    assert (response.status_code, response.text) == (200, "<p>/now</p><hr>")
