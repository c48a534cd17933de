"""Every example filter gives the same response through Django's FilterMiddleware (sync and async) as under WSGI."""

from __future__ import annotations

import pytest

from tests.support.hosts import DJANGO_MODES, FILTERS, INNER, run_django, run_wsgi

CASES = [(f, i) for f in FILTERS for i in INNER]


@pytest.mark.parametrize("mode", DJANGO_MODES)
@pytest.mark.parametrize(("filter_name", "inner_name"), CASES)
async def test_django_matches_wsgi(filter_name, inner_name, mode):
    flt, inner = FILTERS[filter_name], INNER[inner_name]
    assert await run_django(flt, inner, mode) == run_wsgi(flt, inner)


@pytest.mark.parametrize("mode", DJANGO_MODES)
async def test_range_header_is_hidden_from_the_django_view(mode):
    from tests.support.hosts import UpperBytes

    result = await run_django(UpperBytes, INNER["range-request"], mode)
    assert "x-saw-range" not in dict(result.headers)
