"""What the ISAPI filter mode costs per response, as ratios measured side by side in one run.

Each variant gets the same raw responses from a minimal in-memory IIS (one
cheap filter context per SEND_RAW_DATA piece, then END_OF_REQUEST; writes only
counted; DisableNotifications honoured or not), so only the filter's own cost
differs: a filter that does nothing (the floor of any Python raw-data
filter), a hand-written filter that buffers and edits the body itself, and
dualfilter. Two responses: 20 KB of HTML in 4 pieces, and 1 MB of non-HTML in 16.

Every round times each variant once, the variants interleaved. Prints each
ratio taken per round between the two variants timed in that round, as the
median over the rounds with [min-max], beside the median times per response in
microseconds.

    python benchmarks/bench_isapi_filter.py [--rounds N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, table  # noqa: E402

from dualfilter import Filter  # noqa: E402
from dualfilter.isapi.constants import (  # noqa: E402
    SF_NOTIFY_END_OF_REQUEST,
    SF_NOTIFY_SEND_RAW_DATA,
    SF_STATUS_REQ_NEXT_NOTIFICATION,
)

HTML_BODY = (b"<p>" + b"lorem ipsum dolor sit amet " * 800)[: 20 * 1024]
BINARY_BODY = bytes(range(256)) * 4096
VARIABLES = {
    "REQUEST_METHOD": b"GET",
    "QUERY_STRING": b"",
    "URL": b"/page",
    "SCRIPT_NAME": b"/page",
    "PATH_INFO": b"/page",
    "UNICODE_SCRIPT_NAME": "/page",
    "UNICODE_PATH_INFO": "/page",
    "APPL_MD_PATH": b"/LM/W3SVC/1/ROOT",
    "HTTPS": b"off",
    "SERVER_NAME": b"localhost",
    "SERVER_PORT": b"80",
    "REMOTE_ADDR": b"127.0.0.1",
    "ALL_HTTP": b"HTTP_HOST:localhost\nHTTP_ACCEPT:text/html\n",
}


def raw(content_type: str, body: bytes, pieces: int) -> list[bytes]:
    data = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    size = -(-len(data) // pieces)
    return [data[i : i + size] for i in range(0, len(data), size)]


HTML_PIECES = raw("text/html", HTML_BODY, 4)
BINARY_PIECES = raw("application/octet-stream", BINARY_BODY, 16)


class Connection:
    """The connection's FilterContext slot and what the client got."""

    def __init__(self, honour_disable: bool) -> None:
        self.FilterContext: Any = None
        self.sent = 0
        self.disabled = 0
        self.honour_disable = honour_disable


class BareFC:
    """Just enough of an HTTP_FILTER_CONTEXT (and of its raw-data object), as cheap as it can be."""

    def __init__(self, connection: Connection, kind: int, data: bytes | None = None) -> None:
        self.connection = connection
        self.NotificationType = kind
        self.InData = data

    @property
    def FilterContext(self) -> Any:
        return self.connection.FilterContext

    @FilterContext.setter
    def FilterContext(self, value: Any) -> None:
        self.connection.FilterContext = value

    def GetData(self) -> BareFC:
        return self

    def GetServerVariable(self, name: str, default: Any = None) -> Any:
        return VARIABLES.get(name, default)

    def WriteClient(self, data: bytes, reserved: int = 0) -> None:
        self.connection.sent += len(data)

    def DisableNotifications(self, flags: int) -> None:
        if self.connection.honour_disable:
            self.connection.disabled |= flags


class NoOp:
    """Returns at once: what any Python raw-data filter costs at least."""

    def HttpFilterProc(self, fc: Any) -> int:
        return SF_STATUS_REQ_NEXT_NOTIFICATION


class HandWritten:
    """Buffers the whole response, edits the body and fixes Content-Length itself: no framework."""

    def HttpFilterProc(self, fc: Any) -> int:
        if fc.NotificationType == SF_NOTIFY_SEND_RAW_DATA:
            if fc.FilterContext is None:
                fc.FilterContext = []
            raw_data = fc.GetData()
            fc.FilterContext.append(raw_data.InData)
            raw_data.InData = b""
        elif fc.NotificationType == SF_NOTIFY_END_OF_REQUEST and fc.FilterContext:
            head, _, body = b"".join(fc.FilterContext).partition(b"\r\n\r\n")
            fc.FilterContext = None
            body = body.replace(b"lorem", b"LOREM")
            lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"content-length:")]
            fc.WriteClient(b"\r\n".join([*lines, b"Content-Length: %d" % len(body)]) + b"\r\n\r\n" + body)
        return SF_STATUS_REQ_NEXT_NOTIFICATION


class Replace(Filter):
    def filter(self, environ, headers, data):
        return data.replace(b"lorem", b"LOREM")


def serve(isapi_filter: Any, pieces: list[bytes], honour_disable: bool = True) -> Any:
    def one() -> None:
        connection = Connection(honour_disable)
        for piece in pieces:
            if connection.disabled & SF_NOTIFY_SEND_RAW_DATA:
                connection.sent += len(piece)
                continue
            fc = BareFC(connection, SF_NOTIFY_SEND_RAW_DATA, piece)
            isapi_filter.HttpFilterProc(fc)
            connection.sent += len(fc.InData or b"")
        isapi_filter.HttpFilterProc(BareFC(connection, SF_NOTIFY_END_OF_REQUEST))
        assert connection.sent

    return one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds, each timing every variant once (default 9)")
    rounds = parser.parse_args().rounds
    dualfilter = Replace.isapi_filter(strip_request_headers=False)
    times = interleaved(
        {
            "no-op html": serve(NoOp(), HTML_PIECES),
            "hand-written html": serve(HandWritten(), HTML_PIECES),
            "dualfilter html": serve(dualfilter, HTML_PIECES),
            "no-op binary": serve(NoOp(), BINARY_PIECES),
            "dualfilter binary": serve(dualfilter, BINARY_PIECES),
            "dualfilter binary, no disable": serve(dualfilter, BINARY_PIECES, honour_disable=False),
        },
        number=300,
        rounds=rounds,
    )
    table(
        "ISAPI filter mode: time per response (lower is better)",
        [
            ("20 KB HTML, filtered", "hand-written filter", times["dualfilter html"], times["hand-written html"], "-"),
            ("20 KB HTML, filtered", "no-op filter", times["dualfilter html"], times["no-op html"], "-"),
            ("1 MB binary, passed through", "no-op filter", times["dualfilter binary"], times["no-op binary"], "-"),
            (
                "1 MB binary, IIS ignoring DisableNotif.",
                "no-op filter",
                times["dualfilter binary, no disable"],
                times["no-op binary"],
                "-",
            ),
        ],
    )


if __name__ == "__main__":
    main()
