"""An app whose iterable's ``close()`` raises, once the middleware has read its answer whole
(to filter it, or to ask the app again): the answer goes on, the error is logged. Closed by
the server (a response passed through), the error is the server's to hear, as without the
middleware (PEP 3333)."""

from __future__ import annotations

import logging

import httpx
import pytest

from dualfilter.testing import make_environ
from tests.support.filters import Upper
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
