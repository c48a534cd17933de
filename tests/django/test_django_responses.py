"""HttpResponse, StreamingHttpResponse and FileResponse through the middleware (Django's test Client)."""

from __future__ import annotations

import io

import pytest
from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.test import Client, RequestFactory
from django_middleware_project import PAGE, AddCookieHeader, Euro, RecordEnviron, project, spec

from dualfilter.django import FilterMiddleware

UPPER = PAGE.upper().encode()


@pytest.fixture
def client():
    with project([spec("Upper")]):
        yield Client()


def body(response) -> bytes:
    return b"".join(response)  # a streaming response's chunks, sync or async, or the content


def test_an_html_response_is_filtered(client):
    response = client.get("/html/")
    assert (response.status_code, response.content) == (200, UPPER)


def test_a_filtered_response_has_the_content_length_of_its_new_body(client):
    assert client.get("/html/")["Content-Length"] == str(len(UPPER))


def test_a_streaming_response_is_filtered(client):
    assert body(client.get("/streamed/")) == UPPER


def test_a_streaming_response_from_an_async_iterator_is_filtered_under_the_sync_client(client):
    with pytest.warns(Warning, match="must consume asynchronous iterators"):  # Django's own warning under WSGI
        assert body(client.get("/astreamed/")) == UPPER


def test_an_html_file_response_is_filtered(client):
    response = client.get("/file/")
    assert (body(response), response["Content-Length"]) == (UPPER, str(len(UPPER)))


def test_a_response_of_another_type_passes_unchanged(client):
    response = client.get("/text/")
    assert (response.content, response.get("Content-Length")) == (b"<p>plain</p>", None)


def test_an_html_404_is_not_filtered(client):
    response = client.get("/missing/")
    assert (response.status_code, response.content) == (404, b"<p>missing</p>")


def test_a_head_request_gets_no_body_and_no_length_of_the_unfiltered_page(client):
    response = client.head("/html/")
    assert (response.status_code, body(response), response.get("Content-Length")) == (200, b"", None)


def test_the_views_cookies_survive_filtering(client):
    response = client.get("/cookie/")
    assert (response.content, response.cookies["session"].value) == (UPPER, "abc")


def test_a_second_field_line_a_filter_adds_is_kept():
    with project([AddCookieHeader()]):
        response = Client().get("/cookie/")
    assert response["Link"] == "</a.css>; rel=preload, </b.css>; rel=preload"
    assert (response.cookies["session"].value, response.cookies["added"].value) == ("abc", "1")


def test_a_page_the_filter_sends_in_another_charset_reports_that_charset():
    with project([Euro()]):
        response = Client().get("/latin1/")
    assert (response["Content-Type"], response.charset) == ("text/html; charset=utf-8", "utf-8")


def test_a_page_the_filter_sends_in_another_charset_reads_right_as_text():
    with project([Euro()]):
        assert Client().get("/latin1/").text == "<p>café price €</p>"


def test_a_charset_only_the_view_names_stays_when_the_filter_keeps_the_content_type():
    with project([spec("Upper")]):
        response = Client().get("/latin1-bare/")
    assert (response["Content-Type"], response.charset, response.text) == ("text/html", "iso-8859-1", "<P>CAFé</P>")


def test_the_filter_sees_what_the_view_put_in_request_meta():
    with project([spec("ShowUser")]):
        assert b"<i>alice</i></body>" in Client().get("/user/").content


def test_the_environ_a_filter_gets_is_request_meta_itself():
    flt = RecordEnviron()
    request = RequestFactory().get("/")
    with project([flt]):
        FilterMiddleware(lambda request: HttpResponse(PAGE, content_type="text/html"))(request)
    assert flt.environs[0] is request.META


# -- the middleware called directly: what it returns ------------------------------------------


def through_middleware(response, path="/"):
    with project([spec("Upper")]):
        middleware = FilterMiddleware(lambda request: response)
        return middleware(RequestFactory().get(path))


def test_a_response_that_is_not_filtered_is_returned_as_the_same_object_untouched():
    response = HttpResponse(b"<p>plain</p>", content_type="text/plain")
    headers = dict(response.items())
    assert through_middleware(response) is response
    assert (response.content, dict(response.items())) == (b"<p>plain</p>", headers)


def test_a_streaming_response_that_is_not_filtered_keeps_its_own_iterator():
    chunks = iter([b"a", b"b"])
    response = StreamingHttpResponse(chunks, content_type="text/plain")
    assert through_middleware(response) is response
    assert response._iterator is chunks


def test_a_file_response_that_is_not_filtered_is_still_served_as_a_file():
    file = io.BytesIO(b"\x00binary")
    response = FileResponse(file, content_type="application/octet-stream")
    assert through_middleware(response).file_to_stream is file


def test_a_filtered_file_response_is_no_longer_served_as_the_unfiltered_file():
    response = FileResponse(io.BytesIO(PAGE.encode()), content_type="text/html; charset=utf-8")
    filtered = through_middleware(response)
    assert (filtered.file_to_stream, body(filtered)) == (None, UPPER)
