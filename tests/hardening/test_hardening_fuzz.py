"""Fuzzing: random app behaviours through every host, checked against HTTP invariants and the rules.

Hypothesis draws a response (status, Content-Type, Content-Encoding, body,
chunking, with or without a Content-Length), how a WSGI app hands it over
(``write()``, an iterable, a late ``start_response``) and the request method.
Whatever it draws, what the client gets must obey HTTP (Content-Length true,
no body for HEAD, 204 or 304), be filtered exactly when an oracle written
from the documented rules says so, and be the same on WSGI, ASGI and ISAPI.

A second oracle draws ranges and validators in the request (Range, If-Range,
If-None-Match with the app's own or a derived tag, If-Modified-Since) for a
range- and validator-aware app: a type the filter leaves alone gets the app's
own 206 and 304, a filtered page its ranges from the filtered body, and each
host as its request policy says (ISAPI hides Range and If-Range up front).
"""

from __future__ import annotations

import datetime
import email.utils
import gzip
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import brotli
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualfilter.responses import reason_phrase
from tests.support.hardening_hosts import (
    HOSTS,
    HTML,
    WSGI_MODES,
    Inner,
    Received,
    Redact,
    fetch,
    received,
    redact,
    request,
    wrap,
    wsgi_app_for,
)
from tests.support.hosts import SyncExtension, asgi_app

STATUSES = [200, 200, 200, 201, 204, 304, 404, 500]
CONTENT_TYPES = [
    None,
    "text/html; charset=utf-8",
    'TEXT/HTML; Charset="UTF-8"',
    "text/html",
    "text/plain",
    "application/json",
    "image/png",
]
CODINGS = [None, None, "gzip", "deflate", "br", "zstd", "x-unknown"]
ENCODE = {
    None: lambda data: data,
    "x-unknown": lambda data: data,
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}
DECODE = {
    None: lambda data: data,
    "gzip": gzip.decompress,
    "deflate": zlib.decompress,
    "br": brotli.decompress,
    "zstd": lambda data: zstandard.ZstdDecompressor().decompressobj().decompress(data),
}
NO_BODY = {204, 304}


@dataclass
class Case:
    """One drawn app behaviour and request."""

    inner: Inner
    plain: bytes  # the body before any content coding
    coding: str | None
    mode: str  # how the WSGI app hands its body over
    filter_all_status: bool

    @property
    def media_type(self) -> str:
        content_type = next((v for k, v in self.inner.headers if k == "Content-Type"), "")
        return content_type.split(";")[0].strip().lower()

    def wanted(self) -> bool:
        """The documented rule: a 200 (any status with a body, with filter_all_status) of a
        filtered media type, in a coding this process can decode."""
        status = self.inner.status
        return (
            self.media_type == "text/html"
            and (status == 200 or (self.filter_all_status and status not in NO_BODY))
            and self.coding != "x-unknown"
        )


@st.composite
def cases(draw: st.DrawFn) -> Case:
    status = draw(st.sampled_from(STATUSES))
    method = draw(st.sampled_from(["GET", "GET", "POST", "HEAD"]))
    content_type = draw(st.sampled_from(CONTENT_TYPES))
    coding = draw(st.sampled_from(CODINGS))
    plain = b"" if status in NO_BODY else draw(st.binary(max_size=200) | st.sampled_from([b"", b"<p>the secret</p>"]))
    body = ENCODE[coding](plain)
    cuts = sorted(draw(st.lists(st.integers(0, len(body)), max_size=5)))
    chunks = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    headers = [] if content_type is None else [("Content-Type", content_type)]
    if coding is not None:
        headers.append(("Content-Encoding", coding))
    if draw(st.booleans()) and status not in NO_BODY:
        headers.append(("Content-Length", str(len(body))))
    if method == "HEAD" and status not in NO_BODY and not draw(st.booleans()):
        chunks = []  # a HEAD answered without a body; otherwise the app sends it, as many do
    inner = Inner(status, reason_phrase(status), headers, [] if status in NO_BODY else chunks, method=method)
    return Case(inner, plain, coding, draw(st.sampled_from(WSGI_MODES)), draw(st.booleans()))


def run_everywhere(case: Case) -> dict[str, Received]:
    flt = Redact(filter_all_status=case.filter_all_status)
    # wsgiref's validator wants a Content-Type on every response but a 204 or 304, and none on those.
    validate = case.inner.status not in NO_BODY and case.media_type != ""
    return {host: fetch(host, flt, case.inner, case.mode, **({"validate": validate} if host == "wsgi" else {})) for host in HOSTS}


def without_length(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name != "content-length"]


def check(case: Case, got: Received) -> None:
    """The invariants and the oracle for one host's response."""
    inner = case.inner
    sent = received(inner.status, inner.headers, b"".join(inner.chunks))
    length = next((v for k, v in got.headers if k == "content-length"), None)
    assert got.status == inner.status
    if inner.status in NO_BODY:
        assert got.body == b""
    if inner.method == "HEAD":
        if case.wanted():
            # The filtered GET's length is unknown: no length, and no unfiltered body.
            assert (got.body, length) == (b"", None)
            assert got.headers == without_length(sent.headers)
        else:
            assert got == received(inner.status, inner.headers, b"")  # as the app sent it, less any body
        return
    if length is not None:
        assert int(length) == len(got.body)
    if case.wanted():
        assert DECODE[case.coding](got.body) == redact(case.plain)
        assert without_length(got.headers) == without_length(sent.headers)
    else:
        assert got == sent


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_host_obeys_http_and_the_filtering_rules_for_any_app_behaviour(case):
    results = run_everywhere(case)
    for got in results.values():
        check(case, got)
    assert results["asgi"] == results["wsgi"] == results["isapi"]


# -- ranges and validators ---------------------------------------------------------------------------
#
# The app is range- and validator-aware: a 200 with validators answers a matching
# If-None-Match (or, without one, an If-Modified-Since not older than its
# Last-Modified) with a 304 that carries no Content-Type, and a single
# ``bytes=A-B`` Range with its own 206 (``Inner.seen``). The oracle says what
# the client gets from the rules: a type the filter leaves alone gets the app's
# answer to the request as the host shows it; a filtered page is never a 206
# or 304 of the unfiltered body: its ranges come from the filtered body, and
# only a tag the filter derived revalidates it (force_no_conditional=False).

ETAG = '"v1"'
LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT"
VALIDATOR_CONTENT_TYPES = ["text/html; charset=utf-8", "text/html", "text/css", "image/png", None]
RANGES = [None, None, "bytes=0-5", "bytes=3-", "bytes=-4", "bytes=0-0", "bytes=1000-", "bytes=-0", "bytes=2-1000"]
RANGES += ["bytes=0-1,3-4", "items=0-1", "bytes=5-2", "bytes = 1 - 2"]
SINCE = [None, None, "Wed, 15 Nov 2023 00:00:00 GMT", "Mon, 13 Nov 2023 00:00:00 GMT", LAST_MODIFIED, "not a date"]
#: Headers bound to the body, which a filtered response never carries as the app sent them.
BODY_BOUND = frozenset({"content-length", "content-md5", "etag", "last-modified", "accept-ranges", "digest", "content-range"})
#: The hosts that can ask the app again; the others hide Range and If-Range from it up front.
REDISPATCHING = ("wsgi", "asgi", "isapi")  # every host here can ask the app twice


@dataclass
class ValidatorCase:
    """A range- and validator-aware app's 200, and a GET or HEAD with ranges and validators."""

    inner: Inner  # the app's full 200
    validators: bool  # whether the app's 200 carries an ETag and Last-Modified and honours them
    force_no_conditional: bool
    range: str | None
    if_range: str | None
    if_none_match: str | None
    if_modified_since: str | None

    @property
    def method(self) -> str:
        return self.inner.method

    @property
    def flt(self) -> Redact:
        return Redact(force_no_conditional=self.force_no_conditional)

    @property
    def derived(self) -> str:
        """The tag the filter derives from the app's."""
        return f'W/"v1-dfs{self.flt.validator_token()}"'

    def request_headers(self) -> list[tuple[str, str]]:
        asked = [("Range", self.range), ("If-Range", self.if_range), ("If-None-Match", self.if_none_match)]
        asked.append(("If-Modified-Since", self.if_modified_since))
        return [(name, value) for name, value in asked if value is not None]

    def shown(self, host: str) -> dict[str, str]:
        """The request headers the app sees on ``host`` (first dispatch), names lower-cased."""
        headers = {name.lower(): value for name, value in self.request_headers()}
        if host not in REDISPATCHING:
            headers.pop("range", None)
            headers.pop("if-range", None)
            if self.force_no_conditional:
                headers.pop("if-none-match", None)
                headers.pop("if-modified-since", None)
        if "if-none-match" in headers and not self.force_no_conditional and self.derived in headers["if-none-match"]:
            headers["if-none-match"] = headers["if-none-match"].replace(self.derived, ETAG)  # its own tag for the derived one
        return headers

    def respond(self, headers: dict[str, str]) -> Inner:
        """The app's answer before ranges: its 200, or a 304 for a matching validator."""
        inner = self.inner
        if self.validators:
            none_match, since = headers.get("if-none-match"), headers.get("if-modified-since")
            if none_match is not None:
                matched = none_match.strip() == "*" or any(opaque == "v1" for _, opaque in _tags(none_match))
            else:
                matched = since is not None and _date(since) is not None and _date(since) >= _date(LAST_MODIFIED)  # type: ignore[operator]
            if matched:
                return Inner(304, "Not Modified", [("ETag", ETAG), ("Last-Modified", LAST_MODIFIED)], [], inner.method)
        return inner

    def answer(self, headers: dict[str, str]) -> Inner:
        """What the app sends for a request with ``headers``: :meth:`respond`, then ``Inner.seen`` for the Range."""
        return self.respond(headers).seen(headers.get("range"))


def _tags(value: str) -> list[tuple[bool, str]]:
    return [(bool(weak), opaque) for weak, opaque in re.findall(r'(W/)?"([^"]*)"', value)]


def _date(value: str) -> datetime.datetime | None:
    try:
        return email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


@st.composite
def validator_cases(draw: st.DrawFn) -> ValidatorCase:
    method = draw(st.sampled_from(["GET", "GET", "HEAD"]))
    content_type = draw(st.sampled_from(VALIDATOR_CONTENT_TYPES))
    validators = draw(st.booleans())
    plain = draw(st.binary(max_size=60) | st.sampled_from([b"", b"<p>the secret</p>" * 3]))
    headers = [] if content_type is None else [("Content-Type", content_type)]
    if draw(st.booleans()):
        headers.append(("Content-Length", str(len(plain))))
    if validators:
        headers += [("ETag", ETAG), ("Last-Modified", LAST_MODIFIED), ("Accept-Ranges", "bytes")]
    cuts = sorted(draw(st.lists(st.integers(0, len(plain)), max_size=3)))
    chunks = [plain[a:b] for a, b in zip([0, *cuts], [*cuts, len(plain)], strict=True)]
    inner = Inner(200, "OK", headers, chunks, method=method)
    force = draw(st.booleans())
    derived = f'W/"v1-dfs{Redact(force_no_conditional=force).validator_token()}"'
    none_match = draw(st.sampled_from([None, None, ETAG, 'W/"v1"', '"other"', "*", derived, f'"other", {derived}']))
    return ValidatorCase(
        inner,
        validators,
        force,
        None if method == "HEAD" else draw(st.sampled_from(RANGES)),
        draw(st.sampled_from([None, None, ETAG, LAST_MODIFIED])),
        none_match,
        draw(st.sampled_from(SINCE)),
    )


def serve(case: ValidatorCase, host: str) -> Received:
    """``case`` on ``host``: an app native to it, answering each request as :meth:`ValidatorCase.answer` says."""

    def answer(get: Callable[[str], str | None]) -> Inner:
        names = ("range", "if-range", "if-none-match", "if-modified-since")
        return case.respond({name: value for name in names if (value := get(name)) is not None})

    if host == "wsgi":

        def app(environ, start_response):
            inner = answer(lambda name: environ.get("HTTP_" + name.upper().replace("-", "_")))
            return wsgi_app_for(inner)(environ, start_response)

    elif host == "asgi":

        async def app(scope, receive, send):  # type: ignore[misc]
            pairs = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            await asgi_app(answer(pairs.get))(scope, receive, send)

    else:

        class Extension:
            def HttpExtensionProc(self, ecb):
                def get(name: str) -> str | None:
                    value = ecb.GetServerVariable("HTTP_" + name.upper().replace("-", "_"), None)
                    return value.decode("latin-1") if value else None

                return SyncExtension(answer(get)).HttpExtensionProc(ecb)

        app = Extension()  # type: ignore[assignment]
    validate = case.inner.headers != [] and any(k == "Content-Type" for k, _ in case.inner.headers)
    options = {"validate": validate} if host == "wsgi" else {}
    return request(host, wrap(host, case.flt, app), case.method, "/", case.request_headers(), **options)


def requested_range(value: str | None, if_range: str | None, size: int) -> tuple[int, int] | str | None:
    """RFC 9110 section 14: the one byte range asked of a ``size``-byte body, ``'unsatisfiable'``, or
    None for the whole body (no Range, an If-Range — a filtered page never matches one —,
    several ranges, another unit, or a range that is not valid)."""
    found = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", value or "")
    if found is None or if_range is not None:
        return None
    first, last = found.groups()
    if not first:
        if not last:
            return None
        return "unsatisfiable" if int(last) == 0 or size == 0 else (max(0, size - int(last)), size - 1)
    if last and int(last) < int(first):
        return None
    return "unsatisfiable" if int(first) >= size else (int(first), min(int(last) if last else size - 1, size - 1))


def filtered_page(case: ValidatorCase) -> Received:
    """The filtered page: the whole filtered body or the range asked of it; no validator of the app's."""
    inner = case.inner
    kept = [(k, v) for k, v in inner.headers if k.lower() not in BODY_BOUND]
    if not case.force_no_conditional and case.validators:
        kept.append(("ETag", case.derived))
    body = redact(b"".join(inner.chunks))
    if case.method == "HEAD":
        return received(200, kept, b"")
    wanted = requested_range(case.range, case.if_range, len(body))
    if wanted is None:
        return received(200, [*kept, ("Content-Length", str(len(body)))], body)
    if isinstance(wanted, str):  # unsatisfiable
        return received(416, [*kept, ("Content-Range", f"bytes */{len(body)}"), ("Content-Length", "0")], b"")
    first, last = wanted
    part = [("Content-Range", f"bytes {first}-{last}/{len(body)}"), ("Content-Length", str(last - first + 1))]
    return received(206, [*kept, *part], body[first : last + 1])


def expected(case: ValidatorCase, host: str) -> Received:
    """What the rules say the client gets on ``host``."""
    first = case.answer(case.shown(host))
    filtered_type = next((v for k, v in case.inner.headers if k == "Content-Type"), "").startswith("text/html")
    if first.status == 304:
        confirmed = case.if_none_match and (case.derived in case.if_none_match or case.if_none_match.strip() == "*")
        if not case.force_no_conditional and confirmed:
            untyped = not any(k.lower() == "content-type" for k, v in first.headers)
            if case.if_none_match.strip() == "*" and untyped and host in REDISPATCHING and not filtered_type:
                # Any page exists: asked again, the page is not filtered, and the app's own 304 stands.
                return received(304, first.headers, b"")
            # The client holds the filtered page (or asked for any) and the app's own is unchanged: the
            # derived tag confirms it, and nothing that described the app's body (RFC 9110 section 15.4.5).
            return received(304, [("ETag", case.derived)], b"")
        if filtered_type and host in REDISPATCHING:
            return filtered_page(case)  # asked again: the full page, filtered
        return received(304, first.headers, b"")  # the app's own 304 (its type is left alone)
    if filtered_type:
        return filtered_page(case)  # the app's 206 is asked again; its 200 is filtered
    untyped = not any(k.lower() == "content-type" for k, v in first.headers)
    if first.status == 206 and untyped and case.if_range and host in REDISPATCHING:
        # After If-Range a 206 may leave its type out (RFC 9110 section 15.3.7): it may be a
        # filtered page's, so it is asked again; the page is untyped, so its 200 goes as it came.
        inner = case.inner
        return received(inner.status, inner.headers, b"" if case.method == "HEAD" else b"".join(inner.chunks))
    return received(first.status, first.headers, b"" if case.method == "HEAD" else b"".join(first.chunks))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(validator_cases())
def test_every_host_obeys_the_range_and_validator_rules_for_any_request(case):
    for host in HOSTS:
        assert serve(case, host) == expected(case, host), host


@pytest.mark.parametrize("none_match, since", [(ETAG, None), (None, LAST_MODIFIED)], ids=["if-none-match", "if-modified-since"])
def test_a_validator_from_before_the_filter_never_revalidates_a_filtered_page_on_an_isapi_extension(none_match, since):
    inner = Inner(200, "OK", [("Content-Type", HTML), ("ETag", ETAG), ("Last-Modified", LAST_MODIFIED)], [b"<p>secret</p>"])
    case = ValidatorCase(inner, True, False, None, None, none_match, since)
    got = serve(case, "isapi")
    assert (got.status, got.body) == (200, redact(b"<p>secret</p>"))
