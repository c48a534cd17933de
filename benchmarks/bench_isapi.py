"""What the ISAPI adapter costs per request, as ratios measured side by side in one run.

Each variant serves the same response to a minimal in-memory ECB (server
variables in a dict, writes only counted), so only the adapter's cost differs:
the bare extension, the extension under a dualfilter Filter (passing through,
and filtering), and a hand-written extension that buffers and edits the body
itself. Two responses: 20 KB of HTML in 4 chunks, and 1 MB of non-HTML in 16.

Every round times each variant once, the variants interleaved. Prints each
ratio taken per round between the two variants timed in that round, as the
median over the rounds with [min-max], beside the median times per request in
microseconds.

    python benchmarks/bench_isapi.py [--rounds N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, table  # noqa: E402

from dualfilter import Filter  # noqa: E402
from dualfilter.isapi.constants import HSE_STATUS_SUCCESS  # noqa: E402

HTML_CHUNK = (b"<p>" + b"lorem ipsum dolor sit amet " * 200)[: 5 * 1024]
HTML_CHUNKS = [HTML_CHUNK] * 4
BINARY_CHUNKS = [bytes([i]) * 65536 for i in range(16)]
VARIABLES = {
    "SCRIPT_NAME": b"/page",
    "PATH_INFO": b"/page",
    "UNICODE_SCRIPT_NAME": "/page",
    "UNICODE_PATH_INFO": "/page",
    "APPL_MD_PATH": b"/LM/W3SVC/1/ROOT",
    "HTTPS": b"off",
    "SERVER_NAME": b"localhost",
    "SERVER_PORT": b"80",
    "SERVER_PROTOCOL": b"HTTP/1.1",
    "REMOTE_ADDR": b"127.0.0.1",
    "ALL_HTTP": b"HTTP_HOST:localhost\nHTTP_ACCEPT:text/html\nHTTP_USER_AGENT:bench\n",
}


class BareECB:
    """Just enough of an ECB, as cheap as it can be."""

    Method = b"GET"
    QueryString = b""
    ContentType = b""
    TotalBytes = 0

    def __init__(self) -> None:
        self.sent = 0

    def GetServerVariable(self, name: str, default: Any = None) -> Any:
        return VARIABLES.get(name, default)

    def SendResponseHeaders(self, status: Any, headers: Any, keep_alive: bool = False) -> None:
        pass

    def WriteClient(self, data: bytes, flags: int = 0) -> int:
        self.sent += len(data)
        return len(data)


class Extension:
    """Sends one response the usual pywin32 way."""

    def __init__(self, content_type: str, chunks: list[bytes]) -> None:
        self.headers = f"Content-Type: {content_type}\r\nContent-Length: {sum(map(len, chunks))}\r\n\r\n"
        self.chunks = chunks

    def HttpExtensionProc(self, ecb: Any) -> int:
        ecb.SendResponseHeaders("200 OK", self.headers, False)
        for chunk in self.chunks:
            ecb.WriteClient(chunk)
        return HSE_STATUS_SUCCESS


class HandWritten(Extension):
    """Buffers the body, edits it and fixes Content-Length itself: no framework."""

    def HttpExtensionProc(self, ecb: Any) -> int:
        body = b"".join(self.chunks).replace(b"lorem", b"LOREM")
        ecb.SendResponseHeaders("200 OK", f"Content-Type: text/html\r\nContent-Length: {len(body)}\r\n\r\n", False)
        ecb.WriteClient(body)
        return HSE_STATUS_SUCCESS


class Replace(Filter):
    def filter(self, environ, headers, data):
        return data.replace(b"lorem", b"LOREM")


def serve(extension: Any) -> Any:
    def one() -> None:
        ecb = BareECB()
        extension.HttpExtensionProc(ecb)
        assert ecb.sent

    return one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds, each timing every variant once (default 9)")
    rounds = parser.parse_args().rounds
    html, binary = Extension("text/html", HTML_CHUNKS), Extension("application/octet-stream", BINARY_CHUNKS)
    times = interleaved(
        {
            "bare html": serve(html),
            "hand-written filter": serve(HandWritten("text/html", HTML_CHUNKS)),
            "dualfilter html": serve(Replace.isapi(html)),
            "bare binary": serve(binary),
            "dualfilter binary": serve(Replace.isapi(binary)),
        },
        number=500,
        rounds=rounds,
    )
    table(
        "ISAPI adapter: time per request (lower is better)",
        [
            ("20 KB HTML, filtered", "hand-written filter", times["dualfilter html"], times["hand-written filter"], "-"),
            ("20 KB HTML, filtered", "bare extension", times["dualfilter html"], times["bare html"], "-"),
            ("1 MB binary, passed through", "bare extension", times["dualfilter binary"], times["bare binary"], "-"),
        ],
    )


if __name__ == "__main__":
    main()
