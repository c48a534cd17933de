"""The built-in filters loaded by PasteDeploy's ``loadapp`` from real ini files."""

from __future__ import annotations

import sys
import textwrap

import pytest
import webtest
from paste.deploy import loadapp

APP_MODULE = """
from dualfilter import Filter
from tests.support.filters import Upper as UpperFilter




def make_app(global_conf, text="<html><body><p>hello</p></body></html>", content_type="text/html; charset=utf-8"):
    body = text.encode("utf-8")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    return app
"""


@pytest.fixture
def site(tmp_path, monkeypatch):
    """Write ``site.ini`` (and an importable app factory) and load it with loadapp."""
    (tmp_path / "paste_site_app.py").write_text(APP_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "paste_site_app", raising=False)

    def load(ini: str) -> webtest.TestApp:
        path = tmp_path / "site.ini"
        path.write_text(textwrap.dedent(ini))
        return webtest.TestApp(loadapp(f"config:{path}"))

    return load


def test_filter_with_wraps_the_app_in_a_built_in_filter(site):
    app = site(
        """
        [app:main]
        use = call:paste_site_app:make_app
        filter-with = shout

        [filter:shout]
        use = egg:dualfilter#replace
        pattern = hello
        repl = HELLO
        """
    )
    assert app.get("/").body == b"<html><body><p>HELLO</p></body></html>"


def test_pipeline_runs_several_built_in_filters(site):
    app = site(
        """
        [pipeline:main]
        pipeline = banner shout site

        [filter:banner]
        use = egg:dualfilter#inject
        html = <footer>ok</footer>

        [filter:shout]
        use = egg:dualfilter#replace
        pattern = hello
        repl = HELLO

        [app:site]
        use = call:paste_site_app:make_app
        """
    )
    assert app.get("/").body == b"<html><body><p>HELLO</p><footer>ok</footer></body></html>"


@pytest.mark.parametrize(("pipeline", "expected"), [("b-to-c a-to-b site", b"c"), ("a-to-b b-to-c site", b"b")])
def test_the_filter_nearest_the_app_in_a_pipeline_filters_first(site, pipeline, expected):
    app = site(
        f"""
        [pipeline:main]
        pipeline = {pipeline}

        [filter:a-to-b]
        use = egg:dualfilter#replace
        pattern = a
        repl = b

        [filter:b-to-c]
        use = egg:dualfilter#replace
        pattern = b
        repl = c

        [app:site]
        use = call:paste_site_app:make_app
        text = a
        """
    )
    assert app.get("/").body == expected


def test_ini_strings_are_converted_to_the_option_types(site):
    app = site(
        """
        [app:main]
        use = call:paste_site_app:make_app
        text = Hello hello HELLO
        content_type = text/plain
        filter-with = once

        [filter:once]
        use = egg:dualfilter#replace
        pattern = hello
        repl = bye
        ignore_case = true
        count = 2
        filter_content_types = text/plain text/html
        """
    )
    assert app.get("/").body == b"bye bye HELLO"


def test_xslt_stylesheet_path_may_be_relative_to_the_ini_file(site, tmp_path):
    (tmp_path / "page.xsl").write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:output method="text"/>'
        '<xsl:template match="/">title=<xsl:value-of select="/doc/title"/></xsl:template></xsl:stylesheet>'
    )
    app = site(
        """
        [app:main]
        use = call:paste_site_app:make_app
        text = <doc><title>T</title></doc>
        content_type = application/xml
        filter-with = style

        [filter:style]
        use = egg:dualfilter#xslt
        stylesheet = %(here)s/page.xsl
        """
    )
    response = app.get("/")
    assert response.body == b"title=T"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_rewrite_links_mapping_may_span_several_ini_lines(site):
    app = site(
        """
        [app:main]
        use = call:paste_site_app:make_app
        text = <!DOCTYPE html><html><body><a href="/a/1">1</a><img src="http://backend/i.png"></body></html>
        filter-with = links

        [filter:links]
        use = egg:dualfilter#rewrite-links
        mapping =
            /a/=/app/a/
            http://backend/=https://example.com/
        """
    )
    assert app.get("/").body == (
        b'<!DOCTYPE html><html><body><a href="/app/a/1">1</a><img src="https://example.com/i.png"></body></html>'
    )


def test_an_unknown_ini_option_is_refused_by_name(site):
    with pytest.raises(TypeError, match="'patern'"):
        site(
            """
            [app:main]
            use = call:paste_site_app:make_app
            filter-with = shout

            [filter:shout]
            use = egg:dualfilter#replace
            patern = hello
            """
        )


def test_a_user_filter_is_named_by_its_paste_deploy_middleware(site):
    app = site(
        """
        [app:main]
        use = call:paste_site_app:make_app
        filter-with = upper

        [filter:upper]
        paste.filter_app_factory = paste_site_app:UpperFilter.paste_deploy_middleware
        """
    )
    assert app.get("/").body == b"<HTML><BODY><P>HELLO</P></BODY></HTML>"
