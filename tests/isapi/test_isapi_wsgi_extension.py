"""WSGIExtension serves WSGI apps (a real Flask app, filtered or not) through ISAPI."""

from __future__ import annotations

import sys
import threading
import types

import pytest
from flask import Flask, Response, request
from isapi_harness import UpperFilter

from dualfilter.isapi import WSGIExtension
from dualfilter.isapi.constants import (
    HSE_STATUS_ERROR,
    HSE_STATUS_PENDING,
    HSE_STATUS_SUCCESS,
    HSE_STATUS_SUCCESS_AND_KEEP_CONN,
)
from dualfilter.isapi.testing import ExtensionError, ExtensionHost, FakeECB, call_extension


def make_app() -> Flask:
    app = Flask("isapi_test_app")

    @app.get("/")
    def index():
        return "<p>hello from flask</p>"

    @app.post("/echo")
    def echo():
        return Response(request.get_data(), content_type="application/octet-stream")

    @app.post("/form")
    def form():
        return f"<p>{request.form['name']}</p>"

    @app.get("/where")
    def where():
        return Response(f"{request.script_root}|{request.path}|{request.url}", content_type="text/plain")

    @app.get("/user")
    def user():
        return Response(str(request.headers.get("X-Remote-User")), content_type="text/plain")

    @app.get("/boom")
    def boom():
        raise RuntimeError("flask view failed")

    @app.get("/stream")
    def stream():
        return Response((part for part in ["<p>", "streamed", "</p>"]), content_type="text/html")

    return app


@pytest.fixture
def host():
    with ExtensionHost(WSGIExtension(make_app(), workers=4)) as running:
        yield running


def test_a_header_a_client_names_with_underscores_never_reaches_flask_as_the_dashed_one(host):
    sent = [("X-Remote-User", "alice"), ("X_Remote_User", "admin")]  # a front end vouches for the first
    assert host.get("/user", headers=sent).body == b"alice"
    assert host.get("/user", headers=[("X_Remote_User", "admin")]).body == b"None"


def test_flask_page_is_served(host):
    response = host.get("/")
    assert (response.status, response.body) == (200, b"<p>hello from flask</p>")
    assert response.header("Content-Type") == "text/html; charset=utf-8"


def test_requests_run_on_workers_and_end_with_done_with_session():
    ecb = FakeECB()
    extension = WSGIExtension(make_app(), workers=2)
    assert extension.HttpExtensionProc(ecb) == HSE_STATUS_PENDING
    assert ecb.wait().done_status == HSE_STATUS_SUCCESS_AND_KEEP_CONN
    extension.TerminateExtension(2)


def test_workers_zero_serves_on_the_calling_thread():
    ecb = FakeECB()
    assert WSGIExtension(make_app(), workers=0).HttpExtensionProc(ecb) == HSE_STATUS_SUCCESS_AND_KEEP_CONN


def test_response_with_content_length_keeps_the_connection(host):
    assert host.get("/").keep_alive is True


@pytest.mark.parametrize(("method", "status"), [("GET", "204 No Content"), ("GET", "304 Not Modified"), ("HEAD", "200 OK")])
def test_a_response_without_a_body_keeps_the_connection_without_a_length(method, status):
    # RFC 9112 section 6.3: it ends at the blank line after its headers.
    def app(environ, start_response):
        start_response(status, [("ETag", '"v1"')])
        return []

    response = call_extension(WSGIExtension(app, workers=0), FakeECB(method))
    assert (response.status, response.body, response.keep_alive) == (int(status[:3]), b"", True)
    assert response.done_status == HSE_STATUS_SUCCESS_AND_KEEP_CONN


def test_streamed_response_without_length_closes_the_connection(host):
    response = host.get("/stream")
    assert response.body == b"<p>streamed</p>" and response.keep_alive is False and response.done_status == HSE_STATUS_SUCCESS


def test_body_past_available_data_is_read_with_read_client(host):
    body = bytes(range(256)) * 1000
    response = host.request("POST", "/echo", body=body, available=1000, headers=[("Content-Type", "application/octet-stream")])
    assert response.body == body


def test_chunked_request_body_is_read_to_its_end(host):
    response = host.request("POST", "/echo", body=b"x" * 70000, available=100, chunked=True)
    assert response.body == b"x" * 70000


def test_form_post_is_parsed(host):
    response = host.request("POST", "/form", body=b"name=ann", headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert response.body == b"<p>ann</p>"


def test_script_root_and_url_come_from_server_variables():
    with ExtensionHost(WSGIExtension(make_app())) as host:
        response = host.get("/app/where", app_path="/app", https=True, server_name="example.org")
    assert response.body == b"/app|/where|https://example.org/app/where"


def test_application_error_gives_a_500(host):
    assert host.get("/boom").status == 500


def test_str_body_from_a_raw_wsgi_app_gives_a_500():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return ["not bytes"]

    assert call_extension(WSGIExtension(app, workers=0), FakeECB()).status == 500


def test_error_after_the_headers_went_out_ends_with_error():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        yield b"part"
        raise RuntimeError("late")

    response = call_extension(WSGIExtension(app, workers=0), FakeECB())
    assert response.body == b"part" and response.done_status == 4


def test_exc_info_replaces_headers_not_yet_sent():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            raise ValueError("x")
        except ValueError:
            import sys

            start_response("503 Service Unavailable", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"later"]

    assert call_extension(WSGIExtension(app, workers=0), FakeECB()).status == 503


def test_write_callable_writes_the_body():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"written ")
        return [b"returned"]

    assert call_extension(WSGIExtension(app, workers=0), FakeECB()).body == b"written returned"


def test_iterable_is_closed():
    closed = threading.Event()

    class Body(list):
        def close(self):
            closed.set()

    def app(environ, start_response):
        start_response("200 OK", [])
        return Body([b"x"])

    call_extension(WSGIExtension(app, workers=0), FakeECB())
    assert closed.is_set()


def test_description_is_given_to_iis():
    with ExtensionHost(WSGIExtension(make_app(), description="my app")) as host:
        assert host.version_info.ExtensionDesc == b"my app"


def test_flask_app_with_a_wsgi_filter_runs_in_iis():
    with ExtensionHost(WSGIExtension(UpperFilter(make_app()))) as host:
        response = host.get("/")
    assert response.body == b"<P>HELLO FROM FLASK</P>" and response.header("Content-Length") == "23"


def test_wsgi_extension_wrapped_in_an_isapi_filter():
    with ExtensionHost(UpperFilter.isapi(WSGIExtension(make_app()))) as host:
        response = host.get("/")
    assert response.body == b"<P>HELLO FROM FLASK</P>" and response.header("Content-Length") == "23"


def test_isapi_filtered_flask_app_under_concurrency():
    with ExtensionHost(UpperFilter.isapi(WSGIExtension(make_app(), workers=8))) as host:
        ecbs = [FakeECB(path="/stream" if n % 2 else "/") for n in range(100)]
        for ecb in ecbs:
            host.extension.HttpExtensionProc(ecb)
        bodies = [ecb.wait(10).body for ecb in ecbs]
    assert bodies == [b"<P>STREAMED</P>" if n % 2 else b"<P>HELLO FROM FLASK</P>" for n in range(100)]


def test_extension_mapped_to_a_script_shows_the_script_as_script_name_for_its_own_url():
    seen = {}

    def app(environ, start_response):
        seen.update(script_name=environ["SCRIPT_NAME"], path_info=environ["PATH_INFO"])
        start_response("200 OK", [("Content-Length", "0")])
        return []

    ecb = FakeECB("GET", "/app/s.py", app_path="/app", script_name="/app/s.py")
    call_extension(WSGIExtension(app, workers=0, wildcard=False), ecb)
    assert seen == {"script_name": "/app/s.py", "path_info": ""}


# -- a worker serves a request as the request's user (pywin32's ThreadPoolExtension) -------


@pytest.fixture
def thread_tokens(monkeypatch):
    """A win32security whose SetThreadToken records ``(thread, token)`` for each call."""
    calls = []
    module = types.ModuleType("win32security")
    module.SetThreadToken = lambda thread, token: calls.append((thread, token))
    monkeypatch.setitem(sys.modules, "win32security", module)
    return calls


def test_a_worker_takes_on_the_requests_impersonation_token_before_the_app_runs(thread_tokens):
    seen = []

    def app(environ, start_response):
        seen.extend(thread_tokens)
        start_response("200 OK", [("Content-Length", "0")])
        return []

    ecb = FakeECB()
    extension = WSGIExtension(app, workers=1)
    try:
        call_extension(extension, ecb)
    finally:
        extension.TerminateExtension(2)
    assert seen == [(None, ecb.impersonation_token)]


def test_a_worker_drops_the_token_after_serving_the_request(thread_tokens):
    ecb = FakeECB()
    extension = WSGIExtension(make_app(), workers=1)
    try:
        call_extension(extension, ecb)
    finally:
        extension.TerminateExtension(2)  # the worker is done with the request
    assert thread_tokens == [(None, ecb.impersonation_token), (None, None)]


def test_a_request_whose_token_cannot_be_had_ends_with_an_error_without_the_app(monkeypatch):
    ran = []

    def app(environ, start_response):
        ran.append(True)
        start_response("200 OK", [("Content-Length", "0")])
        return []

    def no_token(self):
        raise ExtensionError(5, None, "ServerSupportFunction(HSE_REQ_GET_IMPERSONATION_TOKEN)")

    monkeypatch.setattr(FakeECB, "GetImpersonationToken", no_token)
    extension = WSGIExtension(app, workers=1)
    try:
        response = call_extension(extension, FakeECB())
    finally:
        extension.TerminateExtension(2)
    assert response.done_status == HSE_STATUS_ERROR and ran == []


def test_wsgi_errors_goes_to_the_log_in_a_process_without_stderr(monkeypatch, caplog):
    # IIS's worker process has no standard streams, and pywin32 sets none up: sys.stderr is None.
    def app(environ, start_response):
        errors = environ["wsgi.errors"]
        errors.write("first line\nsecond ")
        errors.writelines(["part\n", "unended"])
        errors.flush()
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "2")])
        return [b"ok"]

    monkeypatch.setattr(sys, "stderr", None)
    with caplog.at_level("ERROR", logger="dualfilter"):
        response = call_extension(WSGIExtension(app, workers=0), FakeECB())
    assert (response.status, response.body) == (200, b"ok")
    logged = [record.getMessage() for record in caplog.records]
    assert logged == ["wsgi.errors: first line", "wsgi.errors: second part", "wsgi.errors: unended"]
