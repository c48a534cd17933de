"""A real Django project (``get_wsgi_application()``) wrapped in a filter."""

from __future__ import annotations

import io
from wsgiref.util import FileWrapper

import pytest
from wsgi_harness import UpperFilter, call, make_environ, read, serve, wrap

from tests.support.django_project import HTML_PAGE, setup_django

setup_django()  # settings are process-wide: configured once, shared with the ASGI tests

from django.core.wsgi import get_wsgi_application  # noqa: E402


@pytest.fixture(scope="module")
def django_app():
    return get_wsgi_application()


@pytest.fixture(scope="module")
def filtered(django_app):
    return wrap(UpperFilter, django_app)


def get(app, path: str, **environ):
    return serve(app, make_environ(path=path, **environ))


def test_a_django_html_view_is_filtered(filtered):
    response = get(filtered, "/html/")
    assert (response.status, response.body) == (200, HTML_PAGE.upper().encode())


def test_a_filtered_django_page_has_the_content_length_of_its_new_body(filtered):
    response = get(filtered, "/html/")
    assert response.header("Content-Length") == str(len(response.body))


def test_a_django_streaming_response_is_filtered(filtered):
    response = get(filtered, "/streamed/")
    assert response.body == HTML_PAGE.upper().encode()


def test_django_plain_text_passes_through_unchanged(filtered):
    response = get(filtered, "/text/")
    assert response.body == b"<p>not html</p>"


def test_django_json_passes_through_unchanged(filtered):
    response = get(filtered, "/json/")
    assert response.body == b'{"greeting": "hello", "items": [1, 2, 3]}'


def test_a_django_html_404_is_not_filtered(filtered):
    response = get(filtered, "/missing/")
    assert (response.status, response.body) == (404, b"<p>missing</p>")


def test_a_django_post_body_reaches_the_view_through_the_filter(filtered):
    body = b"posted"
    response = get(filtered, "/echo/", REQUEST_METHOD="POST", CONTENT_LENGTH=str(len(body)), **{"wsgi.input": io.BytesIO(body)})
    assert response.body == b"<P>POST </P><PRE>POSTED</PRE>"


def test_a_django_file_response_of_another_type_keeps_the_servers_file_wrapper(django_app):
    recorder, result = call(UpperFilter(django_app), make_environ(path="/download/", **{"wsgi.file_wrapper": FileWrapper}))
    assert type(result) is FileWrapper
    assert b"".join(read(result)) == b"<body>not html</body>" * 4


def test_a_django_file_response_passes_through_a_real_server_handler(filtered):
    response = get(filtered, "/download/")
    assert response.body == b"<body>not html</body>" * 4


def test_django_answers_a_matching_etag_with_304_without_the_filter(django_app):
    response = get(django_app, "/conditional/", HTTP_IF_NONE_MATCH='"v1"')
    assert response.status == 304


def test_django_sends_the_full_filtered_page_to_a_client_with_a_matching_etag(filtered):
    response = get(filtered, "/conditional/", HTTP_IF_NONE_MATCH='"v1"')
    assert (response.status, response.body) == (200, HTML_PAGE.upper().encode())


def test_a_filtered_django_page_carries_no_stale_etag(filtered):
    response = get(filtered, "/conditional/")
    assert response.header("ETag") is None
