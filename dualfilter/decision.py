"""Whether a response is filtered, and why: one pure function, memoised.

``decide(filter, method, status, headers)`` reads only the request method, the
status and the headers (plus ``should_filter`` when a filter overrides it) and
says what the machine does with the response: pass it on, buffer it, stream
it, send a start with no body (HEAD, 1xx, 204, 205, 304), ask the app again
for the full response (a 206 or 304 that may stand for a filtered page), or
answer the clean 500 (an overridden ``should_filter`` raised).
``reason`` is a sentence for logs and ``dualfilter apply``; ``untouched``
says a host may forward the response without a machine. ``decide_raw`` is the
same for ASGI's byte headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from . import codings
from .headers import Headers
from .mediatypes import content_type_items, parse_content_type

if TYPE_CHECKING:
    from .filter import Filter

#: How many (method, status, Content-Type, Content-Encoding) decisions a filter remembers.
DECISION_CACHE_SIZE = 512
#: Statuses that never carry a body (RFC 9110 sections 15.2, 15.3.5, 15.3.6, 15.4.5).
NO_BODY_STATUS = frozenset({204, 205, 304})
_NO_PARAMS: Mapping[str, str] = MappingProxyType({})

Action = Literal["pass", "buffer", "stream", "bodiless", "redispatch", "precondition", "fail"]


@dataclass(frozen=True, slots=True)
class Decision:
    """What the machine does with one response, and why."""

    #: Whether the filter wants this response (a HEAD's start is still fixed up).
    wanted: bool
    #: ``'pass'``, ``'buffer'``, ``'stream'`` (the filter has ``stream()``),
    #: ``'bodiless'`` (no body may follow: HEAD, 1xx, 204, 205, 304) or
    #: ``'redispatch'`` (a 206 or 304 that may stand for a filtered page),
    #: ``'precondition'`` (the app's 412 for a page the filter filters: answered
    #: with the machine's own, since some apps send the page with it) or
    #: ``'fail'`` (the filter's ``should_filter`` raised ``error``: a clean 500).
    action: Action
    #: Why, in a sentence: printed by ``dualfilter apply`` and in logs.
    reason: str
    #: The Content-Type the response is filtered as (lower-case, no parameters).
    media_type: str = ""
    params: Mapping[str, str] = field(default_factory=lambda: _NO_PARAMS)
    #: The response's content codings, in the order applied.
    codings: tuple[str, ...] = ()
    #: What ``should_filter`` raised, for a ``'fail'`` decision.
    error: BaseException | None = None
    #: Whether the response goes on exactly as the app made it, with nothing to
    #: log: a host may then forward it without a machine (``pass``, no codings).
    untouched: bool = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "untouched", self.action == "pass" and not self.codings)

    @property
    def as_made(self) -> bool:
        """Whether the response goes out as the app made it: passed on, or a start
        with no body the filter does not want (a host may then send its body its own
        way, as ISAPI's TransmitFile); not one it filters, nor a 206 or 304 that
        is asked again, nor one answered with the clean 500."""
        return self.action == "pass" or self.action == "bodiless" and not self.wanted


def untyped_partial(
    flt: Filter, status: int, decision: Decision, environ: Mapping[str, Any], headers: Iterable[tuple[str, str]]
) -> bool:
    """Whether a 206 is of a page with no type, to pass as it came: it names none (RFC 9110
    section 15.3.7: a 206 carries its 200's Content-Type), no If-Range let it leave the type
    out, and the filter would leave the untyped page alone (its own ``should_filter`` may take it)."""
    if status != 206 or decision.media_type or environ.get("HTTP_IF_RANGE"):
        return False
    if flt.default_decision:
        return True
    try:
        return not flt.should_filter(environ, 200, Headers(list(headers)))
    except Exception:
        return False  # asked again: should_filter is asked of the whole page then, and its error met there


def page_type(flt: Filter, headers: Iterable[tuple[str, str]], status: int = 200) -> tuple[str, Mapping[str, str]]:
    """The media type and parameters a response with ``headers`` is filtered as: of several
    field lines or a list, as :func:`decide` reads them (``('', {})`` with none)."""
    value = ", ".join(value for name, value in headers if name.lower() == "content-type")
    return _content_type(flt, status, value) if value else ("", _NO_PARAMS)


def _content_type(flt: Filter, status: int, value: str) -> tuple[str, Mapping[str, str]]:
    """The Content-Type a response is filtered as. Of several (a list, or field
    lines combined), the last this filter takes: any a client may read must not
    pass unfiltered, and browsers read the last (its charset is theirs: WHATWG
    Fetch, "extract a MIME type"). Else the one a browser reads: the last valid one,
    with the charset of an earlier line of the same type that names one."""
    if "," not in value:
        return parsed_one if (parsed_one := parse_content_type(value))[0] != "*/*" else ("", _NO_PARAMS)
    chosen: tuple[str, Mapping[str, str]] | None = None
    last: tuple[str, Mapping[str, str]] = ("", _NO_PARAMS)  # what a browser reads: Fetch's answer
    essence = charset = None
    for media_type, params in (parse_content_type(item) for item in content_type_items(value)):
        if not media_type or media_type == "*/*":
            continue  # skipped, as Fetch skips them
        if media_type != essence:  # a new type: its own charset, or none
            essence, charset = media_type, params.get("charset")
        # A later line of the same type without a charset takes the first one's (Fetch).
        last = (media_type, params if charset is None or "charset" in params else {**params, "charset": charset})
        if flt.accepts(status, media_type):
            chosen = last
    return chosen if chosen is not None else last


def decide(
    flt: Filter,
    method: str,
    status: int | str,
    headers: Iterable[tuple[str, str]],
    environ: Mapping[str, Any] | None = None,
    *,
    plainly: bool = False,
) -> Decision:
    """What ``flt`` does with a response to ``method`` with ``status`` (a code,
    or a WSGI status line: memoised as it is, parsed when not known) and
    ``headers``. ``environ`` goes to an overridden ``should_filter``; a filter
    that does not override it gets its decisions memoised. ``plainly`` decides
    on a 416 the app is not asked again for as on any other status (not memoised)."""
    # Content-Type and Content-Encoding, several field lines combined as HTTP reads them.
    content_type = content_encoding = None
    for name, value in headers:
        lowered = name.lower()
        if lowered == "content-type":
            content_type = value if content_type is None else f"{content_type}, {value}"
        elif lowered == "content-encoding":
            content_encoding = value if content_encoding is None else f"{content_encoding}, {value}"
    head = method == "HEAD"
    if flt.default_decision and not plainly:
        key = (head, status, content_type, content_encoding)
        memo = flt._decisions
        decision = memo.get(key)
        if decision is None:
            code = _code(status)
            decision = _NO_CODE if code is None else _decide(flt, head, code, content_type, content_encoding, None, None)
            decision = _remember(memo, key, decision)
        return decision
    code = _code(status)
    if code is None:
        return _NO_CODE
    try:
        return _decide(flt, head, code, content_type, content_encoding, Headers(list(headers)), environ or {}, plainly)
    except Exception as exc:  # the filter's own should_filter() (a chain's: its stages')
        return Decision(False, "fail", f"{flt.name}.should_filter() raised {type(exc).__name__}: {exc}", error=exc)


def _code(status: int | str) -> int | None:
    """The status code of ``status``: a code, or a WSGI status line (``'200 OK'``, read as
    leniently as a number leads it: ``'200OK'`` names 200, which the host then refuses as a
    line for a response the filter takes); None for a line that names none (``'OK'``)."""
    if type(status) is int:
        return status
    text = str(status)
    try:
        return int(text.partition(" ")[0])
    except ValueError:
        found = _LEADING_CODE.match(text)
        return int(found[1]) if found else None


#: The number a malformed status line starts with.
_LEADING_CODE = re.compile(r"\s*([+-]?\d+)")


#: What a status line that names no code gets: it goes to the server as the app gave it, to refuse.
_NO_CODE = Decision(False, "pass", "the status line names no status code: passed on for the server to refuse")


def decide_raw(
    flt: Filter,
    method: str,
    status: int,
    pairs: Iterable[tuple[Any, Any]],  # bytes, as ASGI has them (a str pair is read too)
    environ: Mapping[str, Any] | None = None,
) -> Decision:
    """:func:`decide` for header pairs in bytes (ASGI), decoding (latin-1) only
    the two fields it reads, and those only when the memo does not know them."""
    if not flt.default_decision:
        headers = [(_latin1_text(name), _latin1_text(value)) for name, value in pairs]
        return decide(flt, method, status, headers, environ)
    content_type: Any = None  # bytes, unless an app gave a str among its pairs
    content_encoding: Any = None
    for name, value in pairs:
        lowered = name.lower()
        if lowered == b"content-type" or lowered == "content-type":  # a str pair too (h11 takes them)
            value = value.encode("latin-1") if type(value) is str else value
            content_type = value if content_type is None else content_type + b", " + value
        elif lowered == b"content-encoding" or lowered == "content-encoding":
            value = value.encode("latin-1") if type(value) is str else value
            content_encoding = value if content_encoding is None else content_encoding + b", " + value
    if content_type is not None and type(content_type) is not bytes:  # a bytearray (hashable as bytes), a str
        content_type = content_type.encode("latin-1") if type(content_type) is str else bytes(content_type)
    if content_encoding is not None and type(content_encoding) is not bytes:
        content_encoding = content_encoding.encode("latin-1") if type(content_encoding) is str else bytes(content_encoding)
    head = method == "HEAD"
    # Keyed by the bytes themselves: they never equal the str keys decide() uses.
    key = (head, status, content_type, content_encoding)
    memo = flt._decisions
    decision = memo.get(key)
    if decision is None:
        content_type_text = None if content_type is None else content_type.decode("latin-1")
        encoding_text = None if content_encoding is None else content_encoding.decode("latin-1")
        decision = _remember(memo, key, _decide(flt, head, status, content_type_text, encoding_text, None, None))
    return decision


#: Statuses decided on as the page's 200 they stand for.
_FOR_THE_PAGE = frozenset({206, 304, 412, 416})


def _latin1_text(item: Any) -> str:
    """A header name or value of ASGI pairs as text: bytes read as latin-1, a str as it is."""
    return item if type(item) is str else bytes(item).decode("latin-1")


def _remember(memo: dict[Any, Any], key: Any, decision: Decision) -> Decision:
    if len(memo) >= DECISION_CACHE_SIZE:
        memo.clear()
    memo[key] = decision
    return decision


def _decide(
    flt: Filter,
    head: bool,
    status: int,
    content_type: str | None,
    content_encoding: str | None,
    headers: Headers | None,
    environ: Mapping[str, Any] | None,
    plainly: bool = False,
) -> Decision:
    if status < 200 or status in NO_BODY_STATUS and status != 304:
        return Decision(False, "bodiless", f"status {status} has no body")
    # A 206, 304, 412 or 416 stands for the page's 200: of several types, the one its 200 is filtered as.
    page_status = 200 if status in _FOR_THE_PAGE else status
    media_type, params = _content_type(flt, page_status, content_type) if content_type else ("", _NO_PARAMS)
    if status == 416 and not plainly:
        # A 416 says the range is past the end of what the app has: for a filtered
        # page, past the unfiltered length; its type says nothing of the page's.
        return Decision(False, "redispatch", "a 416 of what may be a filtered page", media_type, params)
    if status == 304 or status == 206:
        # A 304 or a partial stands for the full 200, which this filter may filter:
        # then it cannot reach the client as the app made it (the machine asks again).
        if status == 206 and media_type == "multipart/byteranges":
            whole = True  # the parts' types are inside the body: assume the worst
        elif not media_type:
            # A 304 need not say its type, nor a 206 after If-Range (RFC 9110 section 15.3.7): assume the worst.
            whole = True
        elif headers is not None and environ is not None:
            whole = flt.should_filter(environ, 200, headers)
        else:
            whole = flt.accepts(200, media_type)
        if whole:
            what = "a 304" if status == 304 else "a partial (206)"
            return Decision(False, "redispatch", f"{what} of what may be a filtered page", media_type, params)
        kept: Action = "bodiless" if status == 304 or head else "pass"
        return Decision(False, kept, f"status {status} of a type not filtered", media_type, params)
    if status == 412 and media_type and not flt.filter_all_status:
        # A failed precondition of a page this filter filters: werkzeug (Flask, Quart) sends
        # the page itself with it, which may not pass unfiltered (a 412 is not filtered).
        whole = (
            flt.should_filter(environ, 200, headers)
            if headers is not None and environ is not None
            else flt.accepts(200, media_type)
        )
        if whole:
            return Decision(
                False, "precondition", "a 412 of a page the filter filters: its body may be the page", media_type, params
            )
    unwanted: Action = "bodiless" if head else "pass"  # a HEAD response never carries a body
    if headers is not None and environ is not None:
        if not flt.should_filter(environ, status, headers):
            return Decision(False, unwanted, f"{flt.name}.should_filter() returned False", media_type, params)
    elif status != 200 and not flt.filter_all_status:
        return Decision(False, unwanted, f"status {status} is not filtered (set filter_all_status=true)")
    elif not media_type:
        return Decision(False, unwanted, "the response has no Content-Type")
    elif not flt.accepts(status, media_type):
        patterns = ", ".join(flt._content_types) or "nothing"
        reason = f"it does not filter Content-Type {media_type} (filter_content_types: {patterns})"
        return Decision(False, unwanted, reason, media_type, params)
    content_codings = tuple(codings.parse(content_encoding))
    unsupported = ", ".join(c for c in content_codings if not codings.supported(c))
    if unsupported:
        reason = f"unsupported Content-Encoding {unsupported}"
        return Decision(False, unwanted, reason, media_type, params, content_codings)
    if head:
        return Decision(True, "bodiless", "a HEAD request: the start is fixed, no body", media_type, params, content_codings)
    if flt.is_streaming and not content_codings:
        return Decision(True, "stream", "filtered, streamed", media_type, params)
    how = (
        f"filtered, buffered (Content-Encoding {', '.join(content_codings)} undone)" if content_codings else "filtered, buffered"
    )
    return Decision(True, "buffer", how, media_type, params, content_codings)


def wants(stage: Filter, environ: Mapping[str, Any], status: int, headers: Iterable[tuple[str, str]]) -> bool:
    """Whether one stage of a chain filters a response with this status and
    these headers (as the stages before it left them); the chain has left out
    the stages whose ``should_filter_request`` refused the request."""
    if stage.default_decision:
        media_type = page_type(stage, headers, status)[0]
        return bool(media_type) and stage.accepts(status, media_type)
    return stage.should_filter(environ, status, Headers(list(headers)))
