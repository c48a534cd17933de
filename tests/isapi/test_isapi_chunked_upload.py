"""A chunked upload (TotalBytes -1, as pywin32 reads IIS's 0xFFFFFFFF) reaches apps and filters whole."""

from __future__ import annotations

import pytest
from flask import Flask, Response, request
from isapi_harness import StaticExtension

from dualfilter import Filter
from dualfilter.isapi import WSGIExtension
from dualfilter.isapi.testing import FakeECB, FilterHost, Request, call_extension, raw_response

BODY = b"0123456789" * 7000  # more than IIS reads ahead


def echo_app() -> Flask:
    app = Flask("chunked_upload")

    @app.post("/echo")
    def echo():
        length = request.environ.get("CONTENT_LENGTH")
        return Response(request.get_data(), headers={"X-Length": repr(length)}, content_type="text/html")

    return app


@pytest.fixture(autouse=True)
def fresh_recording():
    Recording.seen = {}


def upload(**options) -> FakeECB:
    return FakeECB(Request("POST", "/echo", body=BODY, available=100, chunked=True, **options))


class Recording(Filter):
    seen: dict = {}

    def filter(self, environ, headers, data):
        Recording.seen = {"CONTENT_LENGTH": environ.get("CONTENT_LENGTH"), "method": environ["REQUEST_METHOD"]}
        return data


def test_wsgi_app_reads_the_whole_chunked_body():
    response = call_extension(WSGIExtension(echo_app(), workers=0), upload())
    assert response.body == BODY


def test_wsgi_app_sees_no_content_length_for_a_chunked_body():
    response = call_extension(WSGIExtension(echo_app(), workers=0), upload())
    assert response.header("X-Length") == "None"


def test_wsgi_app_on_workers_reads_the_whole_chunked_body():
    response = call_extension(WSGIExtension(echo_app(), workers=2), upload())
    assert response.body == BODY


def test_filtered_wsgi_app_reads_the_whole_chunked_body():
    response = call_extension(WSGIExtension(Recording.wsgi(echo_app()), workers=0), upload())
    assert response.body == BODY and Recording.seen["CONTENT_LENGTH"] is None


def test_filter_around_an_extension_sees_no_content_length_for_a_chunked_body():
    call_extension(Recording.isapi(StaticExtension()), upload())
    assert Recording.seen == {"CONTENT_LENGTH": None, "method": "POST"}


def test_isapi_filter_sees_no_content_length_for_a_chunked_body():
    page = raw_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", "9")], [b"<p>ok</p>"])
    with FilterHost(Recording.isapi_filter()) as iis:
        iis.request("POST", "/echo", response=page, body=BODY, chunked=True)
    assert Recording.seen == {"CONTENT_LENGTH": None, "method": "POST"}


def test_known_length_still_reaches_the_app():
    ecb = FakeECB(Request("POST", "/echo", body=b"abc"))
    assert call_extension(WSGIExtension(echo_app(), workers=0), ecb).header("X-Length") == "'3'"
