"""Chains and streaming filters under WSGI: Flask behind a chain, a streamed body on a real server."""

from __future__ import annotations

import http.client
import threading

import flask
import pytest

from dualfilter import StreamError, chain
from dualfilter.testing import make_environ
from tests.support.chain_hosts import wsgi_get, wsgiref_serving

from .chain_filters import AddParagraph, Footer, MarkBody, Replace, Rot13Text, UpperStream

PAGE = "<!DOCTYPE html><html><head><title>t</title></head><body><p>the cat \u00e9</p></body></html>"


def flask_app():
    app = flask.Flask(__name__)

    @app.route("/")
    def index():
        return PAGE

    return app


def test_a_chain_over_flask_answers_as_nested_middlewares():
    chained = wsgi_get(chain(MarkBody, Rot13Text, AddParagraph)(flask_app()))
    nested = wsgi_get(MarkBody(Rot13Text(AddParagraph(flask_app()))))
    assert chained == nested
    assert b'<body class="m"><p>gur png' in chained[2]


def test_a_streaming_filter_over_flask_gives_the_buffered_body_without_a_length():
    status, headers, body = wsgi_get(Replace(flask_app()))
    assert body == PAGE.replace("cat", "dog").encode()
    assert "Content-Length" not in dict(headers)


def generator_app(log):
    """Yields two chunks, logging when it is asked for each."""

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", "14")])
        log.append("first")
        yield b"<p>a cat</p>"
        log.append("second")
        yield b"\n\n"

    return app


def test_a_streamed_chunk_reaches_the_server_before_the_app_makes_the_next():
    log = []
    result = Replace.wsgi(generator_app(log))(make_environ(), lambda status, headers, exc_info=None: None)
    first = next(iter(result))
    assert (first, log) == (b"<p>a dog</p>", ["first"])
    result.close()


def test_a_streamed_body_through_the_write_callable():
    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        write(b"<p>a c")
        write(b"at</p>")
        return []

    assert wsgi_get(UpperStream.wsgi(app))[2] == b"<P>A CAT</P>"
    assert wsgi_get(Replace.wsgi(app))[2] == b"<p>a dog</p>"


def test_a_stream_failing_mid_body_cuts_the_response_short():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=iso-8859-1")])
        return [b"<p>ok</p>", b"a cat"]

    broken = Replace(app, new="\u2603")  # not in iso-8859-1: cannot be written once streaming
    result = broken(make_environ(), lambda status, headers, exc_info=None: None)
    chunks = iter(result)
    assert next(chunks) == b"<p>ok</p>"
    with pytest.raises(StreamError):
        next(chunks)
    result.close()


def test_a_streaming_chain_streams_on_a_real_server():
    proceed = threading.Event()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        yield b"<p>the first cat</p>"
        assert proceed.wait(10), "the client never saw the first chunk"
        yield b"<p>the second cat</p>"

    with wsgiref_serving(chain(Footer, Replace, UpperStream)(app)) as (host, port):
        connection = http.client.HTTPConnection(host, port, timeout=10)
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.getheader("Content-Length") is None
        first = b"<P>THE FIRST CAT</P>"  # UpperStream ran first: no lower-case 'cat' left to replace
        assert response.read(len(first)) == first  # arrived while the app was still waiting
        proceed.set()
        assert response.read() == b"<P>THE SECOND CAT</P><!-- footer -->"
        connection.close()
