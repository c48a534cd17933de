"""WebTest's ``TestApp`` (with its own WSGI lint) driving a filtered WebOb app."""

from __future__ import annotations

import pytest
import webtest
from webob import Request, Response
from webob.dec import wsgify
from wsgi_harness import UpperFilter

from dualfilter import Filter


@wsgify
def webob_app(request: Request) -> Response:
    if request.path == "/page":
        return Response("<p>webob page</p>", content_type="text/html", charset="utf-8")
    if request.path == "/chunks":
        return Response(app_iter=[b"<p>one</p>", b"<p>two</p>"], content_type="text/html", charset="utf-8")
    if request.path == "/text":
        return Response("<p>plain</p>", content_type="text/plain", charset="utf-8")
    return Response("<p>nope</p>", status=404, content_type="text/html", charset="utf-8")


class Broken(Filter):
    def filter(self, environ, headers, data):
        raise ValueError("filter bug")


@pytest.fixture
def testapp():
    return webtest.TestApp(UpperFilter(webob_app))


def test_webtest_gets_a_filtered_page(testapp):
    response = testapp.get("/page")
    assert response.body == b"<P>WEBOB PAGE</P>"


def test_webtest_sees_the_content_length_of_the_filtered_body(testapp):
    response = testapp.get("/chunks")
    assert response.content_length == len(response.body) == len(b"<P>ONE</P><P>TWO</P>")


def test_webtest_gets_an_unfiltered_type_unchanged(testapp):
    assert testapp.get("/text").body == b"<p>plain</p>"


def test_webtest_gets_a_404_unfiltered(testapp):
    assert testapp.get("/missing", status=404).body == b"<p>nope</p>"


def test_webtest_gets_a_head_for_a_filtered_type_with_no_body(testapp):
    response = testapp.head("/page")
    assert (response.status_int, response.body) == (200, b"")


def test_webtest_gets_the_clean_500_of_a_failed_filter():
    response = webtest.TestApp(Broken(webob_app)).get("/page", status=500)
    assert response.body == b"Internal Server Error\n"
