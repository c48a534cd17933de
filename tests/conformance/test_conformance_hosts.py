"""Every example filter gives the same response under WSGI, ASGI and ISAPI for the same inner response.

Bodies must be byte-identical; statuses equal; headers equal once names are
lower-cased and sorted.
"""

from __future__ import annotations

import pytest
from conformance_cases import FILTERS, INNER, ISAPI_STYLES, run_asgi, run_isapi, run_wsgi

CASES = [(f, i) for f in FILTERS for i in INNER]


@pytest.mark.parametrize(("filter_name", "inner_name"), CASES)
async def test_asgi_matches_wsgi(filter_name, inner_name):
    flt, inner = FILTERS[filter_name], INNER[inner_name]
    assert await run_asgi(flt, inner) == run_wsgi(flt, inner)


@pytest.mark.parametrize("style", list(ISAPI_STYLES))
@pytest.mark.parametrize(("filter_name", "inner_name"), CASES)
def test_isapi_matches_wsgi(filter_name, inner_name, style):
    flt, inner = FILTERS[filter_name], INNER[inner_name]
    assert run_isapi(flt, inner, style) == run_wsgi(flt, inner)


@pytest.mark.parametrize("filter_name", list(FILTERS))
def test_each_example_filter_changes_its_own_kind_of_body(filter_name):
    inner = INNER["json" if filter_name == "json-field" else "html-one-chunk"]
    result = run_wsgi(FILTERS[filter_name], inner)
    assert result.body != b"".join(inner.chunks) and dict(result.headers)["content-length"] == str(len(result.body))


def test_range_header_is_hidden_from_the_inner_app_on_every_host():
    from conformance_cases import UpperBytes

    inner = INNER["range-request"]
    assert all(
        "x-saw-range" not in dict(result.headers) for result in (run_wsgi(UpperBytes, inner), run_isapi(UpperBytes, inner))
    )


def test_inner_apps_report_a_range_header_they_can_see():
    from conformance_cases import Inner

    assert ("X-Saw-Range", "bytes=0-5") in Inner(200, "OK", [], []).headers_for("bytes=0-5")
