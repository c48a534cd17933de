"""A multipart/byteranges 206 the site gives for a Range of several ranges, in filter mode
(IIS cannot be asked twice): a page to filter gets the 502 a single range gets, never its
unfiltered parts; a type the filter leaves alone goes as the site sent it (docs/iis-filter.md)."""

from __future__ import annotations

import pytest
from filter_harness import UpperFilter

from dualfilter.isapi.testing import FilterHost, raw_response


def multipart(part_type: str) -> bytes:
    parts = (
        f"--SEP\r\nContent-Type: {part_type}\r\nContent-Range: bytes 0-4/30\r\n\r\n<html\r\n"
        f"--SEP\r\nContent-Type: {part_type}\r\nContent-Range: bytes 10-20/30\r\n\r\nsecret card\r\n--SEP--\r\n"
    ).encode()
    headers = [("Content-Type", "multipart/byteranges; boundary=SEP"), ("Content-Length", str(len(parts)))]
    return raw_response("206 Partial Content", headers, [parts])


@pytest.mark.parametrize(("part_type", "status"), [("text/html", 502), ("image/png", 206)])
def test_a_multi_range_206_the_site_honours_is_answered_as_a_single_range_is(part_type, status):
    with FilterHost(UpperFilter.isapi_filter(strip_request_headers=False)) as iis:
        response = iis.request(response=multipart(part_type), headers=[("Range", "bytes=0-4,10-20")])
    assert response.status == status
    if status == 502:
        assert b"secret" not in response.raw
