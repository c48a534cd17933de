"""The pinned Rewriter contract through the hosts' own adapters: keyword-only ``html``,
``removed``, a chain that streams, flat memory and no garbage left per response."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
import tracemalloc

import pytest

from dualfilter import StreamError, chain
from dualfilter.html import Rewriter, on
from dualfilter.isapi.constants import HSE_STATUS_SUCCESS
from dualfilter.isapi.testing import FakeECB, call_extension
from dualfilter.testing import make_environ, run_filter

UTF8 = [("Content-Type", "text/html; charset=utf-8")]
#: About 64 KB of links; a page of 80 of them is about 5 MB.
BLOCK = b"<p>Some text <a href='https://x.example/'>a link</a> and more text.</p>\n" * 1000
BLOCKS = 80


class Links(Rewriter):
    """An element handler, a text handler (text held aside per node) and the end."""

    @on("a[href^='http']")
    def external(self, element, environ):
        element.set_attribute("rel", "noopener")

    @on.text("p")
    def text(self, text, environ):
        text.replace(text.text.upper(), html=True)

    def end(self, document, environ):
        document.append("<!-- end -->", html=True)


class Boom(Rewriter):
    @on("b.boom")
    def boom(self, element, environ):
        raise RuntimeError("a failing handler")


def every_insertion(target, content):
    """The methods of ``target`` that insert ``content``, each called with ``html`` given positionally."""
    names = {
        "element": ["before", "after", "prepend", "append", "set_inner_content", "replace"],
        "text": ["replace", "before", "after"],
        "document": ["append"],
    }

    refused = []
    for name in names[target[0]]:
        try:
            getattr(target[1], name)(content, True)
        except TypeError:
            refused.append(name)
    return refused


def test_every_inserting_method_takes_html_by_keyword_only():
    refused: dict[str, list[str]] = {}

    class Positional(Rewriter):
        @on("p")
        def element(self, element, environ):
            refused["element"] = every_insertion(("element", element), "<b>x</b>")

        @on.text("p")
        def text(self, text, environ):
            refused["text"] = every_insertion(("text", text), "<b>x</b>")

        def end(self, document, environ):
            refused["document"] = every_insertion(("document", document), "<b>x</b>")

    assert run_filter(Positional, b"<div><p>a</p></div>")[2] == b"<div><p>a</p></div>"
    assert refused == {
        "element": ["before", "after", "prepend", "append", "set_inner_content", "replace"],
        "text": ["replace", "before", "after"],
        "document": ["append"],
    }


def test_removed_is_true_after_remove_and_keep_content_as_in_lol_html():
    seen = []

    class Unwrap(Rewriter):
        @on("span")
        def unwrap(self, element, environ):
            seen.append(element.removed)
            element.remove_and_keep_content()

        @on("span")
        def later(self, element, environ):
            seen.append(element.removed)

    assert run_filter(Unwrap, b"<p><span>a<b>b</b></span></p>")[2] == b"<p>a<b>b</b></p>"
    assert seen == [False, True]


def test_set_attribute_escapes_double_quotes_and_writes_the_rest_as_given():
    class Title(Rewriter):
        @on("a")
        def title(self, element, environ):
            element.set_attribute("title", 'say "hi" & <go>')

    assert run_filter(Title, b"<a href=x>l</a>")[2] == b'<a href=x title="say &quot;hi&quot; & <go>">l</a>'


def test_a_chain_of_rewriters_sends_its_first_output_before_the_app_sends_its_last():
    class Outer(Rewriter):
        @on("em")
        def em(self, element, environ):
            element.set_attribute("seen", "outer")

    class Inner(Rewriter):
        @on("p")
        def p(self, element, environ):
            element.prepend("<em>new</em>", html=True)

    sent: list[bytes] = []
    before_last: list[list[bytes]] = []

    def app(environ, start_response):
        start_response("200 OK", UTF8)
        yield b"<p>one</p>"
        before_last.append(list(sent))
        yield b"<p>two</p>"

    for piece in chain(Outer, Inner).wsgi(app)(make_environ(), lambda status, headers, exc_info=None: sent.append):
        sent.append(piece)
    assert before_last == [[b'<p><em seen="outer">new</em>one</p>']]
    assert b"".join(sent) == b'<p><em seen="outer">new</em>one</p><p><em seen="outer">new</em>two</p>'


# -- memory ---------------------------------------------------------------------------------------


def big_page():
    yield b"<html><head><meta charset=utf-8></head><body>"
    for _ in range(BLOCKS):
        yield BLOCK
    yield b"</body></html>"


def peak_memory(run) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_through_the_wsgi_adapter():
    def app(environ, start_response):
        start_response("200 OK", UTF8)
        return big_page()

    sizes: list[int] = []

    def run():
        result = Links.wsgi(app)(make_environ(), lambda status, headers, exc_info=None: sizes.append)
        sizes.extend(len(piece) for piece in result)
        result.close()

    assert peak_memory(run) < 2_500_000
    assert sum(sizes) > BLOCKS * len(BLOCK)


def test_memory_stays_flat_through_the_asgi_adapter():
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        for piece in big_page():
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    sizes: list[int] = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sizes.append(len(message.get("body", b"")))

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b"", "http_version": "1.1"}
    assert peak_memory(lambda: asyncio.run(Links.asgi(app)(scope, receive, send))) < 2_500_000
    assert sum(sizes) > BLOCKS * len(BLOCK)


def test_memory_stays_flat_through_the_isapi_extension():
    client = FakeECB("GET", "/")
    peaks: list[int] = []
    sizes: list[int] = []

    class Extension:
        def HttpExtensionProc(self, ecb):
            ecb.SendResponseHeaders("200 OK", "Content-Type: text/html; charset=utf-8\r\n\r\n", False)
            pieces = big_page()
            ecb.WriteClient(next(pieces))
            written = client._s.response.writes  # what the client got: counted, then let go

            def rest():
                for piece in pieces:
                    ecb.WriteClient(piece)
                    sizes.extend(map(len, written))
                    written.clear()

            peaks.append(peak_memory(rest))
            return HSE_STATUS_SUCCESS

    call_extension(Links.isapi(Extension()), client)
    assert peaks[0] < 2_500_000
    assert sum(sizes) > BLOCKS * len(BLOCK)


# -- nothing left behind ------------------------------------------------------------------------------

GOOD = [b"<html><body><p>one <a href='https://x'>x</a></p>", b"<p>two</p></body></html>"]
FAILS_FIRST = [b"<html><body><b class=boom>x</b>", b"<p>z</p>"]
FAILS_LATER = [b"<html><body><p>first</p>", b"<b class=boom>x</b>", b"<p>z</p>"]


def through_wsgi(flt, pieces, read=None):
    def app(environ, start_response):
        start_response("200 OK", UTF8)
        return iter(pieces)

    result = flt.wsgi(app)(make_environ(), lambda status, headers, exc_info=None: lambda data: None)
    try:
        for count, _ in enumerate(result, 1):
            if count == read:
                break  # the client went away
    except Exception:  # cut short
        pass
    finally:
        if hasattr(result, "close"):  # the clean 500 is a list
            result.close()


def through_asgi(flt, pieces):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        for index, piece in enumerate(pieces, 1):
            await send({"type": "http.response.body", "body": piece, "more_body": index < len(pieces)})

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    async def server():
        scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b"", "http_version": "1.1"}
        with contextlib.suppress(StreamError):  # cut short: raised to the server, no final message sent
            await flt.asgi(app)(scope, receive, send)

    asyncio.run(server())


LINKS, BOOM = Links(), Boom()
RESPONSES = {
    "wsgi": lambda: through_wsgi(LINKS, GOOD),
    "wsgi, dropped": lambda: through_wsgi(LINKS, GOOD, read=1),
    "wsgi, failing first": lambda: through_wsgi(BOOM, FAILS_FIRST),
    "wsgi, failing later": lambda: through_wsgi(BOOM, FAILS_LATER),
    "asgi": lambda: through_asgi(LINKS, GOOD),
    "asgi, failing first": lambda: through_asgi(BOOM, FAILS_FIRST),
    "asgi, failing later": lambda: through_asgi(BOOM, FAILS_LATER),
}


@pytest.mark.parametrize("response", RESPONSES.values(), ids=RESPONSES.keys())
def test_a_response_leaves_no_cyclic_garbage_and_nothing_freed_on_a_foreign_thread(response, monkeypatch):
    unraisable: list = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    logging.disable(logging.CRITICAL)  # a log record of an error would hold its traceback
    try:
        response()  # imports and caches warmed
        gc.collect()
        gc.disable()
        try:
            response()
            assert gc.collect() == 0
        finally:
            gc.enable()
    finally:
        logging.disable(logging.NOTSET)
    assert unraisable == []
