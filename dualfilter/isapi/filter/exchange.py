"""One response on its way through an ISAPI filter: raw bytes in, the filtered response (or the same bytes) out.

IIS hands a SEND_RAW_DATA filter the response as it goes to the client, in
pieces split anywhere. Until the head is complete its bytes are withheld
(``InData`` replaced by empty bytes). Then the core decides:

- a response that passes through goes on as IIS sends it: the withheld head
  goes out through ``WriteClient`` and the rest is left untouched; the filter
  asks IIS to stop sending it this request's raw data at all;
- a filtered response is withheld to the end of its body (its framing, or the
  end of the request), and the filtered response is written in its place —
  framed for the client's HTTP version, which the request's SERVER_PROTOCOL
  gives (IIS answers an HTTP/1.0 request with an HTTP/1.1 status line, so the
  response's own version does not say it);
- a response to filter whose body cannot be read (cut short, Content-Length
  values that differ, a bad chunk) is the site's fault: a 502 goes out in its
  place (RFC 9112 section 6.3), or, if part of the filtered response is out,
  it is cut short.

Phases::

    HEAD ──head──▶ PASS                      (also: not a response the filter can follow)
      │
      └──────────▶ FILTER ──body over──▶ DONE
    HEAD | FILTER ──failure──▶ DISCARD       (a clean 500 or a 502 went out, or the response was cut short)
"""

from __future__ import annotations

import enum
import logging
from typing import TYPE_CHECKING, Any

from ...drivers import drive
from ...errors import ProtocolError, StreamError
from ...events import PASSTHROUGH, Body, Event, HeaderList, ResponseStart
from ...http1 import (
    CONNECTION_HEADERS,
    BodyReader,
    FramingError,
    Head,
    HeadReader,
    LengthReader,
    RawResponseError,
    ResponseWriter,
    body_reader,
    head_bytes,
    persists,
    reads_chunks,
)
from ...machine import ResponseMachine
from ...responses import error_response, simple_response
from ..constants import (
    SF_NOTIFY_SEND_RAW_DATA,
    SF_STATUS_REQ_ERROR,
    SF_STATUS_REQ_FINISHED,
    SF_STATUS_REQ_NEXT_NOTIFICATION,
)
from ..errors import FilterError
from .environ import FilterEnviron, FilterRequest

if TYPE_CHECKING:
    from .mode import Connection, ISAPIFilter

log = logging.getLogger("dualfilter")

NEXT = SF_STATUS_REQ_NEXT_NOTIFICATION


class Phase(enum.Enum):
    HEAD = "head"
    PASS = "pass"
    FILTER = "filter"
    DONE = "done"
    DISCARD = "discard"


HEAD, PASS, FILTER, DONE, DISCARD = Phase


class RawExchange:
    """One response's raw bytes through the core's :class:`~dualfilter.ResponseMachine`."""

    __slots__ = (
        "owner",
        "connection",
        "method",
        "environ",
        "machine",
        "heads",
        "body",
        "writer",
        "phase",
        "held",
        "http_version",
    )

    def __init__(self, owner: ISAPIFilter, connection: Connection, fc: Any) -> None:
        self.owner = owner
        self.connection = connection
        request = FilterRequest(fc)
        self.method = request.Method.decode("latin-1")
        self.environ = FilterEnviron(request, connection.request_headers)
        self.machine = ResponseMachine(owner.filter, self.environ)
        self.writer: ResponseWriter | None = None
        self.http_version = "1.1"
        #: Raw bytes withheld while the head is incomplete.
        self.held: list[bytes] = []
        self.phase = HEAD
        self.heads: HeadReader | None = HeadReader(owner.max_head_size)
        self.body: BodyReader | LengthReader | None = None

    # -- notifications -----------------------------------------------------------

    def send_raw_data(self, fc: Any, raw: Any, data: bytes) -> int:
        """One SEND_RAW_DATA notification carrying ``data`` (non-empty) for this response."""
        phase = self.phase
        if phase is PASS:
            return NEXT
        self.environ.refresh(fc)
        if phase is HEAD:
            return self._head(fc, raw, data)
        if phase is FILTER:
            raw.InData = b""
            return self._body(fc, data)
        if phase is DISCARD:
            raw.InData = b""
        return self._ended()

    def end_of_request(self, fc: Any) -> int:
        """The request is over: a filtered response whose body runs to the end goes out now."""
        self.environ.refresh(fc)
        phase = self.phase
        if phase is HEAD and self.held:
            log.warning("%s: the response to %s ended inside its head; sent as it came", self.owner.filter.name, self._path())
            self._release(fc, None, b"", 0)
        elif phase is FILTER:
            assert self.body is not None
            try:
                events = self.body.finish()
            except RawResponseError as exc:
                return self._bad_gateway(fc, exc, "The response ended before its body.")
            self._run(fc, events)
        result = self._ended()
        if self.phase is not DISCARD:
            self.phase = DONE
        return result

    def failed(self, fc: Any, raw: Any, exc: BaseException) -> int:
        """Something raised while handling this response: answer a clean 500 if nothing of it has
        gone out, else cut it short (SF_STATUS_REQ_FINISHED closes the connection)."""
        self.environ.refresh(fc)
        phase = self.phase
        if phase is PASS or phase is DONE:
            log.error("%s: ISAPI filter error on %s", self.owner.filter.name, self._path(), exc_info=exc)
            return NEXT
        if not isinstance(exc, StreamError):  # the machine logged that one
            log.error("%s: ISAPI filter error on %s", self.owner.filter.name, self._path(), exc_info=exc)
        self.phase = DISCARD
        self.held = []
        try:
            if raw is not None:
                raw.InData = b""
            if isinstance(exc, FilterError):  # IIS refused a call: the client is likely gone
                return SF_STATUS_REQ_ERROR
            if self.writer is not None and self.writer.started:
                return SF_STATUS_REQ_FINISHED
            # (its Content-Length frames it for any client)
            writer = ResponseWriter(self.http_version, bodiless=self.method == "HEAD")
            self.connection.write(fc, writer.encode(error_response(exc, self.owner.filter.debug)))
        except Exception:
            log.exception("%s: could not answer %s after an error", self.owner.filter.name, self._path())
            return SF_STATUS_REQ_ERROR
        return NEXT

    # -- the head ------------------------------------------------------------------

    def _head(self, fc: Any, raw: Any, data: bytes) -> int:
        heads = self.heads
        assert heads is not None
        sent = used = 0  # data[:sent] went out already; data[:used] is parsed
        while True:
            piece = data[used:] if used else data
            try:
                head, size = heads.feed(piece)
            except RawResponseError as exc:
                log.warning("%s: not filtering the response to %s: %s", self.owner.filter.name, self._path(), exc)
                self._release(fc, raw, data, sent)
                self._pass(fc)
                return NEXT
            if head is None:  # (sent == used here: only a complete head moves either)
                self.held.append(piece)
                raw.InData = b""
                return NEXT
            used += size
            if head.informational and head.status != 101:
                # An interim response (100 Continue, 103 Early Hints) goes out now, as it came;
                # never to an HTTP/1.0 client, which would take it for the answer (RFC 9110 section 15.2).
                if reads_chunks(self._client_version()):
                    self.connection.write(fc, [*self.held, data[sent:used]])
                self.held = []
                sent = used
                continue
            if head.informational:  # 101: the connection is another protocol's now
                self._release(fc, raw, data, sent)
                self._pass(fc)
                return NEXT
            return self._decide(fc, raw, data, sent, used, head)

    def _decide(self, fc: Any, raw: Any, data: bytes, sent: int, used: int, head: Head) -> int:
        """The head is complete: ``data[used:]`` is body. Let the core decide."""
        machine = self.machine
        try:
            events = drive(machine, machine.start(head.status, head.headers, head.reason))
        except ProtocolError as exc:  # a Content-Length that states no length, for a body to filter
            return self._misframed(fc, raw, head, exc)
        self.http_version = head.http_version
        if events[-1:] == [PASSTHROUGH]:
            start = events[0]
            assert isinstance(start, ResponseStart)
            if start.headers is head.headers and start.status == head.status:
                self._release(fc, raw, data, sent)
            else:  # the core changed the head (a HEAD response's length and validator)
                raw.InData = b""
                self.held = []
                rewritten = head_bytes(head.http_version, start.status, start.reason, start.headers)
                self.connection.write(fc, [rewritten, data[used:]])
            self._pass(fc)
            return NEXT
        try:
            self.body = body_reader(self.method, head)
        except FramingError as exc:
            return self._misframed(fc, raw, head, exc)
        except RawResponseError as exc:  # framing h11 will not follow: leave the response alone
            log.warning("%s: not filtering the response to %s: %s", self.owner.filter.name, self._path(), exc)
            self._release(fc, raw, data, sent)
            self._pass(fc)
            return NEXT
        raw.InData = b""
        self.held = []
        self.environ.data  # noqa: B018 - build the environ while this notification's context is live
        connection = [(name, value) for name, value in head.headers if name.lower() in CONNECTION_HEADERS]
        client = self._client_version()
        self.writer = ResponseWriter(
            head.http_version,
            client_version=client,
            bodiless=self.method == "HEAD",
            connection=connection,
            # Only a body that cannot go in chunks (HTTP/1.0) may be ended by the close.
            close_delimited=not (reads_chunks(head.http_version) and reads_chunks(client))
            and not self._persists(head, connection),
            # A body held for a Content-Length (HTTP/1.0, kept alive) as max_buffer_size bounds a filtered
            # one: past it (passed on oversize, or streamed), it is ended by the close instead.
            limit=self.owner.filter.max_buffer_size,
        )
        self.phase = FILTER
        return self._body(fc, data[used:] if used < len(data) else b"", events)

    def _misframed(self, fc: Any, raw: Any, head: Head, exc: Exception) -> int:
        """No telling where the body ends: it cannot go on (RFC 9112 section 6.3), a 502 goes out."""
        raw.InData = b""
        self.held = []
        self.writer = ResponseWriter(head.http_version, bodiless=self.method == "HEAD")
        return self._bad_gateway(fc, exc, "The response's framing is invalid.")

    def _release(self, fc: Any, raw: Any, data: bytes, sent: int) -> None:
        """Everything withheld, and the rest of ``data``, goes out as it came."""
        held, self.held = self.held, []
        if sent and raw is not None:
            raw.InData = b""
            held.append(data[sent:])
        self.connection.write(fc, held)

    def _pass(self, fc: Any) -> None:
        """The rest of this response goes out untouched: IIS need not show it to the filter."""
        self.phase = PASS
        self.heads = None
        try:
            fc.DisableNotifications(SF_NOTIFY_SEND_RAW_DATA)
        except FilterError:
            pass  # the raw data keeps coming, and passes untouched

    # -- the body ------------------------------------------------------------------

    def _body(self, fc: Any, data: bytes, out: list[Event] | None = None) -> int:
        """Read ``data`` as body, filter what it completes and send what the machine answers
        (after ``out``); what the notification returns. A body that cannot be read (a bad
        chunk) is the site's fault: a 502, or the response cut short."""
        body = self.body
        assert body is not None
        try:
            events = body.feed(data)
        except RawResponseError as exc:
            return self._bad_gateway(fc, exc, "The response's body is malformed.")
        self._run(fc, events, out)
        if body.complete:
            leftover = body.leftover
            if leftover:
                # Not part of the response (a HEAD's, 204's or 304's body, or bytes past its
                # length): a client would read them as the next response, unfiltered (RFC 9112
                # section 6.3: not to be forwarded). They are dropped.
                name, path = self.owner.filter.name, self._path()
                log.warning("%s: %d bytes after the response to %s; dropped", name, len(leftover), path)
        return self._ended()

    def _run(self, fc: Any, events: list[Any], out: list[Event] | None = None) -> None:
        """Feed parsed body events to the machine and send what it answers (after ``out``), in one write."""
        machine = self.machine
        out = out or []
        ended = False
        try:
            for event in events:
                if type(event) is Body:
                    out += drive(machine, machine.body(event.data))
                else:
                    out += drive(machine, machine.end(event.trailers))
                    ended = True
        finally:  # what the machine gave before a stream failed still goes out
            self._emit(fc, out)
        if ended:
            self.phase = DONE

    def _ended(self) -> int:
        """What the notification returns: SF_STATUS_REQ_FINISHED once a response whose body
        ends with the connection (streamed to an HTTP/1.0 client) is over, asking IIS to close
        it; SF_STATUS_REQ_NEXT_NOTIFICATION otherwise."""
        writer = self.writer
        if self.phase is DONE and writer is not None and writer.closes:
            return SF_STATUS_REQ_FINISHED
        return NEXT

    def _client_version(self) -> str:
        """The request's HTTP version (``'1.0'``), from SERVER_PROTOCOL (``'HTTP/1.0'``)."""
        protocol = str(self.environ.get("SERVER_PROTOCOL", "HTTP/1.1"))
        return protocol.rpartition("/")[2] or "1.1"

    def _persists(self, head: Head, connection: HeaderList) -> bool:
        """Whether the connection is meant to outlive this response (:func:`~dualfilter.http1.persists`
        for both the request and the response). A body of unknown length may then not be
        ended by closing it (IIS may never hear the filter ask, see pywin32's HttpFilterProc),
        so it is held for a Content-Length instead."""
        asked = [str(self.environ.get("HTTP_CONNECTION", ""))]
        sent = [value for name, value in connection if name.lower() == "connection"]
        return persists(self._client_version(), asked) and persists(head.http_version, sent)

    def _emit(self, fc: Any, events: list[Event]) -> None:
        if events:
            assert self.writer is not None
            self.connection.write(fc, self.writer.encode(events))

    def _bad_gateway(self, fc: Any, exc: Exception, detail: str) -> int:
        """The site's response cannot be read to its end (cut short, invalid framing, a bad
        chunk): a 502 with ``detail`` in its place, or, if part of the filtered response is out,
        the rest withheld and SF_STATUS_REQ_FINISHED to close the connection."""
        log.error("%s: the response to %s cannot be read: %s", self.owner.filter.name, self._path(), exc)
        self.phase = DISCARD
        writer = self.writer
        assert writer is not None
        if writer.started:
            return SF_STATUS_REQ_FINISHED
        answer = simple_response(502, "Bad Gateway", detail, head=self.method == "HEAD")
        self.connection.write(fc, writer.encode(answer))
        return NEXT

    def _path(self) -> str:
        try:
            environ = self.environ
            return f"{self.method} {environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '/')}"
        except Exception:  # the server variables are out of reach: the method will do
            return self.method
