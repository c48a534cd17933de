"""HTTP/1.x on the wire, sans-IO: raw responses read from pieces split anywhere, and written.

Used where a response is only bytes: the ISAPI filter, which sees what IIS
sends (SEND_RAW_DATA), and the server that runs a WSGI app inside IIS.

Reading — two readers, because every response of a site goes past the head
reader and only the filtered ones need more:

- :class:`HeadReader` finds where a head (status line and headers, an interim
  1xx head included) ends, across pieces, and parses it: a small strict
  parser, cheap enough to run on every response. Only head bytes are kept
  while a head is incomplete; the body of a response that passes through is
  never looked at.
- :func:`body_reader` reads the body of a response to filter, as core
  ``Body`` events, then an ``End`` once the Content-Length, the last chunk, or
  (for a body read to the close) ``finish`` at the end of the request says it
  is over. A plain Content-Length body is counted off as it comes
  (:class:`LengthReader`, no copies); any other framing goes to a client-role
  h11 connection given the head (:class:`BodyReader`), which checks it
  strictly and de-chunks. h11 comes with the ``dualfilter[isapi]`` extra, and
  is imported only by what reads such bodies (hosts that do check for it when
  they are built). A body that cannot be read raises RawResponseError:
  :class:`FramingError` as the head is read, for a Content-Length that is not
  one length (values that differ, or not a number); a bad chunk as it comes.

Writing — :class:`ResponseWriter` frames the core's response events for
the lower of the response's HTTP version and the client's (RFC 9112 section
6.1: no Transfer-Encoding unless the request is HTTP/1.1): a Content-Length
is kept as it is; with none, HTTP/1.1 gets chunks, and HTTP/1.0 a
Content-Length (the body is held to the end for it) or, when the writer may
close the connection, the body as it comes, ended by the close
(``Connection: close``). The connection headers (Connection, Keep-Alive)
describe the connection, not the body, so the response's own go out with any
rewritten head that lost them.

The framing rules both directions share are functions: :func:`content_length`
(RFC 9110 section 8.6), :func:`delimited` (RFC 9112 section 6.3: can the
response end without the connection?) and :func:`persists` (RFC 9112 section
9.3: is the connection meant to outlive the message?).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from .events import Body, End, Event, HeaderList, ResponseStart
from .extras import require
from .responses import status_line

if TYPE_CHECKING:
    pass


def parse_header_lines(lines: bytes) -> HeaderList:
    """``Name: value`` lines (latin-1, CRLF or LF, folded lines joined) as ``str`` pairs.

    Raises ValueError for a line that is not a header.
    """
    pairs: HeaderList = []
    for raw in lines.decode("latin-1").replace("\r\n", "\n").split("\n"):
        if not raw:
            continue
        if raw[0] in " \t":
            if not pairs:
                raise ValueError(f"continuation line before any header: {raw!r}")
            name, value = pairs[-1]
            pairs[-1] = (name, f"{value} {raw.strip()}")
            continue
        name, colon, value = raw.partition(":")
        if not colon or not name or name != name.strip():
            raise ValueError(f"not a header line: {raw!r}")
        pairs.append((name, value.strip(" \t")))
    return pairs


def header_block(headers: Iterable[tuple[str, str]]) -> bytes:
    """Header lines as bytes (latin-1), with the blank line that closes a head."""
    return "".join(f"{name}: {value}\r\n" for name, value in headers).encode("latin-1") + b"\r\n"


#: What ends a head: an empty line, CRLF or bare LF (as h11 reads it).
_BLANK_LINE = re.compile(rb"\n\r?\n")
#: The longest blank-line marker, less one: what a marker split across pieces can leave behind.
_TAIL = 2
#: h11's own bound on an incomplete event (a chunk-size line, trailers).
_H11_BUFFER = 16 * 1024
_STATUS_LINE = re.compile(rb"HTTP/(\d\.\d) (\d{3})(?: ([^\r\n]*))?")


class RawResponseError(ValueError):
    """The bytes are not an HTTP/1.x response this filter can follow."""


class FramingError(RawResponseError):
    """The response's framing is invalid (RFC 9112 section 6.3): where its body ends cannot be
    known, so it cannot be forwarded, and an intermediary answers 502 in its place."""


def content_length(headers: Iterable[tuple[str, str]]) -> int | None:
    """The body length the Content-Length fields state, or None if there are none.

    A list of equal values is that one value (RFC 9110 section 8.6: ``10, 10``
    is 10); values that differ, or one that is not a plain number, raise
    ValueError: the length is invalid (RFC 9112 section 6.3).
    """
    values: set[str] = set()
    for name, value in headers:
        if name.lower() == "content-length":
            values.update(part.strip(" \t") for part in value.split(","))
    if not values:
        return None
    if len(values) > 1:
        raise ValueError(f"conflicting Content-Length values: {', '.join(sorted(values))}")
    (value,) = values
    if not (value.isdigit() and value.isascii()):
        raise ValueError(f"not a Content-Length: {value!r}")
    return int(value)


@dataclass(slots=True)
class Head:
    """A response head: status, reason, headers (``str``, as sent), HTTP version (``'1.1'``), its bytes."""

    status: int
    reason: str
    headers: HeaderList
    http_version: str
    raw: bytes

    @property
    def informational(self) -> bool:
        """Whether this is a 1xx head: an interim one that another head follows, or a 101 switch."""
        return self.status < 200


#: The fields that frame a response body (RFC 9112 section 6).
_FRAMING_FIELDS = frozenset({"transfer-encoding", "content-length"})


def parse_head(raw: bytes) -> Head:
    """The head in ``raw`` (status line, header lines, blank line). Raises RawResponseError."""
    line, _, rest = raw.partition(b"\n")
    found = _STATUS_LINE.fullmatch(line[:-1] if line.endswith(b"\r") else line)
    if found is None:
        raise RawResponseError(f"not an HTTP/1.x status line: {line[:80]!r}")
    version, status, reason = found.groups()
    try:
        headers = parse_header_lines(rest)
    except ValueError as exc:
        raise RawResponseError(str(exc)) from None
    return Head(int(status), (reason or b"").decode("latin-1").strip(), headers, version.decode("ascii"), raw)


class HeadReader:
    """Finds the end of each response head in raw pieces and parses the head."""

    __slots__ = ("_pieces", "_tail", "_size", "_limit")

    def __init__(self, max_head_size: int = 64 * 1024) -> None:
        self._pieces: list[bytes] = []
        self._tail = b""
        self._size = 0
        self._limit = max_head_size

    def feed(self, data: bytes) -> tuple[Head | None, int]:
        """``(head, used)``: the head that the first ``used`` bytes of ``data`` complete, or
        ``(None, len(data))`` when the head goes on. Raises RawResponseError."""
        end = self._head_end(data)
        if end < 0:
            self._size += len(data)
            if self._size > self._limit:
                raise RawResponseError(f"response head larger than {self._limit} bytes")
            self._pieces.append(data)
            self._tail = (self._tail + data[-_TAIL:])[-_TAIL:]
            return None, len(data)
        part = data if end == len(data) else data[:end]
        pieces, self._pieces = self._pieces, []
        self._tail, self._size = b"", 0
        if len(part) + sum(map(len, pieces)) > self._limit:
            raise RawResponseError(f"response head larger than {self._limit} bytes")
        return parse_head(b"".join([*pieces, part]) if pieces else part), end

    def _head_end(self, data: bytes) -> int:
        """Where in ``data`` the head's blank line ends, or -1."""
        tail = self._tail
        if tail:
            found = _BLANK_LINE.search(tail + data[:_TAIL])
            if found is not None:
                return found.end() - len(tail)
        found = _BLANK_LINE.search(data)
        return -1 if found is None else found.end()


def body_reader(method: str, head: Head) -> BodyReader | LengthReader:
    """The reader for the body that follows ``head`` in the response to a ``method`` request.

    Raises FramingError for a Content-Length that does not state one length
    (RFC 9112 section 6.3, rule 5: the response cannot be read, a proxy answers 502).
    """
    if method == "HEAD" or head.status < 200 or head.status in _BODILESS:
        return LengthReader(0)  # nothing follows: what its framing fields say does not matter
    if not any(name.lower() == "transfer-encoding" for name, _ in head.headers):
        try:
            length = content_length(head.headers)
        except ValueError as exc:
            raise FramingError(str(exc)) from None
        if length is not None:
            return LengthReader(length)
    return BodyReader(method, _framing(head.http_version, head.status, head.headers))


def _framing(http_version: str, status: int, headers: HeaderList) -> Head:
    """A head of only what frames the body (the status line, Transfer-Encoding and
    Content-Length), for h11 to read it by: a field h11 refuses elsewhere in the head
    (a name with ``@``, a NUL in a value) must not decide whether a page is filtered."""
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers if name.lower() in _FRAMING_FIELDS)
    return parse_head(f"HTTP/{http_version} {status} -\r\n{lines}\r\n".encode("latin-1"))


def chunked(headers: Iterable[tuple[str, str]]) -> bool:
    """Whether the last transfer coding ``headers`` name is chunked (RFC 9112 section 6.1)."""
    return _last_coding(", ".join(value for name, value in headers if name.lower() == "transfer-encoding")) == "chunked"


def _last_coding(transfer_encoding: str) -> str:
    """The last transfer coding a Transfer-Encoding value names, lower-cased."""
    return transfer_encoding.rstrip(" \t,").rsplit(",", 1)[-1].strip(" \t").lower()


def dechunker(status: int, headers: HeaderList) -> BodyReader:
    """The reader of a body framed in chunks by its writer, as an ISAPI extension frames
    its own (IIS sends what it writes as it is): its data de-chunked, then its ``End``."""
    return BodyReader("GET", _framing("1.1", status, headers))


class LengthReader:
    """A body of a known length: the pieces are handed on as they come, until the length is reached."""

    __slots__ = ("remaining", "complete", "leftover")

    def __init__(self, length: int) -> None:
        self.remaining = length
        #: Whether the whole body (and its ``End``) has been given.
        self.complete = False
        #: Bytes received past the end of the body.
        self.leftover = b""

    def feed(self, data: bytes) -> list[Body | End]:
        """The body events the next ``data`` completes."""
        if self.complete:
            self.leftover += data
            return []
        remaining = self.remaining
        if len(data) < remaining:
            self.remaining = remaining - len(data)
            return [Body(data)] if data else []
        body, self.leftover = (data, b"") if len(data) == remaining else (data[:remaining], data[remaining:])
        self.remaining = 0
        self.complete = True
        return [Body(body), End([])] if body else [End([])]

    def finish(self) -> list[Body | End]:
        """The request is over; RawResponseError if the body is shorter than its length
        (a length of 0 is complete with no byte given: its ``End``)."""
        if not self.complete:
            if self.remaining == 0:
                self.complete = True
                return [End([])]
            raise RawResponseError(f"the response ended {self.remaining} bytes before its Content-Length")
        return []


class BodyReader:
    """The body that follows ``head`` in the response to a ``method`` request, de-chunked, read by h11."""

    __slots__ = ("_h11", "_conn", "complete")

    def __init__(self, method: str, head: Head) -> None:
        limit = max(len(head.raw) + 1, _H11_BUFFER)
        h11 = self._h11 = require("isapi", "h11", purpose="reading raw HTTP/1 responses")
        self._conn = conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=limit)
        try:
            conn.send(h11.Request(method=method, target="/", headers=[("Host", "iis")]))
            conn.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            raise RawResponseError(f"cannot follow a response to a {method!r} request: {exc}") from None
        conn.receive_data(head.raw)
        #: Whether the body's framing has said it is over.
        self.complete = False
        if type(self._next()) is not h11.Response:
            raise RawResponseError("not a final response head")

    def feed(self, data: bytes) -> list[Body | End]:
        """The body events the next ``data`` completes: de-chunked ``Body`` data, then ``End``."""
        if data:
            self._conn.receive_data(data)
        return self._events()

    def finish(self) -> list[Body | End]:
        """The request is over: the last events of a body read to the close. Raises
        RawResponseError if the framing says the body was cut short."""
        self._conn.receive_data(b"")
        events = self._events()
        if not self.complete:
            raise RawResponseError("the response ended before its body was complete")
        return events

    @property
    def leftover(self) -> bytes:
        """Bytes received past the end of the response."""
        return bytes(self._conn.trailing_data[0])

    def _events(self) -> list[Body | End]:
        events: list[Body | End] = []
        while not self.complete:
            event = self._next()
            kind = type(event)
            if kind is self._h11.Data:
                events.append(Body(bytes(event.data)))
            elif kind is self._h11.EndOfMessage:
                trailers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in event.headers.raw_items()]
                events.append(End(trailers))
                self.complete = True
            else:
                break
        return events

    def _next(self) -> Any:
        try:
            return self._conn.next_event()
        except self._h11.RemoteProtocolError as exc:
            raise RawResponseError(str(exc)) from None


# -- writing ----------------------------------------------------------------------------

#: Statuses whose response ends with its head (RFC 9112 section 6.3, with 1xx and any
#: answer to HEAD). A 205 has no content either (decision.NO_BODY_STATUS) but is
#: framed like any response (an empty body, with its length or a last chunk).
_BODILESS = frozenset({204, 304})
_NONE, _IDENTITY, _CHUNKED, _HELD, _CLOSE = range(5)
#: The headers that describe the connection rather than the response.
CONNECTION_HEADERS = frozenset({"connection", "keep-alive"})


def head_bytes(http_version: str, status: int, reason: str, headers: HeaderList) -> bytes:
    """``HTTP/1.1 200 OK``, the header lines and the blank line, as latin-1 bytes."""
    return f"HTTP/{http_version} {status_line(status, reason)}\r\n".encode("latin-1") + header_block(headers)


@lru_cache(maxsize=16)  # asked for each response of a few versions
def reads_chunks(http_version: str) -> bool:
    """Whether a party speaking ``http_version`` (``'1.1'``, ``'1.0'``, ``'2'``) reads chunked
    framing: HTTP/1.1 and later do (a version that does not parse is taken for 1.1)."""
    major, _, minor = http_version.partition(".")
    if not major.isdigit() or minor and not minor.isdigit():
        return True
    return (int(major), int(minor or 0)) >= (1, 1)


def persists(http_version: str, connection: Iterable[str]) -> bool:
    """Whether a message of ``http_version`` whose Connection fields hold ``connection`` (the
    field values) leaves its connection open (RFC 9112 section 9.3): never with ``close``;
    otherwise by default from HTTP/1.1 on, and in HTTP/1.0 only with ``keep-alive``."""
    tokens = {token.strip(" \t").lower() for value in connection for token in value.split(",")}
    return "close" not in tokens and ("keep-alive" in tokens or reads_chunks(http_version))


def delimited(status: int, headers: Iterable[tuple[str, str]], *, head: bool = False) -> bool:
    """Whether the client can tell where this response ends without the connection closing
    (RFC 9112 section 6.3): it has no body (``head``: it answers a HEAD request; 1xx, 204,
    304), its last transfer coding is chunked, or it states one valid Content-Length."""
    if head or status < 200 or status in _BODILESS:
        return True
    length = coding = None
    for name, value in headers:  # one pass: this runs on every response a wrapped extension sends
        lowered = name.lower()
        if lowered == "content-length":
            length = value if length is None else f"{length}, {value}"
        elif lowered == "transfer-encoding":
            coding = value if coding is None else f"{coding}, {value}"
    if coding is not None and coding.strip(" \t,"):
        return _last_coding(coding) == "chunked"
    if length is None:
        return False
    if length.isdigit() and length.isascii():
        return True
    try:
        return content_length([("Content-Length", length)]) is not None
    except ValueError:
        return False


class ResponseWriter:
    """Encodes one response's events for the wire.

    ``http_version`` is the response's own (its status line says it);
    ``client_version`` is the request's, when known: the body is framed for
    the lower of the two, as an HTTP/1.0 client cannot read chunks.
    ``bodiless`` is set for the response to a HEAD request; ``connection``
    holds the response's original connection headers. An HTTP/1.0 body of
    unknown length is held to the end for a Content-Length; with
    ``close_delimited`` it goes out as it comes instead, with
    ``Connection: close``, and the close ends it (``closes`` then says so) —
    unless it is whole by the time its head goes out (then a Content-Length);
    so it does too once more than ``limit`` bytes of it are held.
    """

    __slots__ = (
        "http_version",
        "bodiless",
        "connection",
        "close_delimited",
        "limit",
        "started",
        "_chunks",
        "_framing",
        "_start",
        "_held",
    )

    def __init__(
        self,
        http_version: str = "1.1",
        *,
        client_version: str | None = None,
        bodiless: bool = False,
        connection: HeaderList | None = None,
        close_delimited: bool = False,
        limit: int | None = None,
    ) -> None:
        self.http_version = http_version
        self.bodiless = bodiless
        self.connection = connection or []
        self.close_delimited = close_delimited
        #: The most of a body held for a Content-Length (None: no bound).
        self.limit = limit
        #: Whether any byte of the response has been encoded.
        self.started = False
        self._chunks = reads_chunks(http_version) and (client_version is None or reads_chunks(client_version))
        self._framing = _NONE
        self._start: ResponseStart | None = None
        self._held: list[bytes] = []

    @property
    def closes(self) -> bool:
        """Whether the body ends with the connection: whoever sends it must close it afterwards."""
        return self._framing == _CLOSE

    def encode(self, events: Iterable[Event]) -> list[bytes]:
        """The bytes for ``events``, in order (possibly none yet: an HTTP/1.0 body may be held)."""
        out: list[bytes] = []
        for event in events:
            kind = type(event)
            if kind is Body:
                self._body(event.data, out)  # type: ignore[union-attr]
            elif kind is ResponseStart:
                self._head(event, out)  # type: ignore[arg-type]
            elif kind is End:
                self._end(event.trailers, out)  # type: ignore[union-attr]
        if self._framing == _HELD and (self.close_delimited or self.limit is not None and self._outgrown()):
            self._until_close(out)  # the body goes on past these events: no length to give
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
        elif self._chunks:
            self._framing = _CHUNKED
            if not any(name.lower() == "transfer-encoding" and "chunked" in value.lower() for name, value in headers):
                headers = [*headers, ("Transfer-Encoding", "chunked")]
        else:  # HTTP/1.0 on one side or the other: no chunks (RFC 9112 section 6.1)
            self._framing = _HELD
            if "transfer-encoding" in names:
                headers = [(name, value) for name, value in headers if name.lower() != "transfer-encoding"]
            self._start = ResponseStart(status, headers, start.reason)
            return
        self.started = True
        out.append(head_bytes(self.http_version, status, start.reason, headers))

    def _body(self, data: bytes, out: list[bytes]) -> None:
        framing = self._framing
        if not data or framing == _NONE:
            return
        if framing == _IDENTITY or framing == _CLOSE:
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
            self._held, self._start = [], None
            self._framing = _IDENTITY
            self.started = True
            headers = [*start.headers, ("Content-Length", str(len(body)))]
            out.append(head_bytes(self.http_version, start.status, start.reason, headers))
            if body:
                out.append(body)

    def _outgrown(self) -> bool:
        """Whether more of the body is held than ``limit``."""
        return sum(map(len, self._held)) > self.limit  # type: ignore[operator]

    def _until_close(self, out: list[bytes]) -> None:
        """The held head goes out with ``Connection: close``, then what is held of the body;
        the rest follows as it comes, and the close ends it."""
        start = self._start
        assert start is not None
        headers = [(name, value) for name, value in start.headers if name.lower() not in CONNECTION_HEADERS]
        self._framing = _CLOSE
        self._start = None
        self.started = True
        out.append(head_bytes(self.http_version, start.status, start.reason, [*headers, ("Connection", "close")]))
        out += self._held
        self._held = []
