"""``should_filter_request``: a request it refuses reaches the app as sent, and its response passes, on every host."""

from __future__ import annotations

import pytest

from dualfilter.isapi.testing import FilterHost, extension_site
from tests.support.hosts import (
    DJANGO_MODES,
    HTML_PAGE,
    ISAPI_STYLES,
    SyncExtension,
    UpperBytes,
    html,
    received,
    run_asgi,
    run_django,
    run_isapi,
    run_wsgi,
)


class SkipsMarked(UpperBytes):
    """Upper-cases pages, but never those a request marks with X-No-Filter (say, static files)."""

    asked: list[str] = []

    def should_filter_request(self, environ):
        SkipsMarked.asked.append(environ.get("PATH_INFO", ""))
        return "HTTP_X_NO_FILTER" not in environ


MARKED = html([HTML_PAGE], request_headers=[("X-No-Filter", "1"), ("Range", "bytes=0-5")])
PLAIN = html([HTML_PAGE])


def the_apps_own_206(result):
    assert (result.status, result.body) == (206, HTML_PAGE[:6])
    assert dict(result.headers)["x-saw-range"] == "bytes=0-5"  # the app saw the Range: nothing was hidden


def run_isapi_filter(inner):
    with FilterHost(SkipsMarked.isapi_filter()) as iis:
        site = extension_site(SyncExtension(inner))
        response = iis.request(inner.method, "/", headers=inner.request_headers, response=site)
    headers = [(name, value) for name, value in response.headers if name.lower() != "transfer-encoding"]
    return received(response.status, headers, response.body)


def test_wsgi_sends_a_refused_request_to_the_app_untouched():
    the_apps_own_206(run_wsgi(SkipsMarked, MARKED))


async def test_asgi_sends_a_refused_request_to_the_app_untouched():
    the_apps_own_206(await run_asgi(SkipsMarked, MARKED))


@pytest.mark.parametrize("style", list(ISAPI_STYLES))
def test_an_isapi_extension_gets_a_refused_request_untouched(style):
    the_apps_own_206(run_isapi(SkipsMarked, MARKED, style))


def test_an_isapi_filter_leaves_a_refused_request_and_its_response_alone():
    the_apps_own_206(run_isapi_filter(MARKED))


@pytest.mark.parametrize("mode", DJANGO_MODES)
async def test_django_sends_a_refused_request_to_the_view_untouched(mode):
    the_apps_own_206(await run_django(SkipsMarked, MARKED, mode))


def test_a_request_it_allows_is_filtered_as_ever():
    assert run_wsgi(SkipsMarked, PLAIN).body == HTML_PAGE.upper()
    assert run_isapi_filter(PLAIN).body == HTML_PAGE.upper()


def test_it_is_asked_once_a_request():
    SkipsMarked.asked.clear()
    run_isapi_filter(PLAIN)
    run_wsgi(SkipsMarked, PLAIN)
    assert len(SkipsMarked.asked) == 2
