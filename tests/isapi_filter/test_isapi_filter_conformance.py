"""Every example filter of the conformance suite gives, as an ISAPI filter, the response the other hosts give.

The site is the conformance suite's own ISAPI extension for each inner
response; IIS puts its response on the wire (chunked when it has no
Content-Length) and the filter sees it split every 13 bytes. Framing is the
wire's business, so Transfer-Encoding is left out of the comparison.
"""

from __future__ import annotations

import pytest

from dualfilter.isapi.testing import FilterHost, extension_site
from tests.support.hosts import FILTERS, INNER, SyncExtension, received, run_wsgi, stripping_host_expects

CASES = [(f, i) for f in FILTERS for i in INNER]


def run_isapi_filter(flt, inner, splits):
    with FilterHost(flt.isapi_filter()) as iis:
        site = extension_site(SyncExtension(inner))
        response = iis.request(inner.method, "/", headers=inner.request_headers, response=site, splits=splits)
    assert response.status is not None
    headers = [(name, value) for name, value in response.headers if name.lower() != "transfer-encoding"]
    return received(response.status, headers, response.body)


@pytest.mark.parametrize(("filter_name", "inner_name"), CASES)
def test_isapi_filter_matches_wsgi(filter_name, inner_name):
    flt, inner = FILTERS[filter_name], INNER[inner_name]
    assert run_isapi_filter(flt, inner, range(13, 4096, 13)) == stripping_host_expects(flt, inner)


@pytest.mark.parametrize("filter_name", list(FILTERS))
def test_isapi_filter_matches_wsgi_with_the_response_in_one_piece(filter_name):
    flt, inner = FILTERS[filter_name], INNER["html-many-chunks" if filter_name != "json-field" else "json"]
    assert run_isapi_filter(flt, inner, ()) == run_wsgi(flt, inner)
