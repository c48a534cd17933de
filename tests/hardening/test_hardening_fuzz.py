"""Fuzzing: random app behaviours through every host, checked against HTTP invariants and the rules.

Hypothesis draws a response (status, Content-Type, Content-Encoding, body,
chunking, with or without a Content-Length), how a WSGI app hands it over
(``write()``, an iterable, a late ``start_response``) and the request method.
Whatever it draws, what the client gets must obey HTTP (Content-Length true,
no body for HEAD, 204 or 304), be filtered exactly when an oracle written
from the documented rules says so, and be the same on WSGI, ASGI and ISAPI.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

import brotli
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dualfilter.responses import reason_phrase

from .hardening_hosts import HOSTS, WSGI_MODES, Inner, Received, Redact, fetch, received, redact

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
