"""Each built-in filter gives the same response under WSGI and ASGI as in the core alone."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
import webtest

from dualfilter.filters import XSLT, Inject, Replace, RewriteLinks
from dualfilter.testing import run_filter

STYLE = (
    '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform"><xsl:output method="text"/>'
    '<xsl:template match="/">title=<xsl:value-of select="//title"/></xsl:template></xsl:stylesheet>'
)
PAGE = b'<!DOCTYPE html><html><head><title>caf\xc3\xa9</title></head><body><a href="/a/x">hello</a></body></html>'
CASES = {
    "inject": (Inject, {"html": "<hr>"}),
    "replace": (Replace, {"pattern": "hello", "repl": "bye"}),
    "rewrite-links": (RewriteLinks, {"mapping": "/a/=/b/"}),
    "xslt": (XSLT, {"stylesheet": "style.xsl"}),
}


@pytest.fixture(params=sorted(CASES))
def case(request, tmp_path, monkeypatch):
    """A built-in filter class and its options; the XSLT stylesheet is in the working directory."""
    (tmp_path / "style.xsl").write_text(STYLE)
    monkeypatch.chdir(tmp_path)
    return CASES[request.param]


def wsgi_site(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(PAGE)))])
    return [PAGE[:20], PAGE[20:]]


async def asgi_site(scope, receive, send):
    headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(PAGE)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": PAGE[:20], "more_body": True})
    await send({"type": "http.response.body", "body": PAGE[20:]})


def test_wsgi_response_is_the_core_response(case):
    cls, options = case
    _, _, expected = run_filter(cls(**options), PAGE)
    assert expected != PAGE
    response = webtest.TestApp(cls.wsgi(wsgi_site, **options)).get("/")
    assert (response.body, response.headers["Content-Length"]) == (expected, str(len(expected)))


async def test_asgi_response_is_the_core_response(case):
    cls, options = case
    _, _, expected = run_filter(cls(**options), PAGE)
    assert expected != PAGE
    transport = httpx.ASGITransport(app=cls.asgi(asgi_site, **options))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/")
    assert response.content == expected
    # A streamed response (Inject) has no length to declare; any other declares the right one.
    assert response.headers.get("content-length", str(len(expected))) == str(len(expected))


def test_importing_the_built_in_filters_does_not_import_lxml():
    code = "import sys, dualfilter.filters; print('lxml' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
