"""Driving an ASGI app in-process: a scope, a receive, a send that records every message."""

from __future__ import annotations

from typing import Any

import anyio

from tests.support.filters import Upper as UpperFilter  # noqa: F401 - the folder's tests import it from here

HTML = "text/html; charset=utf-8"


def make_scope(
    path: str = "/",
    *,
    method: str = "GET",
    headers: list[tuple[bytes, bytes]] | None = None,
    query_string: bytes = b"",
    root_path: str = "",
    extensions: dict[str, Any] | None = None,
    kind: str = "http",
) -> dict[str, Any]:
    """An ASGI ``http`` scope as a server would build it."""
    scope: dict[str, Any] = {
        "type": kind,
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": root_path + path,
        "raw_path": (root_path + path).encode(),
        "root_path": root_path,
        "query_string": query_string,
        "headers": headers if headers is not None else [(b"host", b"example.com")],
        "client": ("127.0.0.1", 50000),
        "server": ("example.com", 80),
    }
    if extensions is not None:
        scope["extensions"] = extensions
    return scope


class Exchange:
    """One request's receive and a send that records; ``receive`` answers
    ``http.disconnect`` once the response is complete (or ``disconnect`` is set)."""

    def __init__(self, body: bytes = b"") -> None:
        self.request_body = body
        self.messages: list[dict[str, Any]] = []
        self.complete = anyio.Event()
        self.disconnect = anyio.Event()
        self._requested = False
        self._trailers = False

    async def receive(self) -> dict[str, Any]:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": self.request_body, "more_body": False}
        async with anyio.create_task_group() as tg:

            async def wait(event: anyio.Event) -> None:
                await event.wait()
                tg.cancel_scope.cancel()

            tg.start_soon(wait, self.complete)
            tg.start_soon(wait, self.disconnect)
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        assert not self.complete.is_set(), f"message after the response completed: {message}"
        self.messages.append(message)
        kind = message["type"]
        if kind == "http.response.start":
            self._trailers = bool(message.get("trailers", False))
        elif kind == "http.response.body" and not message.get("more_body", False) and not self._trailers:
            self.complete.set()
        elif kind == "http.response.trailers" and not message.get("more_trailers", False):
            self.complete.set()
        elif kind == "http.response.pathsend":
            self.complete.set()

    @property
    def types(self) -> list[str]:
        return [message["type"] for message in self.messages]

    @property
    def start(self) -> dict[str, Any]:
        starts = [m for m in self.messages if m["type"] == "http.response.start"]
        assert len(starts) == 1, self.types
        return starts[0]

    @property
    def status(self) -> int:
        return self.start["status"]

    @property
    def headers(self) -> dict[bytes, bytes]:
        return dict(self.start["headers"])

    @property
    def body(self) -> bytes:
        return b"".join(m.get("body", b"") for m in self.messages if m["type"] == "http.response.body")


async def call(app: Any, scope: dict[str, Any] | None = None, body: bytes = b"") -> Exchange:
    """Run one request through ``app`` and return the exchange with what was sent."""
    exchange = Exchange(body)
    await app(scope if scope is not None else make_scope(), exchange.receive, exchange.send)
    return exchange


def raw_app(*messages: dict[str, Any]):
    """An ASGI app that sends exactly ``messages``."""

    async def app(scope, receive, send):
        for message in messages:
            await send(message)

    return app


def start(content_type: str | None = HTML, status: int = 200, **extra: Any) -> dict[str, Any]:
    """An ``http.response.start`` message."""
    headers = [] if content_type is None else [(b"content-type", content_type.encode())]
    return {"type": "http.response.start", "status": status, "headers": headers, **extra}


def body(data: bytes, more: bool = False) -> dict[str, Any]:
    """An ``http.response.body`` message."""
    return {"type": "http.response.body", "body": data, "more_body": more}
