"""``ISAPIFilter``: a Filter as an IIS *filter*, over every response a site sends.

``MyFilter.isapi_filter(**options)`` returns one; a script's
``__FilterFactory__`` hands it to pywin32. It asks IIS for each response's raw
bytes (SF_NOTIFY_SEND_RAW_DATA) and for the end of each request
(SF_NOTIFY_END_OF_REQUEST), and, unless told not to, for the request headers
(SF_NOTIFY_PREPROC_HEADERS) so Range and the conditional headers go before
the site sees the request, as on every other host. Each response is one
:class:`~dualfilter.isapi.filter.exchange.RawExchange`; the per-connection state
lives in ``fc.FilterContext``, so keep-alive connections carry any number of
requests in sequence. ``HttpFilterProc`` never raises: an error is logged and
answered with a clean 500 while nothing of the response has gone out.

Three pywin32 defects shape it. What ``HttpFilterProc`` returns may never
reach IIS (``pyISAPI.cpp`` returns an uninitialised value on success), so no
outcome depends on it: a response cut short is withheld from then on and
never ends, whether or not IIS closes the connection as asked.
``TerminateFilter`` is never called, so per-connection state lives in
``fc.FilterContext`` and is dropped at SF_NOTIFY_END_OF_NET_SESSION, which
the filter asks for. ``InData`` can only be emptied (pywin32 never copies a
replacement), so the filter withholds raw data with ``InData = b""`` and
writes what goes out in its place with ``fc.WriteClient``.
"""

from __future__ import annotations

import logging
from typing import Any

from ...extras import require
from ...filter import Filter
from ...request_policy import SAFE_METHODS, environ_key
from ..constants import (
    SF_NOTIFY_END_OF_NET_SESSION,
    SF_NOTIFY_END_OF_REQUEST,
    SF_NOTIFY_ORDER_DEFAULT,
    SF_NOTIFY_ORDER_HIGH,
    SF_NOTIFY_ORDER_LOW,
    SF_NOTIFY_ORDER_MEDIUM,
    SF_NOTIFY_PREPROC_HEADERS,
    SF_NOTIFY_SEND_RAW_DATA,
    SF_STATUS_REQ_NEXT_NOTIFICATION,
)
from ..wire import fit_description
from .environ import FilterEnviron, FilterRequest
from .exchange import DONE, PASS, RawExchange

# Filter mode reads raw responses with h11: without it, fail when the filter is built, once.
require("isapi", "h11", purpose="IIS filter mode")

log = logging.getLogger("dualfilter")

NEXT = SF_STATUS_REQ_NEXT_NOTIFICATION
#: The most bytes of a description HTTP_FILTER_VERSION holds (SF_MAX_FILTER_DESC_LEN, less its NUL).
MAX_DESCRIPTION = 256

_ORDERS = frozenset({SF_NOTIFY_ORDER_HIGH, SF_NOTIFY_ORDER_MEDIUM, SF_NOTIFY_ORDER_LOW, SF_NOTIFY_ORDER_DEFAULT})
#: Options of ``isapi_filter`` that configure the ISAPI filter rather than the Filter.
ISAPI_OPTIONS = ("notify_order", "description", "strip_request_headers", "max_head_size")


class Connection:
    """What the filter keeps for one client connection (in ``fc.FilterContext``)."""

    __slots__ = ("exchange", "writing", "request_headers", "asked", "skipped", "refusal_error")

    def __init__(self) -> None:
        #: The response under way, if any.
        self.exchange: RawExchange | None = None
        #: Whether ``should_filter_request`` was asked about the current request, and refused it.
        self.asked = self.skipped = False
        #: The request headers taken away from the site for the current request, by environ key.
        self.request_headers: dict[str, str] = {}
        #: True while the filter's own WriteClient runs: IIS shows those bytes to the filter too.
        self.writing = False
        #: What ``should_filter_request`` raised for the current request: its response is the clean 500.
        self.refusal_error: BaseException | None = None

    def ask(self, owner: ISAPIFilter, fc: Any) -> None:
        """Ask ``should_filter_request`` about the current request, once."""
        self.asked = True
        try:
            self.skipped = owner.refuses(fc)
        except Exception as exc:
            self.skipped, self.refusal_error = False, exc

    def send_raw_data(self, owner: ISAPIFilter, fc: Any) -> int:
        exchange = self.exchange
        if self.skipped or exchange is not None and exchange.phase is PASS:
            return NEXT
        raw = fc.GetData()
        data = raw.InData
        if not data:
            return NEXT
        if exchange is not None and exchange.phase is DONE:
            # Bytes after the end of the response, in a later notification, before END_OF_REQUEST
            # (a body a HEAD, 204 or 304 may not have, bytes past the length, a second response):
            # a client reusing the connection would read them as its next answer, unfiltered.
            raw.InData = b""
            log.warning("%s: %d bytes after the end of a response to %s dropped", owner.filter.name, len(data), exchange.method)
            return NEXT
        if exchange is None or exchange.phase is DONE:
            if not self.asked:  # asked here when IIS sent no PREPROC_HEADERS for this request
                self.ask(owner, fc)
                if self.skipped:
                    return NEXT
            exchange = self.exchange = RawExchange(owner, self, fc)
            if self.refusal_error is not None:  # the site's response gives way to the clean 500
                error, self.refusal_error = self.refusal_error, None
                return exchange.failed(fc, raw, error)
        try:
            return exchange.send_raw_data(fc, raw, data)
        except Exception as exc:
            return exchange.failed(fc, raw, exc)

    def end_of_request(self, fc: Any) -> int:
        self.asked = self.skipped = False
        self.refusal_error = None
        self.request_headers = {}
        exchange, self.exchange = self.exchange, None
        if exchange is None:
            return NEXT
        try:
            return exchange.end_of_request(fc)
        except Exception as exc:
            return exchange.failed(fc, None, exc)
        finally:  # a filter's stream still open (the response cut short) lets go of what it holds
            exchange.machine.abandon()

    def closed(self) -> None:
        """The connection is gone (END_OF_NET_SESSION), perhaps in the middle of a response."""
        exchange, self.exchange = self.exchange, None
        if exchange is not None:
            exchange.machine.abandon()

    def write(self, fc: Any, pieces: list[bytes]) -> None:
        """Send ``pieces`` in one WriteClient call."""
        data = pieces[0] if len(pieces) == 1 else b"".join(pieces)
        if not data:
            return
        self.writing = True
        try:
            fc.WriteClient(data)
        finally:
            self.writing = False


class ISAPIFilter:
    """The ISAPI filter object for ``filter``: GetFilterVersion / HttpFilterProc / TerminateFilter.

    ``notify_order`` is one of the ``SF_NOTIFY_ORDER_*`` priorities;
    ``description`` is what IIS shows for the filter; ``strip_request_headers``
    (default True) removes Range, If-Range and, under ``force_no_conditional``,
    the conditional headers from every request, as the other hosts do (a
    Range request would otherwise get a partial body that skips the filter);
    ``max_head_size`` bounds the response head the filter reads.
    """

    def __init__(
        self,
        filter: Filter,
        *,
        notify_order: int = SF_NOTIFY_ORDER_DEFAULT,
        description: str | None = None,
        strip_request_headers: bool = True,
        max_head_size: int = 64 * 1024,
    ) -> None:
        if notify_order not in _ORDERS:
            raise ValueError(f"notify_order must be one of the SF_NOTIFY_ORDER_* values, not {notify_order!r}")
        self.filter = filter
        # END_OF_NET_SESSION releases the connection's state: pywin32 never calls TerminateFilter.
        # PREPROC_HEADERS, asked whether the headers are stripped or not, tells where a new
        # request begins (IIS need not send END_OF_REQUEST between a connection's requests).
        self.flags = (
            SF_NOTIFY_SEND_RAW_DATA
            | SF_NOTIFY_PREPROC_HEADERS
            | SF_NOTIFY_END_OF_REQUEST
            | SF_NOTIFY_END_OF_NET_SESSION
            | notify_order
        )
        self.strip_request_headers = strip_request_headers
        self.description = fit_description(description or f"dualfilter {filter.name}", MAX_DESCRIPTION)
        #: The request headers removed (under ``strip_request_headers``), as IIS names them (``'Range:'``).
        self.removed = tuple(sorted(name.title() + ":" for name in filter.request_policy.removed))
        self.max_head_size = max_head_size

    def GetFilterVersion(self, fv: Any) -> None:
        """Called once as IIS loads the filter (with None after a reload): the notifications wanted."""
        if fv is not None:
            fv.Flags = self.flags
            fv.FilterDesc = self.description

    def HttpFilterProc(self, fc: Any) -> int:
        """Called for every notification; returns an ``SF_STATUS_REQ_*`` code and never raises."""
        try:
            kind = fc.NotificationType
            if kind == SF_NOTIFY_SEND_RAW_DATA:
                connection = fc.FilterContext
                if type(connection) is not Connection:
                    connection = fc.FilterContext = Connection()
                elif connection.writing:  # the filter's own output coming round
                    return NEXT
                return connection.send_raw_data(self, fc)
            if kind == SF_NOTIFY_END_OF_REQUEST:
                connection = fc.FilterContext
                return connection.end_of_request(fc) if type(connection) is Connection else NEXT
            if kind == SF_NOTIFY_PREPROC_HEADERS:
                connection = fc.FilterContext
                if type(connection) is not Connection:
                    connection = fc.FilterContext = Connection()
                elif connection.exchange is not None:  # the last request's END_OF_REQUEST never came: it is over
                    connection.end_of_request(fc)
                connection.ask(self, fc)
                strips = self.strip_request_headers and not connection.skipped
                connection.request_headers = self._strip_request_headers(fc, fc.GetData()) if strips else {}
            elif kind == SF_NOTIFY_END_OF_NET_SESSION:
                connection = fc.FilterContext
                fc.FilterContext = None
                if type(connection) is Connection:
                    connection.closed()
        except Exception:
            log.exception("%s: ISAPI filter notification failed; the data goes on as it came", self.filter.name)
        return NEXT

    def refuses(self, fc: Any) -> bool:
        """Whether ``should_filter_request`` refuses the request ``fc`` is about
        (asked only when a filter overrides it): then the site sees the request
        as sent and its response passes untouched. When it raises, the site's
        response is answered with the clean 500 instead (``Connection.ask``)."""
        flt = self.filter
        return flt.asks_requests and not flt.should_filter_request(FilterEnviron(FilterRequest(fc)))

    def TerminateFilter(self, status: int) -> None:
        """Called as IIS unloads the filter: nothing is held outside the connections."""

    def _strip_request_headers(self, fc: Any, headers: Any) -> dict[str, str]:
        """PREPROC_HEADERS: take away the request headers the site must not see
        (IIS cannot be asked twice); returns them, by environ key, for the filter's environ."""
        taken = {}
        method = headers.GetHeader("method", None)
        # Only a safe request's answer may be a 206 or 304 of a page: an unsafe one keeps its
        # preconditions (If-None-Match: * guards a PUT against overwriting, RFC 9110 section 13.1.2).
        safe = (method.decode("latin-1") if isinstance(method, bytes) else str(method or "GET")) in SAFE_METHODS
        for name in self.removed if safe else ():
            try:
                value = _header(fc, headers, name)
            except MemoryError:  # longer than pywin32 reads: unread, and still kept from the site
                headers.SetHeader(name, "")
                continue
            if value is not None:
                taken[environ_key(name[:-1])] = value.decode("latin-1") if isinstance(value, bytes) else value
                headers.SetHeader(name, "")  # an empty value deletes the header
        policy = self.filter.request_policy
        if policy.token is not None:
            try:
                value = _header(fc, headers, "If-None-Match:")
            except MemoryError:  # longer than pywin32 reads: what it asks cannot be told
                if safe:
                    headers.SetHeader("If-None-Match:", "")  # the site's 200 is filtered instead
                value = None
            if value:
                text = value.decode("latin-1") if isinstance(value, bytes) else value
                # Safe: only the app's own tags for derived ones (the site cannot be asked twice,
                # and its own tags may be from before the filter existed); else as other hosts show it.
                translated = policy.translate_derived(text) if safe else policy.translate(text)
                if translated != text:
                    taken["HTTP_IF_NONE_MATCH"] = text  # the filter reads what the client sent
                    try:  # pywin32 hands IIS a str as UTF-8: the str that gives these very bytes
                        shown = translated.encode("latin-1").decode("utf-8")
                    except UnicodeDecodeError:  # bytes no str gives (opaque tags may hold any)
                        shown = "" if safe else text  # safe: the site's 200 is filtered; unsafe: as sent
                    if shown != text:
                        headers.SetHeader("If-None-Match:", shown)  # an empty value deletes the header
        return taken

    def __repr__(self) -> str:
        return f"<{self.filter.name} ISAPI filter>"


def isapi_filter(target: type[Filter] | Filter, **options: Any) -> ISAPIFilter:
    """``target.isapi_filter(**options)``: the ISAPI options configure the filter object; the
    rest build the filter from a class (a configured instance takes none)."""
    isapi = {name: options.pop(name) for name in ISAPI_OPTIONS if name in options}
    if isinstance(target, Filter):
        if options:
            name = type(target).__name__
            raise TypeError(f"options go to the constructor: {name}({', '.join(options)}=...).isapi_filter()")
        return ISAPIFilter(target, **isapi)
    return ISAPIFilter(target(**options), **isapi)


def _header(fc: Any, headers: Any, name: str) -> bytes | str | None:
    """Request header ``name`` (``'Range:'``) at PREPROC_HEADERS, or None. pywin32's
    ``GetHeader`` reads into 8 KiB and gives the default for a longer value; its
    ``GetServerVariable`` reads up to 16 KiB, so a long header is read from there (a
    longer one raises MemoryError, as pywin32 does)."""
    value = headers.GetHeader(name, None)
    if value is None:
        value = fc.GetServerVariable(environ_key(name[:-1]), None)
    return value or None
