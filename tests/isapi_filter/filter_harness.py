"""Shared pieces for the ISAPI filter tests: example filters and raw responses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dualfilter import Filter
from dualfilter.isapi.testing import FilterHost, FilterResponse, raw_response

HTML_TYPE = ("Content-Type", "text/html; charset=utf-8")
PAGE = b"<html><body><p>Hello, filter</p></body></html>"


class UpperFilter(Filter):
    """Upper-cases the body: easy to see whether a response was filtered."""

    def filter(self, environ, headers, data):
        return data.upper()


def html(body: bytes = PAGE, *, chunks: Iterable[bytes] | None = None, chunked: bool = False, status: str = "200 OK") -> bytes:
    """A raw HTML response, framed by Content-Length or chunked."""
    parts = list(chunks) if chunks is not None else [body]
    headers = [HTML_TYPE] if chunked else [HTML_TYPE, ("Content-Length", str(sum(map(len, parts))))]
    return raw_response(status, headers, parts, chunked=chunked)


def serve(
    raw: bytes,
    splits: Iterable[int] = (),
    method: str = "GET",
    flt: Any = UpperFilter,
    results_reach_iis: bool = False,
    **options: Any,
) -> FilterResponse:
    """One request on a fresh connection through ``flt`` as an ISAPI filter (what HttpFilterProc
    returns reaches IIS only with ``results_reach_iis``, as pywin32 is)."""
    isapi_filter = flt.isapi_filter() if isinstance(flt, type) else flt
    with FilterHost(isapi_filter, results_reach_iis=results_reach_iis) as iis:
        return iis.request(method, "/page", response=raw, splits=splits, **options)


def filtered(raw: bytes) -> bytes:
    """What UpperFilter makes of an HTML response with a Content-Length: the same head, upper body."""
    head, _, body = raw.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n" + body.upper()
