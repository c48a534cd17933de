"""A real Flask app with ``app.wsgi_app = MyFilter(app.wsgi_app)``."""

from __future__ import annotations

import io

import pytest
from flask import Flask, Response, request, send_file, stream_with_context
from wsgi_harness import UpperFilter, make_environ, serve

from dualfilter import Filter

PAGE = "<html><body><p>hello from flask</p></body></html>"


class InjectFilter(Filter):
    """Adds a script before ``</body>`` of HTML pages."""

    def filter(self, environ, headers, data):
        return data.replace(b"</body>", b"<script>ok()</script></body>")


def conditional_page():
    """The page with an ETag, answering conditional and range requests."""
    response = Response(PAGE, content_type="text/html; charset=utf-8")
    response.set_etag("v1")
    return response.make_conditional(request, accept_ranges=True, complete_length=len(PAGE))


def make_app(filter_class: type[Filter] = InjectFilter, **options) -> Flask:
    app = Flask("flask_under_test")

    @app.get("/page")
    def page():
        return PAGE

    @app.get("/stream")
    def stream():
        @stream_with_context
        def pieces():
            yield "<html><body>"
            yield "<p>streamed</p>"
            yield "</body></html>"

        return Response(pieces(), content_type="text/html; charset=utf-8")

    @app.get("/data")
    def data():
        return {"greeting": "<body>hello</body>"}

    @app.get("/file")
    def file():
        return send_file(io.BytesIO(b"<body>plain</body>"), mimetype="text/plain")

    app.add_url_rule("/conditional", view_func=conditional_page)

    @app.get("/fail")
    def fail():
        raise RuntimeError("view failed")

    app.wsgi_app = filter_class(app.wsgi_app, **options)
    return app


@pytest.fixture
def client():
    return make_app().test_client()


def test_a_flask_html_page_is_filtered(client):
    response = client.get("/page")
    assert response.status_code == 200
    assert response.get_data() == PAGE.replace("</body>", "<script>ok()</script></body>").encode()


def test_a_filtered_flask_page_has_the_content_length_of_its_new_body(client):
    response = client.get("/page")
    assert response.headers["Content-Length"] == str(len(response.get_data()))


def test_a_streamed_flask_response_is_filtered(client):
    response = client.get("/stream")
    assert response.get_data() == b"<html><body><p>streamed</p><script>ok()</script></body></html>"


def test_flask_json_passes_through_unchanged(client):
    response = client.get("/data")
    assert response.get_json() == {"greeting": "<body>hello</body>"}


def test_a_flask_send_file_of_another_type_passes_through(client):
    response = client.get("/file")
    assert response.get_data() == b"<body>plain</body>"


def test_a_flask_404_page_is_not_filtered(client):
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert b"ok()" not in response.get_data()


def test_flask_sends_the_full_filtered_page_to_a_client_with_a_matching_etag(client):
    response = client.get("/conditional", headers={"If-None-Match": '"v1"'})
    assert response.status_code == 200
    assert b"<script>ok()</script>" in response.get_data()


def test_flask_sends_a_range_request_that_range_of_the_filtered_page(client):
    whole = client.get("/conditional").get_data()
    response = client.get("/conditional", headers={"Range": "bytes=0-5"})
    assert (response.status_code, response.get_data()) == (206, whole[:6])
    assert response.headers["Content-Range"] == f"bytes 0-5/{len(whole)}" and b"ok()" in whole


@pytest.fixture
def unfiltered_client():
    plain = Flask("unfiltered")
    plain.add_url_rule("/conditional", view_func=conditional_page)
    return plain.test_client()


def test_without_the_filter_flask_answers_a_matching_etag_with_304(unfiltered_client):
    assert unfiltered_client.get("/conditional", headers={"If-None-Match": '"v1"'}).status_code == 304


def test_without_the_filter_flask_answers_a_range_with_206(unfiltered_client):
    assert unfiltered_client.get("/conditional", headers={"Range": "bytes=0-5"}).status_code == 206


def test_a_failing_flask_view_gives_flasks_own_500_page(client):
    response = client.get("/fail")
    assert response.status_code == 500
    assert b"ok()" not in response.get_data()


def test_a_flask_app_under_a_real_server_handler_is_filtered():
    response = serve(make_app(UpperFilter), make_environ(path="/page"))
    assert response.body == PAGE.upper().encode()


class NonceFilter(Filter):
    """Injects a script carrying the CSP nonce the view put in its environ."""

    def filter(self, environ, headers, data):
        return data.replace(b"</body>", f'<script nonce="{environ["csp.nonce"]}">ok()</script></body>'.encode())


def test_a_flask_range_request_is_filtered_with_the_nonce_of_the_call_it_answers():
    app = Flask("nonce")
    calls = iter(range(1, 10))

    @app.get("/nonce")
    def nonced():
        nonce = f"n{next(calls)}"
        request.environ["csp.nonce"] = nonce
        response = conditional_page()
        response.headers["Content-Security-Policy"] = f"script-src 'nonce-{nonce}'"
        return response

    app.wsgi_app = NonceFilter(app.wsgi_app)
    response = app.test_client().get("/nonce", headers={"Range": "bytes=0-300"})
    nonce = response.headers["Content-Security-Policy"].split("'nonce-")[1].rstrip("'")
    assert (response.status_code, nonce) == (206, "n2")  # the first call's answer was dropped
    assert f'<script nonce="{nonce}">ok()</script></body>'.encode() in response.get_data()
