"""Building the responses the machine emits: fixed-up headers and error pages."""

from __future__ import annotations

import http
import logging
import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .charsets import Charset
from .events import Body, End, Event, ResponseStart
from .headers import HOP_BY_HOP, HeaderList, check_headers, without
from .mediatypes import content_type_items, format_content_type, parse_content_type

if TYPE_CHECKING:
    from .filter import Filter

log = logging.getLogger("dualfilter")

#: Headers that describe the body as the app sent it and so cannot survive a
#: change of body: its length, its framing, its digest, its validator, its ranges.
BODY_BOUND = HOP_BY_HOP | {
    "content-length",
    "content-md5",
    "etag",
    "last-modified",
    "accept-ranges",
    "content-range",
    "digest",
    "content-digest",
    "repr-digest",
}


#: Those of them that describe a body's content, which a filter may set for the body it made
#: (its own ETag, a digest of it): the lines it set go out, the ones that came with the old body do not.
DESCRIBES_BODY = frozenset({"etag", "last-modified", "content-md5", "digest", "content-digest", "repr-digest"})


def unframed(status: int) -> bool:
    """Whether a response of ``status`` never has a body on the wire, whatever its
    headers say (RFC 9112 section 6.3: 1xx, 204 and 304; a 205's is empty, but framed)."""
    return status < 200 or status == 204 or status == 304


def reason_phrase(status: int) -> str:
    """The standard reason phrase for ``status`` (empty for unknown codes)."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def status_line(status: int, reason: str = "") -> str:
    """``'200 OK'``: a WSGI / ISAPI status string. A code with no reason phrase
    keeps the space after it (``'599 '``), as RFC 9112's status-line and
    PEP 3333 servers (wsgiref asserts it) require."""
    return f"{status} {reason or reason_phrase(status)}"


def fixed_headers(headers: HeaderList, original: HeaderList, length: int | None, charset: Charset | None) -> HeaderList:
    """The headers for a new body of ``length`` bytes.

    Validates the headers unless they are still the ``original`` the app sent
    (a filter may have set them), drops the ones bound to the old body (but a
    validator or digest the filter set, which describes the new one), puts
    ``charset`` into the Content-Type when given, and appends the new
    Content-Length (none when ``length`` is None: a streamed body).
    """
    edited = headers != original
    if edited:
        check_headers(headers)
    came: set[tuple[str, str]] | None = None  # the original's lines that describe the old body
    fixed: HeaderList = []
    for name, value in headers:
        lowered = name.lower()
        if lowered in BODY_BOUND:
            if not edited or lowered not in DESCRIBES_BODY:
                continue
            if came is None:
                came = {(key.lower(), line) for key, line in original if key.lower() in DESCRIBES_BODY}
            if (lowered, value) in came:
                continue
        if charset is not None and lowered == "content-type":
            value = _declaring(value, charset)
        fixed.append((name, value))
    if length is not None:
        fixed.append(("Content-Length", str(length)))
    return fixed


def fixed_trailers(trailers: HeaderList | None) -> HeaderList | None:
    """A new body's trailer section: without the fields that described the old body
    (a digest, a validator: RFC 9530 sends digests as trailers of a streamed body)."""
    return None if trailers is None else without(trailers, BODY_BOUND)


def trailer_field(headers: HeaderList) -> HeaderList:
    """The app's ``Trailer`` field lines for a new body: the names of the trailers it
    still carries (those :func:`fixed_trailers` drops are not announced)."""
    kept: HeaderList = []
    for name, value in headers:
        if name.lower() == "trailer":
            names = [item.strip() for item in value.split(",")]
            announced = [item for item in names if item and item.lower() not in BODY_BOUND]
            if announced:
                kept.append((name, ", ".join(announced)))
    return kept


def with_charset(headers: HeaderList, charset: Charset) -> HeaderList:
    """``headers`` with their Content-Type declaring ``charset``."""
    return [(name, _declaring(value, charset)) if name.lower() == "content-type" else (name, value) for name, value in headers]


def _declaring(content_type: str, charset: Charset) -> str:
    """A Content-Type value whose ``charset`` parameter names ``charset``: of a list
    (several field lines combined), every type in it, since browsers read the last."""
    if "," in content_type:
        items = content_type_items(content_type)
        if len(items) > 1:
            return ", ".join(_declaring(item.strip(), charset) for item in items)
    media_type, params = parse_content_type(content_type)
    if media_type and params.get("charset", "").lower() != charset.header_name.lower():
        return format_content_type(media_type, {**params, "charset": charset.header_name})
    return content_type


def simple_response(status: int, message: str, detail: str = "", *, head: bool = False) -> list[Event]:
    """A short ``text/plain`` response, e.g. the 500 a failed filter gives; to
    a HEAD request, its start alone (RFC 9110 section 9.3.2: no content)."""
    body = (message + "\n" + (detail + "\n" if detail else "")).encode("utf-8")
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    start = ResponseStart(status, headers, reason_phrase(status))
    return [start, End()] if head else [start, Body(body), End()]


def error_response(exc: BaseException | None, debug: bool, *, head: bool = False) -> list[Event]:
    """The clean 500 for a filter that failed; the traceback only in debug."""
    detail = "".join(traceback.format_exception(exc)) if debug and exc is not None else ""
    return simple_response(500, "Internal Server Error", detail, head=head)


def request_path(environ: Mapping[str, Any]) -> str:
    """``'GET /app/page'``: the request, as logs name it."""
    return f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '/')}"


def request_refused(flt: Filter, environ: Mapping[str, Any]) -> list[Event] | None:
    """What a host does with a request before the app runs: None when the
    filter may filter its response, ``[]`` when ``should_filter_request``
    refuses it (the request reaches the app untouched), or the clean 500 when
    ``should_filter_request`` raised (logged, as a failing filter is)."""
    try:
        return None if flt.should_filter_request(environ) else []
    except Exception as exc:
        log.error("%s.should_filter_request() raised on %s", flt.name, request_path(environ), exc_info=exc)
        return error_response(exc, flt.debug, head=environ.get("REQUEST_METHOD") == "HEAD")
