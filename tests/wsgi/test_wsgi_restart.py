"""``start_response`` called again with ``exc_info``, and apps that raise (PEP 3333)."""

from __future__ import annotations

import sys

import pytest
from wsgi_harness import HTML, TEXT, Recorder, UpperFilter, call, exc_info_of, make_environ, read, serve, wrap

from dualfilter import ProtocolError


class AppError(Exception):
    pass


def restarting_app(first: str, second: str, second_body: bytes = b"<p>error page</p>", status: str = "500 Internal Server Error"):
    """Starts a response, fails, and starts an error response instead."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", first)])
        try:
            raise AppError("boom")
        except AppError:
            start_response(status, [("Content-Type", second)], sys.exc_info())
        return [second_body]

    return app


def test_a_restart_replaces_a_filtered_start_before_anything_was_sent():
    response = serve(wrap(UpperFilter, restarting_app(HTML, TEXT)))
    assert (response.status, response.body) == (500, b"<p>error page</p>")


def test_a_restart_replaces_a_passthrough_start_the_server_already_has():
    response = serve(wrap(UpperFilter, restarting_app(TEXT, TEXT)))
    assert (response.status, response.body) == (500, b"<p>error page</p>")


def test_the_server_is_told_of_a_restart_with_exc_info():
    recorder, result = call(UpperFilter(restarting_app(TEXT, TEXT)))
    read(result)
    assert [(status, exc is not None) for status, _, exc in recorder.starts] == [
        ("200 OK", False),
        ("500 Internal Server Error", True),
    ]
    assert isinstance(recorder.starts[1][2][1], AppError)


def test_a_restart_to_a_filtered_response_after_a_passthrough_start_is_filtered():
    response = serve(wrap(UpperFilter, restarting_app(TEXT, HTML, status="200 OK")))
    assert (response.status, response.body) == (200, b"<P>ERROR PAGE</P>")


def test_a_filtered_restart_after_a_passthrough_start_reaches_the_server_with_exc_info():
    recorder, result = call(UpperFilter(restarting_app(TEXT, HTML, status="200 OK")))
    assert result == [b"<P>ERROR PAGE</P>"]
    assert [exc is not None for _, _, exc in recorder.starts] == [False, True]


def test_a_restart_after_written_body_re_raises_the_apps_error():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", TEXT)])
        write(b"partial")
        start_response("500 Internal Server Error", [("Content-Type", TEXT)], exc_info_of(AppError("late")))
        return []

    with pytest.raises(AppError, match="late"):
        call(UpperFilter(app))


def test_a_restart_after_an_iterated_chunk_re_raises_the_apps_error():
    def app(environ, start_response):
        def body():
            start_response("200 OK", [("Content-Type", TEXT)])
            yield b"partial"
            start_response("500 Internal Server Error", [("Content-Type", TEXT)], exc_info_of(AppError("late")))
            yield b"never"

        return body()

    recorder, result = call(UpperFilter(app))
    iterator = iter(result)
    assert next(iterator) == b"partial"
    with pytest.raises(AppError, match="late"):
        next(iterator)
    result.close()


def catching(app):
    """An error-page middleware inside the filter: it restarts when the body fails."""

    def middleware(environ, start_response):
        app_iter = app(environ, start_response)

        def body():
            try:
                yield from app_iter
            except AppError:
                start_response("500 Internal Server Error", [("Content-Type", TEXT)], sys.exc_info())
                yield b"error page"

        return body()

    return middleware


def failing_body(content_type: str):
    """Starts at once; its body fails after the first chunk."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", content_type)])

        def body():
            yield b"<p>start"
            raise AppError("mid-body")

        return body()

    return app


def test_a_restart_while_a_filtered_body_is_read_gives_the_error_page():
    response = serve(wrap(UpperFilter, catching(failing_body(HTML))))
    assert (response.status, response.body) == (500, b"error page")


def test_a_restart_while_a_lazy_filtered_body_is_read_gives_the_error_page():
    def lazy(environ, start_response):
        yield from failing_body(HTML)(environ, start_response)

    response = serve(wrap(UpperFilter, catching(lazy)))
    assert (response.status, response.body) == (500, b"error page")


def _catching(content_type):
    """A middleware that turns the app's AppError into an error page of ``content_type``,
    restarting from inside the iterable it hands on (PEP 3333 allows it before any byte)."""

    def wrap(app):
        def middleware(environ, start_response):
            app_iter = app(environ, start_response)

            def body():
                try:
                    yield from app_iter
                except AppError:
                    start_response("200 OK", [("Content-Type", content_type)], sys.exc_info())
                    yield b"<p>error page</p>"

            return body()

        return middleware

    return wrap


def _empty_then_fail(environ, start_response):
    start_response("200 OK", [("Content-Type", TEXT)])

    def body():
        yield b""
        raise AppError("before any byte")

    return body()


def test_a_restart_while_the_server_iterates_a_passthrough_iterable_is_left_to_the_server():
    recorder, result = call(UpperFilter(_catching(TEXT)(_empty_then_fail)))
    assert b"".join(read(result)) == b"<p>error page</p>"
    assert [(status, exc is not None) for status, _, exc in recorder.starts] == [("200 OK", False), ("200 OK", True)]


def test_a_restart_to_a_filtered_type_while_the_server_iterates_the_apps_iterable_is_the_apps_error():
    # The server reads the app's own iterable: no machine could filter the new page, so it
    # must not go out (No bypass): the app's error stands, and the server answers its 500.
    recorder, result = call(UpperFilter(_catching(HTML)(_empty_then_fail)))
    with pytest.raises(AppError, match="before any byte"):
        read(result)
    assert [status for status, _, _ in recorder.starts] == ["200 OK"]


def test_a_second_start_response_without_exc_info_is_a_protocol_error():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        start_response("200 OK", [("Content-Type", HTML)])
        return []

    with pytest.raises(ProtocolError):
        call(UpperFilter(app))


def test_exc_info_on_the_first_start_response_is_an_ordinary_start():
    def app(environ, start_response):
        start_response("500 Internal Server Error", [("Content-Type", HTML)], exc_info_of(AppError("x")))
        return [b"<p>error</p>"]

    response = serve(wrap(UpperFilter, app, filter_all_status=True))
    assert (response.status, response.body) == (500, b"<P>ERROR</P>")


def test_an_app_that_raises_after_a_filtered_start_propagates_and_sends_no_start():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        raise AppError("in the app")

    recorder = Recorder()
    with pytest.raises(AppError):
        UpperFilter(app)(make_environ(), recorder.start_response)
    assert recorder.starts == []


def test_an_app_whose_filtered_body_raises_propagates_before_any_start():
    recorder = Recorder()
    with pytest.raises(AppError, match="mid-body"):
        UpperFilter(failing_body(HTML))(make_environ(), recorder.start_response)
    assert recorder.starts == []


def test_the_server_answers_its_own_500_when_a_filtered_body_raises():
    response = serve(wrap(UpperFilter, failing_body(HTML)))
    assert response.status == 500
    assert b"<p>start" not in response.body.lower()
    assert "AppError: mid-body" in response.errors


def test_a_restart_to_a_filtered_type_after_writing_an_untouched_response_re_raises_the_apps_error():
    # PEP 3333: once body went out, start_response with exc_info re-raises, as the server would.
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", TEXT)])
        write(b"partial")
        start_response("500 Internal Server Error", [("Content-Type", HTML)], exc_info_of(AppError("late")))
        return [b"<p>error page</p>"]

    with pytest.raises(AppError, match="late"):
        call(UpperFilter(app, filter_all_status=True))
    response = serve(wrap(UpperFilter, app, filter_all_status=True))  # wsgiref logs the app's own error
    assert (response.status, response.body) == (200, b"partial")
    assert "AppError: late" in response.errors and "No active exception" not in response.errors


@pytest.mark.parametrize("content_encoding", [None, "gzip"])
def test_a_restart_after_a_lazy_passthrough_gave_an_empty_chunk_then_body_re_raises_the_apps_error(content_encoding):
    # The empty first chunk sends nothing; the next does, and a restart after it must re-raise
    # (not send an unfiltered error page after the partial body).
    import gzip

    headers = [("Content-Type", TEXT)] + ([("Content-Encoding", content_encoding)] if content_encoding else [])

    def app(environ, start_response):
        def body():
            start_response("200 OK", headers)
            yield b""
            yield gzip.compress(b"partial ") if content_encoding else b"partial "
            start_response("500 Internal Server Error", [("Content-Type", HTML)], exc_info_of(AppError("late")))
            yield b"<p>error page</p>"

        return body()

    recorder, result = call(UpperFilter(app, filter_all_status=True))
    with pytest.raises(AppError, match="late"):
        read(result)
