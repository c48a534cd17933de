"""What the ASGI adapter costs per request, as ratios measured side by side in one run.

Each variant wraps the same Starlette app and is driven in-process (a scope, a
receive, a send that counts bytes; no network), so only middleware cost
differs: the bare app, a hand-written pure ASGI filter middleware, dualfilter
passing through and filtering (by default, and "inline": thread_threshold=None,
so the 1 MB body is filtered on the event loop rather than in a worker thread),
and the same filter as a BaseHTTPMiddleware. Two responses: 20 KB of HTML in
4 chunks, and 1 MB of non-HTML in 16 chunks.

Every round times each variant once (a run of requests in one task, the
garbage collector on as in a server), the variants interleaved. Prints each
variant against the bare app, then the target ratios: each ratio taken per
round between two variants timed in that round, shown as the median over the
rounds with [min-max], beside the median times per request in microseconds;
targets are judged on the median.

    python benchmarks/bench_asgi.py [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved_async, table  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.middleware.base import BaseHTTPMiddleware  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response, StreamingResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402

from dualfilter import Filter  # noqa: E402

HTML_CHUNK = (b"<p>" + b"lorem ipsum dolor sit amet " * 184 + b"</p>\n")[: 5 * 1024]
HTML_CHUNKS = [b"<html><body>" + HTML_CHUNK[12:], HTML_CHUNK, HTML_CHUNK, HTML_CHUNK[:-14] + b"</body></html>"]
BINARY_CHUNKS = [bytes([i]) * 65536 for i in range(16)]
FILTERED_TYPES = (b"text/html", b"application/octet-stream")


def transform(data: bytes) -> bytes:
    """The filter every variant applies: a small, cheap edit of the body."""
    return data.replace(b"</body>", b"<!-- filtered --></body>", 1)


# -- the app ------------------------------------------------------------------------


async def html(request: Request) -> Response:
    async def chunks():
        for chunk in HTML_CHUNKS:
            yield chunk

    return StreamingResponse(chunks(), media_type="text/html; charset=utf-8")


async def binary(request: Request) -> Response:
    async def chunks():
        for chunk in BINARY_CHUNKS:
            yield chunk

    return StreamingResponse(chunks(), media_type="application/octet-stream")


def make_app() -> Starlette:
    return Starlette(routes=[Route("/html", html), Route("/binary", binary)])


# -- the middlewares compared -----------------------------------------------------


class EditFilter(Filter):
    """The dualfilter version of ``transform``."""

    def filter(self, environ, headers, data):
        return transform(data)


class HandWrittenFilter:
    """A pure ASGI filter middleware written for the job, with no generality:
    buffer matching responses, apply ``transform``, fix Content-Length."""

    def __init__(self, app: Any, types: tuple[bytes, ...]) -> None:
        self.app = app
        self.types = types

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: dict[str, Any] = {}
        chunks: list[bytes] = []
        types = self.types

        async def filtering_send(message) -> None:
            if not held:
                if message["type"] == "http.response.start":
                    content_type = next((v for k, v in message["headers"] if k == b"content-type"), b"")
                    if message["status"] == 200 and content_type.split(b";")[0].strip().lower() in types:
                        held["start"] = message
                        return
                    held["pass"] = True
                await send(message)
            elif "pass" in held:
                await send(message)
            else:
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body = transform(b"".join(chunks))
                    start = held["start"]
                    headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
                    headers.append((b"content-length", str(len(body)).encode()))
                    await send({"type": "http.response.start", "status": start["status"], "headers": headers})
                    await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, filtering_send)


class EditMiddleware(BaseHTTPMiddleware):
    """The same filter written the common way, with Starlette's BaseHTTPMiddleware."""

    def __init__(self, app: Any, types: tuple[bytes, ...]) -> None:
        super().__init__(app)
        self.types = tuple(t.decode() for t in types)

    async def dispatch(self, request: Request, call_next: Callable) -> Response:
        response = await call_next(request)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if response.status_code != 200 or content_type not in self.types:
            return response
        body = transform(b"".join([chunk async for chunk in response.body_iterator]))
        headers = {k: v for k, v in response.headers.items() if k != "content-length"}
        return Response(body, status_code=response.status_code, headers=headers)


VARIANTS: dict[str, Callable[[], Any]] = {
    "bare Starlette app": make_app,
    "hand-written, passthrough": lambda: HandWrittenFilter(make_app(), (b"application/xml",)),
    "dualfilter, passthrough": lambda: EditFilter(make_app(), filter_content_types=("application/xml",)),
    "hand-written, filtered": lambda: HandWrittenFilter(make_app(), FILTERED_TYPES),
    "dualfilter, filtered": lambda: EditFilter(make_app(), filter_content_types=[t.decode() for t in FILTERED_TYPES]),
    "dualfilter, filtered, inline": lambda: EditFilter(
        make_app(), filter_content_types=[t.decode() for t in FILTERED_TYPES], thread_threshold=None
    ),
    "BaseHTTPMiddleware, filtered": lambda: EditMiddleware(make_app(), FILTERED_TYPES),
}


# -- driving ------------------------------------------------------------------------


def scope_for(path: str) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"accept", b"*/*"), (b"user-agent", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }


async def one_request(app: Any, path: str) -> int:
    """One request through ``app``; returns the body length sent."""
    sent = 0
    requested = False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if requested:
            await asyncio.Event().wait()  # nothing more to receive; the app never waits here
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal sent
        if message["type"] == "http.response.body":
            sent += len(message.get("body", b""))

    await app(scope_for(path), receive, send)
    return sent


async def measure(rounds: int) -> dict[tuple[str, str], list[float]]:
    """Seconds per request of each (workload, variant), one value per round."""
    apps = {name: build() for name, build in VARIANTS.items()}
    workloads = {"20 KB HTML": ("/html", 100), "1 MB non-HTML": ("/binary", 10)}
    times: dict[tuple[str, str], list[float]] = {}
    for workload, (path, requests) in workloads.items():
        for app in apps.values():  # warm up; check every variant sends the whole body
            assert await one_request(app, path) >= sum(map(len, HTML_CHUNKS if path == "/html" else BINARY_CHUNKS))
        candidates = {name: functools.partial(one_request, app, path) for name, app in apps.items()}
        for name, samples in (await interleaved_async(candidates, requests, rounds, collect=True)).items():
            times[workload, name] = samples
    return times


def report(times: dict[tuple[str, str], list[float]]) -> None:
    workloads = list(dict.fromkeys(w for w, _ in times))
    bare = "bare Starlette app"
    rows = [
        (f"{name}, {workload}", bare, times[workload, name], times[workload, bare], "")
        for workload in workloads
        for name in VARIANTS
        if name != bare
    ]
    table("Per request, against the bare app (in-process, no network)", rows)
    targets = [
        ("dualfilter, filtered", "hand-written, filtered", "<=", 1.1),
        ("dualfilter, filtered, inline", "hand-written, filtered", "<=", 1.1),
        ("BaseHTTPMiddleware, filtered", "dualfilter, filtered", ">", 1.0),
        ("dualfilter, passthrough", "hand-written, passthrough", "<=", 1.1),
    ]
    rows = [
        (f"{case}, {workload}", baseline, times[workload, case], times[workload, baseline], (op, bound))
        for workload in workloads
        for case, baseline, op, bound in targets
    ]
    table("Targets", rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="interleaved rounds, each timing every variant once (default 40)")
    args = parser.parse_args()
    report(asyncio.run(measure(args.rounds)))


if __name__ == "__main__":
    main()
