"""An app whose iterable's ``close()`` raises, once the middleware has read its answer whole
(to filter it, or to ask the app again): the answer goes on, the error is logged. Closed by
the server (a response passed through), the error is the server's to hear, as without the
middleware (PEP 3333)."""

from __future__ import annotations

import logging

import httpx
import pytest

from dualfilter.testing import make_environ
from tests.support.filters import ClosingStream, ClosingStreams, Upper
from tests.support.http_servers import waitress_serving, wsgiref_serving


class Answer:
    """The app's iterable: ``chunks``, and a ``close()`` that raises."""

    def __init__(self, chunks):
        self.chunks = chunks
        self.closed = 0

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        self.closed += 1
        raise OSError("the database cursor was gone already")


def app_with(answers):
    def app(environ, start_response):
        if environ.get("HTTP_RANGE"):
            start_response("206 Partial Content", [("Content-Type", "text/html"), ("Content-Range", "bytes 0-1/11")])
            answers.append(Answer([b"<p"]))
        else:
            start_response("200 OK", [("Content-Type", "text/html")])
            answers.append(Answer([b"<p>page</p>"]))
        return answers[-1]

    return app


@pytest.mark.parametrize("serving", [waitress_serving, wsgiref_serving], ids=["waitress", "wsgiref"])
def test_a_filtered_page_goes_out_when_the_apps_close_raises(serving, caplog):
    answers = []
    with caplog.at_level(logging.ERROR, "dualfilter"), serving(Upper.wsgi(app_with(answers))) as port:
        response = httpx.get(f"http://127.0.0.1:{port}/", timeout=10)
    assert (response.status_code, response.content) == (200, b"<P>PAGE</P>")
    assert [answer.closed for answer in answers] == [1]
    assert "the app's close() raised on GET /" in caplog.text


def test_the_app_is_asked_again_when_its_dropped_answers_close_raises(caplog):
    answers = []
    app = Upper.wsgi(app_with(answers))
    body = b"".join(app(make_environ("GET", environ={"HTTP_RANGE": "bytes=0-1"}), lambda status, headers, exc_info=None: None))
    assert body == b"<P"  # the range of the filtered page
    assert [answer.closed for answer in answers] == [1, 1]


def test_closed_by_the_server_the_error_is_the_servers():
    answers = []
    app = Upper.wsgi(app_with(answers), filter_content_types=("image/png",))  # passed through
    result = app(make_environ("GET"), lambda status, headers, exc_info=None: None)
    assert b"".join(result) == b"<p>page</p>"
    with pytest.raises(OSError, match="cursor"):
        result.close()


def _served_by_hand(app, method="GET"):
    """Iterate ``app``'s answer as a server does; what its close() raises."""
    environ = make_environ(method)
    result = app(environ, lambda status, headers, exc_info=None: None)
    body = b"".join(result)
    try:
        result.close()
    except OSError as exc:
        return body, exc
    return body, None


def _answering(status, content_type, chunks, *, lazy=False):
    answers = []

    def app(environ, start_response):
        answer = Answer(chunks)
        answers.append(answer)
        if not lazy:
            start_response(status, [("Content-Type", content_type)])
            return answer

        class Lazy(Answer):
            def __iter__(self):
                start_response(status, [("Content-Type", content_type)])
                return iter(chunks)

        answers[-1] = Lazy(chunks)
        return answers[-1]

    return app, answers


@pytest.mark.parametrize(
    ("method", "status", "content_type", "chunks", "lazy"),
    [
        ("HEAD", "200 OK", "image/png", [b""], False),  # not filtered, no body
        ("HEAD", "200 OK", "text/html", [b""], False),  # filtered type, no body
        ("GET", "204 No Content", "text/html", [], False),
        ("GET", "304 Not Modified", "image/png", [], False),
        ("GET", "302 Found", "text/html", [], True),  # a lazy start with no body at all
    ],
    ids=["head-image", "head-html", "204", "304", "lazy-empty-302"],
)
def test_an_unfiltered_answer_of_the_apps_leaves_its_close_error_to_the_server(method, status, content_type, chunks, lazy):
    # Without the middleware the server hears the failing close(); with it, the same.
    app, answers = _answering(status, content_type, chunks, lazy=lazy)
    body, error = _served_by_hand(Upper.wsgi(app), method)
    assert body == b"" and isinstance(error, OSError)
    assert [answer.closed for answer in answers] == [1]


@pytest.mark.parametrize("where", ["in-the-call", "first-next"])
def test_a_stream_is_told_when_the_app_fails_before_the_server_gets_the_answer(where):
    # The server never gets an object to close: the stream opened at the start is closed here.
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        if where == "in-the-call":
            raise RuntimeError("the app failed")

        def body():
            raise RuntimeError("the app failed")
            yield b""

        return body()

    ClosingStream.closed = 0
    with pytest.raises(RuntimeError, match="the app failed"):
        ClosingStreams.wsgi(app)(make_environ("GET"), lambda status, headers, exc_info=None: None)
    assert ClosingStream.closed == 1
