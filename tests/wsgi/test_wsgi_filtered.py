"""Filtered responses: read in full, filtered once, sent with headers true to the new body."""

from __future__ import annotations

import io
from wsgiref.util import FileWrapper

from wsgi_harness import TrackingIterable, UpperFilter, call, make_environ, read, serve, simple_app, tracking_app, wrap

from dualfilter import Filter


def test_a_filtered_response_carries_the_filtered_body():
    response = serve(wrap(UpperFilter, simple_app([b"<p>a</p>", b"<p>b</p>"])))
    assert (response.status, response.body) == (200, b"<P>A</P><P>B</P>")


def test_a_filtered_response_is_returned_as_a_one_item_list():
    recorder, result = call(UpperFilter(simple_app([b"<p>a</p>", b"<p>b</p>"])))
    assert result == [b"<P>A</P><P>B</P>"]


def test_a_filtered_response_starts_only_once_the_body_is_filtered():
    recorder, result = call(UpperFilter(simple_app([b"<p>a</p>"], headers=[("X-App", "1")])))
    ((status, headers, exc_info),) = recorder.starts
    assert status == "200 OK" and exc_info is None
    assert ("X-App", "1") in headers


class Longer(Filter):
    def filter(self, environ, headers, data):
        return data + b"<!-- filtered -->"


def test_a_filtered_response_gets_the_content_length_of_the_new_body():
    app = simple_app([b"<p>abc</p>"], headers=[("Content-Length", "10")])
    response = serve(wrap(Longer, app))
    assert response.header("Content-Length") == str(len(response.body)) == "27"


def test_filtered_response_headers_are_native_strings():
    recorder, result = call(UpperFilter(simple_app([b"<p>x</p>"], headers=[("X-App", "1")])))
    status, headers, _ = recorder.starts[0]
    assert type(status) is str
    assert all(type(name) is str and type(value) is str for name, value in headers)


def test_hop_by_hop_headers_of_the_app_do_not_reach_the_server():
    app = simple_app([b"<p>x</p>"], headers=[("Transfer-Encoding", "chunked"), ("Keep-Alive", "timeout=5")])
    recorder, result = call(UpperFilter(app))
    names = {name.lower() for name, _ in recorder.starts[0][1]}
    assert not names & {"transfer-encoding", "keep-alive"}


def test_wsgiref_accepts_a_filtered_response_whose_app_sent_hop_by_hop_headers():
    response = serve(wrap(UpperFilter, simple_app([b"<p>x</p>"], headers=[("Connection", "close")])))
    assert (response.status, response.body, response.errors) == (200, b"<P>X</P>", "")


def test_the_filter_runs_after_the_apps_iterable_is_closed():
    tracked = TrackingIterable([b"<p>x</p>"])
    seen = []

    class Watch(Filter):
        def filter(self, environ, headers, data):
            seen.append(tracked.closes)
            return data

    read(call(Watch(tracking_app(tracked)))[1])
    assert seen == [1]


def test_an_async_filter_runs_to_completion_under_wsgi():
    class AsyncUpper(Filter):
        async def filter(self, environ, headers, data):
            return data.upper()

    response = serve(wrap(AsyncUpper, simple_app([b"<p>async</p>"])))
    assert response.body == b"<P>ASYNC</P>"


def test_the_filter_sees_the_request_environ():
    seen = {}

    class Watch(Filter):
        def filter(self, environ, headers, data):
            seen["path"] = environ["PATH_INFO"]
            return data

    recorder, result = call(Watch(simple_app([b"<p>x</p>"])), make_environ(path="/page"))
    assert seen == {"path": "/page"}


def test_header_changes_made_by_the_filter_reach_the_server():
    class Tag(Filter):
        def filter(self, environ, headers, data):
            headers["X-Filtered"] = "yes"
            return data

    response = serve(wrap(Tag, simple_app([b"<p>x</p>"])))
    assert response.header("X-Filtered") == "yes"


def test_an_empty_filtered_body_gives_an_empty_list_and_content_length_zero():
    class Empty(Filter):
        def filter(self, environ, headers, data):
            return b""

    recorder, result = call(Empty(simple_app([b"<p>x</p>"])))
    assert result == []
    assert ("Content-Length", "0") in recorder.starts[0][1]


def test_a_file_wrapper_response_of_a_filtered_type_is_read_filtered_and_closed():
    page = io.BytesIO(b"<p>from a file</p>")

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        return environ["wsgi.file_wrapper"](page, 4)

    recorder, result = call(UpperFilter(app), make_environ(**{"wsgi.file_wrapper": FileWrapper}))
    assert result == [b"<P>FROM A FILE</P>"]
    assert page.closed


class _HoldUntilDot(Filter):
    """Streams text up to its last '.', holding the rest (as a tag-aware rewriter holds a tag)."""

    class _Stream:
        held = b""

        def feed(self, data):
            self.held += data
            cut = self.held.rfind(b".") + 1
            out, self.held = self.held[:cut], self.held[cut:]
            return out

        def finish(self):
            return self.held

    def stream(self, environ, headers):
        return self._Stream()


def test_a_started_stream_yields_one_value_for_each_the_app_yields_an_empty_one_while_it_holds():
    # PEP 3333, "Middleware Handling of Block Boundaries": at least one value per
    # value of the app, an empty bytestring when there is nothing else to give.
    tracked = TrackingIterable([b"first.", b"a", b"b", b"c.", b"tail"])
    recorder, result = call(_HoldUntilDot(tracking_app(tracked)))
    iterator = iter(result)
    given = []
    for served in range(1, 6):
        given.append(next(iterator))
        assert tracked.served == served
    assert given == [b"first.", b"", b"", b"abc.", b""]
    assert b"".join(iterator) == b"tail"
