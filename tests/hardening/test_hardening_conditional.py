"""Conditional requests with ``force_no_conditional=False``, answered by real apps that honour them.

The client gets a weak ETag derived from the app's and the filter's identity;
sending it back gets the app's 304 (with the derived tag again) exactly when
the app says its body is unchanged; a changed body, or a changed filter, gets
a new tag and the filtered body. Apps: WebOb's ``conditional_response`` with
``md5_etag``, Django's ConditionalGetMiddleware, Starlette's StaticFiles.
"""

from __future__ import annotations

import os

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from webob import Response

from tests.support.django_project import HTML_PAGE
from tests.support.hardening_hosts import HOSTS, Redact, django_app, fetch_wsgi_app, header, redact, request, wrap

FIRST = b"<html><body><p>first secret</p></body></html>"
SECOND = b"<html><body><p>second secret</p></body></html>"


def conditional() -> Redact:
    return Redact(force_no_conditional=False)


class Site:
    """A WebOb site whose page can change: ETag from the body, 304 for a matching If-None-Match."""

    def __init__(self) -> None:
        self.page = FIRST

    def __call__(self, environ, start_response):
        response = Response(self.page, content_type="text/html", charset="utf-8", conditional_response=True)
        response.md5_etag()
        return response(environ, start_response)

    @property
    def etag(self) -> str:
        response = Response(self.page)
        response.md5_etag()
        return f'"{response.etag}"'


def derived(app_etag: str) -> str:
    """The tag the client should get for the app's strong ``app_etag``."""
    opaque = app_etag.strip('"')
    return f'W/"{opaque}-dfs{conditional().validator_token()}"'


@pytest.mark.parametrize("host", HOSTS)
def test_a_filtered_page_carries_a_weak_etag_derived_from_the_apps_and_the_filters(host):
    site = Site()
    response = fetch_wsgi_app(host, conditional(), site)
    assert (response.body, header(response, "etag")) == (redact(FIRST), derived(site.etag))


@pytest.mark.parametrize("host", HOSTS)
def test_the_derived_etag_sent_back_for_an_unchanged_page_gets_the_apps_304(host):
    site = Site()
    tag = header(fetch_wsgi_app(host, conditional(), site), "etag")
    again = fetch_wsgi_app(host, conditional(), site, headers=[("If-None-Match", tag)])
    assert (again.status, again.body, header(again, "etag")) == (304, b"", tag)


@pytest.mark.parametrize("host", HOSTS)
def test_a_changed_page_gets_the_new_filtered_body_and_a_new_derived_etag(host):
    site = Site()
    old = header(fetch_wsgi_app(host, conditional(), site), "etag")
    site.page = SECOND
    changed = fetch_wsgi_app(host, conditional(), site, headers=[("If-None-Match", old)])
    assert (changed.status, changed.body) == (200, redact(SECOND))
    assert header(changed, "etag") == derived(site.etag) != old


@pytest.mark.parametrize("host", HOSTS)
def test_a_tag_derived_by_another_filter_configuration_gets_no_304(host):
    site = Site()
    other = fetch_wsgi_app(host, Redact(force_no_conditional=False, debug=True), site)
    again = fetch_wsgi_app(host, conditional(), site, headers=[("If-None-Match", header(other, "etag"))])
    assert (again.status, again.body) == (200, redact(FIRST))


class VersionedRedact(Redact):
    """Its output depends on a template version that is not an option: the token says so."""

    template_version = "1"

    def validator_token(self) -> str:
        return super().validator_token() + "t" + type(self).template_version


@pytest.mark.parametrize("host", HOSTS)
def test_a_filter_whose_token_covers_what_changes_its_output_gets_no_stale_304(host, monkeypatch):
    site = Site()
    tag = header(fetch_wsgi_app(host, VersionedRedact(force_no_conditional=False), site), "etag")
    monkeypatch.setattr(VersionedRedact, "template_version", "2")
    again = fetch_wsgi_app(host, VersionedRedact(force_no_conditional=False), site, headers=[("If-None-Match", tag)])
    assert (again.status, again.body) == (200, redact(FIRST)) and header(again, "etag") != tag


# -- Django's ConditionalGetMiddleware ---------------------------------------------------------


@pytest.mark.parametrize("host", HOSTS)
def test_django_conditional_get_answers_the_derived_etag_with_a_304_carrying_it(host):
    app = wrap(host, conditional(), django_app(host, "django.middleware.http.ConditionalGetMiddleware"))
    first = request(host, app, path="/html/")
    assert first.body == redact(HTML_PAGE.encode()) and header(first, "etag").startswith('W/"')
    again = request(host, app, path="/html/", headers=[("If-None-Match", header(first, "etag"))])
    assert (again.status, again.body, header(again, "etag")) == (304, b"", header(first, "etag"))


# -- Starlette's StaticFiles -----------------------------------------------------------------------


@pytest.fixture
def static(tmp_path):
    (tmp_path / "page.html").write_bytes(FIRST)
    os.utime(tmp_path / "page.html", (1_700_000_000, 1_700_000_000))
    app = wrap("asgi", conditional(), Starlette(routes=[Mount("/static", StaticFiles(directory=tmp_path))]))
    return app, tmp_path / "page.html"


def test_starlette_static_files_answer_the_derived_etag_with_a_304_carrying_it(static):
    app, _ = static
    tag = header(request("asgi", app, path="/static/page.html"), "etag")
    again = request("asgi", app, path="/static/page.html", headers=[("If-None-Match", tag)])
    assert (again.status, again.body, header(again, "etag")) == (304, b"", tag)


def test_a_changed_starlette_static_file_gets_the_new_filtered_body_and_a_new_tag(static):
    app, path = static
    first = request("asgi", app, path="/static/page.html")
    path.write_bytes(SECOND)
    os.utime(path, (1_700_000_100, 1_700_000_100))
    changed = request("asgi", app, path="/static/page.html", headers=[("If-None-Match", header(first, "etag"))])
    assert (changed.status, changed.body) == (200, redact(SECOND)) and header(changed, "etag") != header(first, "etag")


def test_a_filtered_static_file_carries_no_last_modified_of_the_unfiltered_file(static):
    app, _ = static
    assert header(request("asgi", app, path="/static/page.html"), "last-modified") is None


def test_an_if_modified_since_made_before_the_filter_gets_the_whole_filtered_page(static):
    app, _ = static
    again = request("asgi", app, path="/static/page.html", headers=[("If-Modified-Since", "Wed, 15 Nov 2023 00:00:00 GMT")])
    assert (again.status, again.body) == (200, redact(FIRST))
