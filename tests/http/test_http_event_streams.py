"""Unbounded streams: ``text/event-stream`` is filtered only by a filter that names
it exactly, never held by a wildcard; it is UTF-8 and never gets a charset parameter."""

from __future__ import annotations

import threading

import anyio
import httpx
import pytest

from dualfilter import Filter
from dualfilter.filters import Replace
from dualfilter.headers import get_header
from dualfilter.mediatypes import matches
from dualfilter.testing import run_filter
from tests.support.http_servers import uvicorn_serving

EVENTS = b"event: greeting\ndata: caf\xc3\xa9 one\n\ndata: two\n\n"


# -- matching ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("media_type", ["text/event-stream", "multipart/x-mixed-replace"])
@pytest.mark.parametrize("pattern", ["text/*", "*/*", "multipart/*", "*/*+xml"])
def test_a_wildcard_never_captures_an_unbounded_stream(media_type, pattern):
    assert not matches(media_type, (pattern,))


@pytest.mark.parametrize("pattern", ["text/event-stream", "Text/Event-Stream", " text/event-stream "])
def test_naming_the_event_stream_type_exactly_captures_it(pattern):
    assert matches("text/event-stream", ("text/*", pattern))


@pytest.mark.parametrize("media_type", ["text/plain", "text/css", "text/csv"])
def test_wildcards_still_capture_every_bounded_type(media_type):
    assert matches(media_type, ("text/*",)) and matches(media_type, ("*/*",))


# -- filters -----------------------------------------------------------------------------------------


def test_replace_by_default_leaves_an_event_stream_alone():
    status, headers, body = run_filter(Replace(pattern="one", repl="ONE"), EVENTS, content_type="text/event-stream")
    assert (status, body) == (200, EVENTS)


def test_replace_by_default_still_filters_other_text_types():
    assert run_filter(Replace(pattern="one", repl="ONE"), b"one", content_type="text/plain")[2] == b"ONE"


class UpperEvents(Filter):
    """Upper-cases each event as it passes: a streaming filter that names the type."""

    filter_content_types = ("text/event-stream",)
    decode_unicode = True

    def stream(self, environ, headers):
        return UpperStream()


class UpperStream:
    def __init__(self):
        self.seen = []

    def feed(self, text):
        self.seen.append(text)
        return text.upper()

    def finish(self):
        return ""


class UpperWhole(Filter):
    """The buffered form: the whole (ended) event stream at once."""

    filter_content_types = ("text/event-stream",)
    decode_unicode = True

    def filter(self, environ, headers, data):
        return data.upper()


@pytest.mark.parametrize("flt", [UpperEvents, UpperWhole], ids=["streamed", "buffered"])
def test_an_event_stream_filter_adds_no_charset_to_the_content_type(flt):
    status, headers, body = run_filter(flt(), EVENTS, content_type="text/event-stream", chunks=3)
    assert (status, body) == (200, EVENTS.decode().upper().encode())
    assert get_header(headers, "content-type") == "text/event-stream"


@pytest.mark.parametrize("flt", [UpperEvents, UpperWhole], ids=["streamed", "buffered"])
def test_an_event_stream_is_read_as_utf8_whatever_its_label_says(flt):
    content_type = "text/event-stream; charset=iso-8859-1"
    status, headers, body = run_filter(flt(), EVENTS, content_type=content_type, chunks=2)
    assert (status, body) == (200, EVENTS.decode("utf-8").upper().encode("utf-8"))
    assert get_header(headers, "content-type") == content_type


def test_an_event_stream_without_a_charset_streams_under_decode_unicode():
    status, headers, body = run_filter(UpperEvents(), EVENTS, content_type="text/event-stream")
    assert get_header(headers, "content-length") is None  # streamed, not buffered


# -- on a real server ------------------------------------------------------------------------------------


class Waits:
    """An SSE app that sends one event, then waits (at most 10 s) for the client to
    say it has read it, and says in its second event whether it did."""

    def __init__(self):
        self.client_read_first = threading.Event()

    async def __call__(self, scope, receive, send):
        assert scope["type"] == "http"
        headers = [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"data: one\n\n", "more_body": True})
        released = await anyio.to_thread.run_sync(self.client_read_first.wait, 10)
        second = b"data: two after the client read one\n\n" if released else b"data: two after a timeout\n\n"
        await send({"type": "http.response.body", "body": second})


def read_events(port: int, app: Waits) -> list[str]:
    """The data lines of the stream, telling the app once the first one has arrived."""
    lines = []
    with httpx.Client(timeout=15) as client, client.stream("GET", f"http://127.0.0.1:{port}/events") as response:
        assert response.headers["content-type"] == "text/event-stream"
        for line in response.iter_lines():
            if line.lower().startswith("data:"):
                lines.append(line)
                app.client_read_first.set()
    return lines


def test_a_client_gets_the_first_event_at_once_through_a_text_wildcard_filter_on_uvicorn():
    app = Waits()
    with uvicorn_serving(Replace.asgi(app, pattern="one", repl="ONE")) as port:
        assert read_events(port, app) == ["data: one", "data: two after the client read one"]


def test_a_client_gets_each_event_filtered_at_once_through_a_filter_naming_the_type_on_uvicorn():
    app = Waits()
    with uvicorn_serving(UpperEvents.asgi(app)) as port:
        assert read_events(port, app) == ["DATA: ONE", "DATA: TWO AFTER THE CLIENT READ ONE"]
