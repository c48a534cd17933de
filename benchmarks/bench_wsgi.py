"""What the WSGI adapter costs per request, as ratios measured side by side in one run.

Each variant wraps the same WSGI app and is driven in-process by a minimal
server loop (call, iterate, close; no network), so only middleware cost
differs: the bare app, a hand-written minimal WSGI filter middleware,
dualfilter, and the same filter as a WebOb ``wsgify`` middleware, each once
passing through (configured for another type) and once filtering. Workloads:
20 KB of HTML in 4 chunks, 1 MB of non-HTML in 64 KB chunks, and the same
1 MB from an app that calls ``start_response`` lazily.

Every round times each variant once (a run of requests, the garbage collector
on as in a server), the variants interleaved. Prints, per workload, each
variant's time relative to the bare app's and the target ratios: each ratio
taken per round between two variants timed in that round, shown as the median
over the rounds with [min-max]; targets are judged on the median. The bare
app's time per request is the median, in microseconds. Then the peak memory
(tracemalloc) of serving the 1 MB passthrough, whose chunks are allocated as
they are sent: one chunk in flight is the ideal, the whole body the failure.

    python benchmarks/bench_wsgi.py [--rounds N] [--scale F]
"""

from __future__ import annotations

import argparse
import functools
import io
import sys
import tracemalloc
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, judge, micros, ratios, spread  # noqa: E402
from webob import Request, Response  # noqa: E402
from webob.dec import wsgify  # noqa: E402

from dualfilter import Filter  # noqa: E402

HTML_CHUNK = (b"<p>" + b"lorem ipsum dolor sit amet " * 190 + b"</p>\n")[: 5 * 1024]
HTML_CHUNKS = [b"<html><body>" + HTML_CHUNK[12:], HTML_CHUNK, HTML_CHUNK, HTML_CHUNK[:-14] + b"</body></html>"]
CHUNK_SIZE = 64 * 1024
BINARY_CHUNKS = [bytes([i]) * CHUNK_SIZE for i in range(16)]
PASS_TYPES = ("application/xml",)  # matches neither workload: everything passes through
FILTER_TYPES = ("text/html", "application/octet-stream")  # matches both: everything is filtered

App = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def transform(data: bytes) -> bytes:
    """The filter every variant applies: a small, cheap edit of the body."""
    return data.replace(b"</body>", b"<!-- filtered --></body>", 1)


# -- the apps -----------------------------------------------------------------------


def streaming_app(content_type: str, chunks: Callable[[], Iterator[bytes]], length: int, lazy: bool = False) -> App:
    """A WSGI app streaming ``chunks()``; ``lazy`` calls start_response on the first next()."""
    headers = [("Content-Type", content_type), ("Content-Length", str(length))]

    def app(environ, start_response):
        if not lazy:
            start_response("200 OK", list(headers))
            return chunks()

        def body():
            start_response("200 OK", list(headers))
            yield from chunks()

        return body()

    return app


def prebuilt(chunks: list[bytes]) -> Callable[[], Iterator[bytes]]:
    def generate() -> Iterator[bytes]:
        yield from chunks

    return generate


def allocated(count: int) -> Iterator[bytes]:
    """Fresh chunks, as an app reading a file would make them."""
    for _ in range(count):
        yield bytes(CHUNK_SIZE)


WORKLOADS: dict[str, tuple[App, int]] = {
    "20 KB HTML, 4 chunks": (streaming_app("text/html; charset=utf-8", prebuilt(HTML_CHUNKS), 20 * 1024), 2000),
    "1 MB non-HTML, 64 KB chunks": (streaming_app("application/octet-stream", prebuilt(BINARY_CHUNKS), 1 << 20), 1000),
    "same, lazy start_response": (streaming_app("application/octet-stream", prebuilt(BINARY_CHUNKS), 1 << 20, lazy=True), 1000),
}


# -- the middlewares compared -----------------------------------------------------


class EditFilter(Filter):
    """The dualfilter version of ``transform``."""

    def filter(self, environ, headers, data):
        return transform(data)


def hand_written(app: App, types: tuple[str, ...]) -> App:
    """A WSGI filter middleware written for the job, with no generality: no
    write(), no exc_info, no lazy start_response for filtered responses."""

    def middleware(environ, start_response):
        held: list[Any] = []
        body: list[bytes] = []

        def capture(status, headers, exc_info=None):
            content_type = ""
            for name, value in headers:
                if name.lower() == "content-type":
                    content_type = value
                    break
            if status[:3] == "200" and content_type.split(";", 1)[0].strip().lower() in types:
                held[:] = [status, headers]
                return body.append
            return start_response(status, headers, exc_info)

        app_iter = app(environ, capture)
        if not held:
            return app_iter
        try:
            body.extend(app_iter)
        finally:
            if hasattr(app_iter, "close"):
                app_iter.close()
        new = transform(b"".join(body))
        status, headers = held
        headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
        headers.append(("Content-Length", str(len(new))))
        start_response(status, headers)
        return [new]

    return middleware


def webob_middleware(app: App, types: tuple[str, ...]) -> App:
    """The same filter written the common WebOb way."""

    @wsgify.middleware
    def edit(request: Request, app: App) -> Response:
        response = request.get_response(app)
        if response.status_code == 200 and response.content_type in types:
            response.body = transform(response.body)
        return response

    return edit(app)


VARIANTS: dict[str, Callable[[App], Any] | None] = {
    "bare app": None,
    "hand-written, passthrough": lambda app: hand_written(app, PASS_TYPES),
    "dualfilter, passthrough": lambda app: EditFilter(app, filter_content_types=PASS_TYPES),
    "WebOb wsgify, passthrough": lambda app: webob_middleware(app, PASS_TYPES),
    "hand-written, filtered": lambda app: hand_written(app, FILTER_TYPES),
    "dualfilter, filtered": lambda app: EditFilter(app, filter_content_types=FILTER_TYPES),
    "WebOb wsgify, filtered": lambda app: webob_middleware(app, FILTER_TYPES),
}
#: What the hand-written middleware does not handle (it would send a broken response).
UNSUPPORTED = {("same, lazy start_response", "hand-written, filtered")}


# -- driving ------------------------------------------------------------------------

ENVIRON: dict[str, Any] = {
    "REQUEST_METHOD": "GET",
    "SCRIPT_NAME": "",
    "PATH_INFO": "/",
    "QUERY_STRING": "",
    "SERVER_NAME": "bench",
    "SERVER_PORT": "80",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "HTTP_HOST": "bench",
    "HTTP_ACCEPT": "*/*",
    "HTTP_USER_AGENT": "bench",
    "wsgi.version": (1, 0),
    "wsgi.url_scheme": "http",
    "wsgi.input": io.BytesIO(),
    "wsgi.errors": io.StringIO(),
    "wsgi.multithread": False,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
}


def wrapped(app: App, wrap: Callable[[App], Any] | None) -> Any:
    return app if wrap is None else wrap(app)


def one_request(app: App) -> int:
    """One request through ``app``, served the way a WSGI server does; returns the body length."""
    sent = 0

    def write(data: bytes) -> None:
        nonlocal sent
        sent += len(data)

    def start_response(status, headers, exc_info=None):
        return write

    result = app(dict(ENVIRON), start_response)
    try:
        for chunk in result:
            sent += len(chunk)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return sent


def measure(rounds: int, scale: float) -> dict[tuple[str, str], list[float]]:
    """Seconds per request of each (workload, variant), one value per round."""
    times: dict[tuple[str, str], list[float]] = {}
    for workload, (app, requests) in WORKLOADS.items():
        apps = {name: wrapped(app, wrap) for name, wrap in VARIANTS.items() if (workload, name) not in UNSUPPORTED}
        for served in apps.values():  # warm up; check every variant sends the whole body
            assert one_request(served) >= 20 * 1024
        count = max(1, int(requests * scale))
        candidates = {name: functools.partial(one_request, served) for name, served in apps.items()}
        for name, samples in interleaved(candidates, count, rounds, collect=True).items():
            times[workload, name] = samples
    return times


def peak_memory(wrap: Callable[[App], Any] | None, lazy: bool) -> int:
    """Peak bytes allocated while serving 1 MB of freshly allocated 64 KB chunks."""
    app = wrapped(streaming_app("application/octet-stream", lambda: allocated(16), 1 << 20, lazy=lazy), wrap)
    one_request(app)  # warm up: imports and caches are not the response's
    tracemalloc.start()
    try:
        assert one_request(app) == 1 << 20
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- reporting ----------------------------------------------------------------------


def report(times: dict[tuple[str, str], list[float]]) -> None:
    workloads = list(WORKLOADS)
    rounds = len(next(iter(times.values())))
    width = max(len(name) for name in VARIANTS)
    print(f"ratios per round, median [min-max] over {rounds} interleaved rounds; targets are judged on the median")
    print()
    print(f"{'per request, relative to the bare app':<{width}}" + "".join(f"  {w:>29}" for w in workloads))
    for name in VARIANTS:
        cells = [spread(ratios(times[w, name], times[w, "bare app"])) if (w, name) in times else "n/a" for w in workloads]
        print(f"{name:<{width}}" + "".join(f"  {c:>29}" for c in cells))
    print(
        f"{'(bare app, median microseconds)':<{width}}" + "".join(f"  {micros(times[w, 'bare app']):>29.1f}" for w in workloads)
    )
    print()
    targets = [
        ("dualfilter filtered / hand-written filtered", "dualfilter, filtered", "hand-written, filtered", "<=", 1.1),
        ("WebOb filtered / dualfilter filtered", "WebOb wsgify, filtered", "dualfilter, filtered", ">", 1.0),
        ("dualfilter passthrough / hand-written passthrough", "dualfilter, passthrough", "hand-written, passthrough", "<=", 1.1),
    ]
    width = max(len(t[0]) for t in targets)
    print(f"{'target (on the median)':<{width}}" + "".join(f"  {w:>37}" for w in workloads))
    for label, top, bottom, op, bound in targets:
        cells = []
        for w in workloads:
            if (w, top) not in times or (w, bottom) not in times:
                cells.append("n/a")
                continue
            per_round = ratios(times[w, top], times[w, bottom])
            cells.append(f"{spread(per_round)} ({judge(per_round, (op, bound))})")
        print(f"{label:<{width}}" + "".join(f"  {c:>37}" for c in cells))


def report_memory() -> None:
    print()
    print(f"peak memory serving 1 MB passthrough in {CHUNK_SIZE // 1024} KB chunks (tracemalloc; target: about one chunk)")
    names = ["bare app", "hand-written, passthrough", "dualfilter, passthrough", "WebOb wsgify, passthrough"]
    width = max(len(name) for name in names)
    print(f"{'':<{width}}  {'eager start_response':>24}  {'lazy start_response':>24}")
    for name in names:
        cells = [peak_memory(VARIANTS[name], lazy) for lazy in (False, True)]
        print(f"{name:<{width}}" + "".join(f"  {c / 1024:>9.0f} KB = {c / CHUNK_SIZE:>4.1f} chunks" for c in cells))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds, each timing every variant once (default 7)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply the requests per round (0.1 for a quick look)")
    args = parser.parse_args()
    report(measure(args.rounds, args.scale))
    report_memory()


if __name__ == "__main__":
    main()
