"""The environ the filter sees against the one the app was called with (and added to)."""

from __future__ import annotations

import io
import itertools
import socket

from hypothesis import given, settings
from hypothesis import strategies as st
from wsgi_harness import HTML, call, make_environ, read

from dualfilter import Filter, validators
from tests.support.http_servers import wsgiref_serving


class Nonces(Filter):
    """Writes what the filter reads of the app's environ next to what the app's header says."""

    def filter(self, environ, headers, data):
        policy = headers.get("Content-Security-Policy")
        return data + f"|environ:{environ.get('app.nonce')}|header:{policy}".encode()


def nonce_app():
    """An app that makes a nonce per call, keeps it in the environ (where a filter that
    adds scripts reads it) and names it in its CSP header; a 206 for a Range."""
    numbers = itertools.count()

    def app(environ, start_response):
        nonce = environ["app.nonce"] = str(next(numbers))
        headers = [("Content-Type", HTML), ("Content-Security-Policy", nonce)]
        if environ.get("HTTP_RANGE"):
            start_response("206 Partial Content", [*headers, ("Content-Range", "bytes 0-1/11")])
            return [b"<p"]
        start_response("200 OK", headers)
        return [b"<p>page</p>"]

    return app


def test_what_the_app_adds_to_the_environ_is_seen_by_the_filter():
    environ = make_environ()
    recorder, result = call(Nonces(nonce_app()), environ)
    assert b"".join(read(result)) == b"<p>page</p>|environ:0|header:0"
    assert environ["app.nonce"] == "0"  # the server's own environ, which the app was given


def test_a_request_that_is_not_asked_again_leaves_the_servers_environ_to_the_app():
    environ = make_environ(HTTP_RANGE="bytes=0-")
    read(call(Nonces(nonce_app()), environ)[1])
    assert environ["HTTP_RANGE"] == "bytes=0-"  # the filter removes nothing from it


def test_asked_again_the_filter_sees_what_the_call_it_filters_added():
    recorder, result = call(Nonces(nonce_app()), make_environ(HTTP_RANGE="bytes=0-"))
    body = b"".join(read(result))
    assert body.endswith(b"|environ:1|header:1"), body


def test_asked_again_the_servers_environ_holds_the_request_as_it_came_and_the_second_calls_additions():
    environ = make_environ(HTTP_RANGE="bytes=0-", HTTP_IF_RANGE='"v1"')
    calls = itertools.count()

    def app(environ, start_response):
        call_number = next(calls)
        environ["app.nonce"] = str(call_number)
        if call_number == 0:
            environ["app.first_only"] = "dropped"  # made by the call whose answer is dropped
            environ["PATH_INFO"] = "/routed-by-the-first-call"
        if environ.get("HTTP_RANGE"):
            start_response("206 Partial Content", [("Content-Type", HTML), ("Content-Range", "bytes 0-1/11")])
            return [b"<p"]
        start_response("200 OK", [("Content-Type", HTML)])
        return [b"<p>page</p>"]

    read(call(Nonces(app), environ)[1])
    assert environ["app.nonce"] == "1"
    assert "app.first_only" not in environ
    assert environ["PATH_INFO"] == "/"
    assert environ["HTTP_RANGE"] == "bytes=0-" and environ["HTTP_IF_RANGE"] == '"v1"'  # as the client sent them


def test_a_key_the_second_call_removes_is_gone_for_the_filter_too():
    class Sees(Filter):
        def filter(self, environ, headers, data):
            return data + f"|{'app.flag' in environ}".encode()

    def app(environ, start_response):
        if environ.get("HTTP_RANGE"):
            start_response("206 Partial Content", [("Content-Type", HTML), ("Content-Range", "bytes 0-1/11")])
            return [b"<p"]
        del environ["app.flag"]  # set by the server (a deployment's key), removed by the app
        start_response("200 OK", [("Content-Type", HTML)])
        return [b"<p>page</p>"]

    body = b"".join(read(call(Sees(app), make_environ(HTTP_RANGE="bytes=0-", **{"app.flag": "1"}))[1]))
    assert body == b"<p>page</p>|False"


def test_with_translated_validators_the_filter_sees_what_the_app_adds():
    # Without force_no_conditional, an If-None-Match reaches the app translated (derived
    # tags as its own): what the app adds to its environ is still seen.
    filtered = Nonces(nonce_app(), force_no_conditional=False)
    environ = make_environ(HTTP_IF_NONE_MATCH='W/"other"')
    body = b"".join(read(call(filtered, environ)[1]))
    assert body.endswith(b"|environ:0|header:0"), body
    assert environ["HTTP_IF_NONE_MATCH"] == 'W/"other"'  # the filter reads the request as it came


def test_what_the_app_adds_while_its_body_is_read_is_seen_by_a_buffered_filter():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", HTML)])
        yield b"<p>"
        environ["app.nonce"] = "late"  # a generator's context: set as the page is made
        yield b"page</p>"

    for environ in (make_environ(), make_environ(HTTP_RANGE="bytes=0-"), make_environ(HTTP_IF_NONE_MATCH='"x"')):
        body = b"".join(read(call(Nonces(app, force_no_conditional=False), environ)[1]))
        assert b"|environ:late|" in body, (environ, body)


def test_the_app_is_handed_the_servers_environ_itself_shown_what_the_policy_shows_until_it_starts():
    seen = []

    def app(environ, start_response):
        seen.append((environ, environ.get("HTTP_RANGE"), environ.get("HTTP_IF_NONE_MATCH"), environ["CONTENT_LENGTH"]))
        if environ.get("HTTP_RANGE"):
            start_response("206 Partial Content", [("Content-Type", HTML), ("Content-Range", "bytes 0-1/11")])
            return [b"<p"]
        start_response("200 OK", [("Content-Type", HTML)])
        seen.append((environ.get("HTTP_RANGE"), environ.get("HTTP_IF_NONE_MATCH"), environ["CONTENT_LENGTH"]))
        return [b"<p>page</p>"]

    filtered = Nonces(app, force_no_conditional=False)
    derived = validators.derive('"v1"', filtered.filter.etag_token)  # a tag the filter issued for the app's "v1"
    environ = make_environ(HTTP_RANGE="bytes=0-", HTTP_IF_NONE_MATCH=derived, CONTENT_LENGTH="3")
    read(call(filtered, environ)[1])
    assert [entry[0] is environ for entry in seen[:2]] == [True, True]
    assert seen[0][1:] == ("bytes=0-", '"v1"', "3")  # the first call: the tag translated
    assert seen[1][1:] == (None, None, "0")  # asked again: no range, no validator, no content
    assert seen[2] == ("bytes=0-", derived, "3")  # once it started: the request as it came


def test_an_app_that_fails_before_it_starts_leaves_the_servers_environ_as_the_request_came():
    def app(environ, start_response):
        raise RuntimeError("the app failed")

    filtered = Nonces(app, force_no_conditional=False)
    environ = make_environ(HTTP_IF_NONE_MATCH=validators.derive('"v1"', filtered.filter.etag_token))
    before = dict(environ)
    try:
        call(filtered, environ)
    except RuntimeError:
        pass
    assert environ == before


def test_asked_again_an_app_that_reads_its_input_after_it_started_gets_none_and_never_waits():
    # wsgiref's wsgi.input is the socket: the first call drained the request's body, so a
    # second call reading its Content-Length after the start must not read the socket.
    def app(environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if environ.get("HTTP_RANGE"):
            environ["wsgi.input"].read(length)
            start_response("206 Partial Content", [("Content-Type", HTML), ("Content-Range", "bytes 0-1/11")])
            return [b"<p"]
        start_response("200 OK", [("Content-Type", HTML)])

        def page():
            yield b"<p>" + environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)) + b"</p>"

        return page()

    with wsgiref_serving(Nonces(app)) as port, socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        request = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nRange: bytes=0-2\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody"
        sock.sendall(request.encode())
        received = bytearray()
        while chunk := sock.recv(65536):  # a server waiting on the socket: the timeout fails the test
            received += chunk
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 206") and body == b"<p>"


@settings(max_examples=80, deadline=None)
@given(
    ranged=st.booleans(),
    tagged=st.sampled_from([None, "derived", "own"]),
    dated=st.booleans(),
    content=st.booleans(),
    streamed=st.booleans(),
)
def test_the_one_environ_holds_for_any_request_the_app_may_be_asked_twice(ranged, tagged, dated, content, streamed):
    """Whatever the request: each call is shown what the policy says in the server's environ
    itself; the filter reads the client's request plus what the answering call wrote; after
    the response the environ is the request as it came plus that call's writes."""
    watched = ["HTTP_RANGE", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "CONTENT_LENGTH", "app.call", "deployment.flag"]
    seen: list = []  # (the environ handed, what the call read in it), a call each
    read_by_filter: list = []

    class Reads(Filter):
        def filter(self, environ, headers, data):
            read_by_filter.append({key: environ.get(key) for key in watched})
            return data

    def app(environ, start_response):
        seen.append((environ, {key: environ.get(key) for key in watched}))
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["app.call"] = str(len(seen))
        environ[f"app.only{len(seen)}"] = "1"
        del environ["deployment.flag"]
        headers = [("Content-Type", HTML), ("ETag", '"v1"')]
        if environ.get("HTTP_RANGE"):
            start_response("206 Partial Content", [*headers, ("Content-Range", "bytes 1-2/8")])
            return [b"p>"]
        if environ.get("HTTP_IF_NONE_MATCH") == '"v1"':
            start_response("304 Not Modified", headers)
            return []
        start_response("200 OK", headers)
        return iter([b"<p>", b"x</p>"]) if streamed else [b"<p>x</p>"]

    filtered = Reads(app, force_no_conditional=False)
    derived = validators.derive('"v1"', filtered.filter.etag_token)
    request = make_environ(CONTENT_LENGTH="0", **{"deployment.flag": "1"})
    request.update({"HTTP_RANGE": "bytes=1-"} if ranged else {})
    request.update({"HTTP_IF_NONE_MATCH": derived if tagged == "derived" else '"v1"'} if tagged else {})
    request.update({"HTTP_IF_MODIFIED_SINCE": "Sat, 01 Jan 2000 00:00:00 GMT"} if dated else {})
    request.update({"CONTENT_LENGTH": "4", "wsgi.input": io.BytesIO(b"body")} if content else {})
    environ = dict(request)
    read(call(filtered, environ)[1])

    calls = len(seen)
    assert all(handed is environ for handed, _ in seen)  # the server's environ itself, every call
    first = seen[0][1]
    assert [first[key] for key in watched[:4]] == [
        request.get("HTTP_RANGE"),
        '"v1"' if tagged else None,
        *[request.get(key) for key in watched[2:4]],
    ]
    if calls == 2:  # asked again: no range, no validator, no content, and none of the first call's writes
        shown = {"HTTP_RANGE": None, "HTTP_IF_NONE_MATCH": None, "HTTP_IF_MODIFIED_SINCE": None, "CONTENT_LENGTH": "0"}
        assert seen[1][1] == {**shown, "app.call": None, "deployment.flag": "1"}
    for filter_read in read_by_filter:  # the client's request, and what the answering call wrote
        assert filter_read == {key: request.get(key) for key in watched} | {"app.call": str(calls), "deployment.flag": None}
    # After the response: the request as it came, plus the answering call's writes (and an empty input).
    kept = {key: value for key, value in request.items() if key not in ("deployment.flag", "wsgi.input")}
    assert environ == kept | {"wsgi.input": environ["wsgi.input"], "app.call": str(calls), f"app.only{calls}": "1"}
