"""Writing the core's response events as raw HTTP/1.x bytes, the form a SEND_RAW_DATA filter sends.

A filter that rewrites a response writes the whole of it itself, status line
and framing included. The body is framed by the headers it goes out with: a
Content-Length is kept as it is, a ``Transfer-Encoding: chunked`` gets chunks;
with neither, HTTP/1.1 gets chunks and HTTP/1.0 a Content-Length (the body is
held to the end for it). The connection headers (Connection, Keep-Alive)
describe the connection IIS keeps, not the body, so the response's own go out
with any rewritten head that lost them.
"""

from __future__ import annotations

from collections.abc import Iterable

from ...events import Body, End, Event, HeaderList, ResponseStart
from ...responses import status_line
from ..wire import header_block

#: Statuses that never carry a body.
_BODILESS = frozenset({204, 304})
_NONE, _IDENTITY, _CHUNKED, _HELD = range(4)


def head_bytes(http_version: str, status: int, reason: str, headers: HeaderList) -> bytes:
    """``HTTP/1.1 200 OK``, the header lines and the blank line, as latin-1 bytes."""
    return f"HTTP/{http_version} {status_line(status, reason)}\r\n".encode("latin-1") + header_block(headers)


class ResponseWriter:
    """Encodes one response's events for the wire.

    ``http_version`` is the response's own; ``bodiless`` is set for the
    response to a HEAD request; ``connection`` holds the response's original
    connection headers.
    """

    __slots__ = ("http_version", "bodiless", "connection", "started", "_framing", "_start", "_held")

    def __init__(self, http_version: str = "1.1", *, bodiless: bool = False, connection: HeaderList | None = None) -> None:
        self.http_version = http_version
        self.bodiless = bodiless
        self.connection = connection or []
        #: Whether any byte of the response has been encoded.
        self.started = False
        self._framing = _NONE
        self._start: ResponseStart | None = None
        self._held: list[bytes] = []

    def encode(self, events: Iterable[Event]) -> list[bytes]:
        """The bytes for ``events``, in order (possibly none yet: an HTTP/1.0 body is held)."""
        out: list[bytes] = []
        for event in events:
            kind = type(event)
            if kind is Body:
                self._body(event.data, out)  # type: ignore[union-attr]
            elif kind is ResponseStart:
                self._head(event, out)  # type: ignore[arg-type]
            elif kind is End:
                self._end(event.trailers, out)  # type: ignore[union-attr]
        return out

    def _head(self, start: ResponseStart, out: list[bytes]) -> None:
        headers = start.headers
        names = {name.lower() for name, _ in headers}
        if self.connection and "connection" not in names:
            headers = [*headers, *self.connection]
        status = start.status
        if self.bodiless or status < 200 or status in _BODILESS:
            self._framing = _NONE
        elif "content-length" in names:
            self._framing = _IDENTITY
        elif any(name.lower() == "transfer-encoding" and "chunked" in value.lower() for name, value in headers):
            self._framing = _CHUNKED
        elif self.http_version != "1.0":
            self._framing = _CHUNKED
            headers = [*headers, ("Transfer-Encoding", "chunked")]
        else:
            self._framing = _HELD
            self._start = ResponseStart(status, headers, start.reason)
            return
        self.started = True
        out.append(head_bytes(self.http_version, status, start.reason, headers))

    def _body(self, data: bytes, out: list[bytes]) -> None:
        framing = self._framing
        if not data or framing == _NONE:
            return
        if framing == _IDENTITY:
            out.append(data)
        elif framing == _CHUNKED:
            out += (b"%x\r\n" % len(data), data, b"\r\n")
        else:
            self._held.append(data)

    def _end(self, trailers: HeaderList | None, out: list[bytes]) -> None:
        if self._framing == _CHUNKED:
            out.append(b"0\r\n" + header_block(trailers or []))
        elif self._framing == _HELD:
            start = self._start
            assert start is not None
            body = b"".join(self._held)
            self._held = []
            self.started = True
            headers = [*start.headers, ("Content-Length", str(len(body)))]
            out.append(head_bytes(self.http_version, start.status, start.reason, headers))
            if body:
                out.append(body)
