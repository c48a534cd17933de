"""The ASGI HTTP spec and its extensions, message by message: what the filter accepts and what it refuses."""

from __future__ import annotations

import os

import pytest

from dualfilter import ProtocolError
from dualfilter.asgi.redispatch import FirstCall
from tests.support.asgi_harness import Exchange, UpperFilter, body, make_scope, raw_app, start
from tests.support.filters import ClosingStreams

TRAILERS = {"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")], "more_trailers": False}


async def never_called() -> dict:
    raise AssertionError("receive() reached the server")


async def test_trailers_the_start_did_not_announce_are_refused_and_nothing_of_the_held_page_is_sent():
    # ASGI: an app sends trailers only after a start with "trailers": True; uvicorn, hypercorn
    # and granian all raise otherwise. The filter raises too, rather than send the page
    # under a start claiming a trailer section the app never announced.
    exchange = Exchange()
    app = UpperFilter.asgi(raw_app(start(), body(b"<p>t</p>", more=True), TRAILERS))
    with pytest.raises(ProtocolError, match="trailers"):
        await app(make_scope(), exchange.receive, exchange.send)
    assert exchange.messages == []


async def test_trailers_after_a_filtered_page_that_announced_none_are_refused_after_the_page():
    exchange = Exchange()
    app = UpperFilter.asgi(raw_app(start(), body(b"<p>t</p>"), TRAILERS))
    with pytest.raises(ProtocolError):
        await app(make_scope(), exchange.receive, exchange.send)
    assert exchange.types == ["http.response.start", "http.response.body"]
    assert "trailers" not in exchange.start and exchange.body == b"<P>T</P>"


FILTERS = pytest.mark.parametrize("flt", [UpperFilter, ClosingStreams], ids=["buffered", "streamed"])


@FILTERS
async def test_trailers_before_the_final_body_message_are_refused(flt):
    # ASGI: the trailers follow the last body message; hypercorn and granian refuse them earlier.
    exchange = Exchange()
    app = flt.asgi(raw_app(start(trailers=True), body(b"<p>t</p>", more=True), TRAILERS, body(b"<p>late</p>")))
    with pytest.raises(ProtocolError, match="trailers before the final"):
        await app(make_scope(), exchange.receive, exchange.send)
    assert b"LATE" not in exchange.body and "http.response.trailers" not in exchange.types
    assert exchange.body == (b"<P>T</P>" if flt is ClosingStreams else b"")  # streamed as it came, or held


@FILTERS
@pytest.mark.parametrize("after", ["body", "trailers"])
async def test_body_after_the_final_body_message_is_refused_not_filtered(flt, after):
    exchange = Exchange()
    messages = [start(trailers=True), body(b"<p>t</p>")] + ([TRAILERS] if after == "trailers" else [])
    app = flt.asgi(raw_app(*messages, body(b"<p>late</p>"), TRAILERS))
    with pytest.raises(ProtocolError, match="after the final one"):
        await app(make_scope(), exchange.receive, exchange.send)
    assert b"LATE" not in exchange.body


async def test_a_pathsend_after_the_final_body_message_is_refused(tmp_path):
    page = tmp_path / "late.html"
    page.write_bytes(b"<p>late</p>")
    exchange = Exchange()
    pathsend = {"type": "http.response.pathsend", "path": str(page)}
    app = UpperFilter.asgi(raw_app(start(trailers=True), body(b"<p>t</p>"), pathsend, TRAILERS))
    with pytest.raises(ProtocolError, match="after the final one"):
        await app(make_scope(), exchange.receive, exchange.send)
    assert b"LATE" not in exchange.body


async def test_each_disconnect_a_dropped_answer_gives_the_app_is_its_own_message():
    # An app may change the message it received (add a key, pop one): its next receive(),
    # and every other request's, still get a plain http.disconnect.
    first = FirstCall(never_called)
    first.dropped()
    message = await first.receive()
    message["type"] = "changed by the app"
    assert await first.receive() == {"type": "http.disconnect"}
    other = FirstCall(never_called)
    other.dropped()
    assert await other.receive() == {"type": "http.disconnect"}


@pytest.mark.parametrize("extension", ["pathsend", "zerocopysend"])
async def test_a_head_answered_with_a_file_of_a_filtered_type_never_reads_the_file(tmp_path, extension):
    # A HEAD's body is dropped: the file is neither opened nor read (here it is gone, or a
    # closed descriptor), and the response is the start and an empty final body.
    if extension == "pathsend":
        message = {"type": "http.response.pathsend", "path": str(tmp_path / "gone.html")}
    else:
        fd = os.open(tmp_path, os.O_RDONLY)
        os.close(fd)
        message = {"type": "http.response.zerocopysend", "file": fd, "more_body": False}
    exchange = Exchange()
    await UpperFilter.asgi(raw_app(start(), message))(make_scope(method="HEAD"), exchange.receive, exchange.send)
    assert exchange.types == ["http.response.start", "http.response.body"]
    assert exchange.status == 200 and exchange.body == b"" and exchange.messages[-1]["more_body"] is False
    with pytest.raises(OSError):  # a GET reads it
        await UpperFilter.asgi(raw_app(start(), message))(make_scope(), Exchange().receive, Exchange().send)
