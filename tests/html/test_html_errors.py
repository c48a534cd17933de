"""Handler errors, oversize text nodes, threads, and what a response leaves behind."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import subprocess
import sys
import threading
import weakref
from pathlib import Path

import pytest
from html_rewriters import PAGE, Tidy
from html_servers import RawClient, uvicorn_serving, wsgiref_serving

from dualfilter.errors import StreamError
from dualfilter.headers import Headers
from dualfilter.html import OversizeError, Rewriter, on
from dualfilter.isapi.testing import FilterHost, extension_site
from dualfilter.testing import run_filter
from tests.support.hosts import Inner, SyncExtension, run_django, run_isapi

UTF8 = [("Content-Type", "text/html; charset=utf-8")]


class Boom(Rewriter):
    @on("p.boom")
    def p(self, element, environ):
        raise KeyError("boom")


def wsgi_app(*chunks):
    def app(environ, start_response):
        start_response("200 OK", list(UTF8))
        yield from chunks

    return app


def asgi_app(*chunks):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        for n, chunk in enumerate(chunks):
            await send({"type": "http.response.body", "body": chunk, "more_body": n < len(chunks) - 1})

    return app


FIRST, FAILING = b"<html><body><p>fine</p>", b"<p class=boom>x</p></body></html>"


def test_a_handler_error_after_output_cuts_the_wsgi_response_short_and_is_logged(caplog):
    with caplog.at_level(logging.ERROR, "dualfilter"), wsgiref_serving(Boom.wsgi(wsgi_app(FIRST, FAILING))) as address:
        raw = RawClient(address).read_all()
    assert raw.startswith(b"HTTP/1.0 200 OK") and raw.endswith(b"<p>fine</p>")
    assert any("Boom failed while streaming" in record.getMessage() for record in caplog.records)


def test_a_handler_error_after_output_cuts_the_asgi_response_short_and_is_logged(caplog):
    with caplog.at_level(logging.ERROR, "dualfilter"), uvicorn_serving(Boom.asgi(asgi_app(FIRST, FAILING))) as address:
        raw = RawClient(address).read_all()
    assert raw.startswith(b"HTTP/1.1 200 OK") and b"<p>fine</p>" in raw
    assert b"</html>" not in raw and not raw.endswith(b"0\r\n\r\n")  # no last chunk: the client sees it cut
    assert any("Boom failed while streaming" in record.getMessage() for record in caplog.records)


def test_a_handler_error_before_any_output_gives_a_wsgi_client_a_500():
    with wsgiref_serving(Boom.wsgi(wsgi_app(FAILING))) as address:
        raw = RawClient(address).read_all()
    assert raw.startswith(b"HTTP/1.0 500 ") and b"<p" not in raw


def test_a_handler_error_before_any_output_gives_an_asgi_client_a_500():
    with uvicorn_serving(Boom.asgi(asgi_app(FAILING))) as address:
        raw = RawClient(address).read_all()
    assert raw.startswith(b"HTTP/1.1 500 ")


@pytest.mark.parametrize("host", ["isapi-sync", "isapi-pending", "isapi-async-io", "isapi-filter", "django-sync", "django-async"])
def test_a_handler_error_before_any_output_gives_the_clean_500_on_the_other_hosts_too(host):
    inner = Inner(200, "OK", list(UTF8), [FAILING, b"<p>more</p>"])
    if host == "isapi-filter":
        with FilterHost(Boom.isapi_filter()) as iis:
            result = iis.request("GET", "/", response=extension_site(SyncExtension(inner)), splits=[5])
    elif host.startswith("isapi"):
        result = run_isapi(Boom, inner, host)
    else:
        result = asyncio.run(run_django(Boom, inner, host))
    assert (result.status, result.body) == (500, b"Internal Server Error\n")


def test_the_handlers_own_exception_is_the_cause_of_the_stream_error():
    with pytest.raises(StreamError) as caught:
        run_filter(Boom, FIRST + FAILING, chunks=2)
    assert isinstance(caught.value.__cause__, KeyError)


def test_a_text_node_past_max_buffer_size_fails_the_response_by_default():
    stream = Tidy(max_buffer_size=100).stream({}, Headers(list(UTF8)))
    stream.feed(b"<title>" + b"x" * 60)
    with pytest.raises(OversizeError):
        stream.feed(b"y" * 60)


def test_a_held_text_node_is_measured_in_bytes_not_characters():
    stream = Tidy(max_buffer_size=1000).stream({}, Headers(list(UTF8)))
    stream.feed(b"<title>")
    with pytest.raises(OversizeError):
        for _ in range(9):  # 300 bytes, 100 characters each
            stream.feed("\u65e5".encode() * 100)


def test_a_held_text_node_is_measured_in_bytes_of_the_page_charset():
    shift_jis = [("Content-Type", "text/html; charset=shift_jis")]
    fits = Tidy(max_buffer_size=1000).stream({}, Headers(list(shift_jis)))
    out = fits.feed(b"<title>") + fits.feed("\u65e5".encode("shift_jis") * 450)  # 900 bytes (1350 in UTF-8)
    out += fits.feed(b"</title>") + fits.finish()
    assert out == b"<title>" + "\u65e5".encode("shift_jis") * 450 + b"</title><!-- filtered -->"
    too_long = Tidy(max_buffer_size=1000).stream({}, Headers(list(shift_jis)))
    too_long.feed(b"<title>")
    with pytest.raises(OversizeError):
        too_long.feed("\u65e5".encode("shift_jis") * 600)  # 1200 bytes, 600 characters


def test_a_text_node_past_max_buffer_size_goes_out_unfiltered_with_oversize_pass(caplog):
    stream = Tidy(max_buffer_size=100, oversize="pass").stream({}, Headers(list(UTF8)))
    out = stream.feed(b"<title>" + b"x" * 60)
    with caplog.at_level(logging.WARNING, "dualfilter"):
        out += stream.feed(b"y" * 60)
        out += stream.feed(b"z</title><title>small</title>")
    out += stream.finish()
    assert out == b"<title>" + b"x" * 60 + b"y" * 60 + b"z</title><title>SMALL</title><!-- filtered -->"
    assert any("max_buffer_size" in record.getMessage() for record in caplog.records)


def test_long_content_between_tags_is_not_held():
    class Strip(Rewriter):
        @on("script")
        def strip(self, element, environ):
            element.remove()

    stream = Strip(max_buffer_size=1000).stream({}, Headers(list(UTF8)))
    out = stream.feed(b"<p>") + b"".join(stream.feed(b"text " * 100) for _ in range(5))
    out += stream.feed(b"<script>") + b"".join(stream.feed(b"var a = 1; " * 100) for _ in range(5))
    out += stream.feed(b"</script></p>") + stream.finish()
    assert out == b"<p>" + b"text " * 500 + b"</p>"


def test_one_response_may_be_fed_from_several_threads():
    stream = Tidy().stream({}, Headers(list(UTF8)))
    pieces = [PAGE[i : i + 40] for i in range(0, len(PAGE), 40)]
    out: list[bytes] = []
    for piece in pieces:  # every chunk on a new thread, as IIS notifications may come
        thread = threading.Thread(target=lambda p=piece: out.append(stream.feed(p)))
        thread.start()
        thread.join(5)
    out.append(stream.finish())
    assert b"".join(out) == run_filter(Tidy, PAGE)[2]


def test_handlers_see_the_feeding_threads_context_variables():
    import contextvars

    user = contextvars.ContextVar("user", default="nobody")
    seen = []

    class WhoIsIt(Rewriter):
        @on("p")
        def p(self, element, environ):
            seen.append(user.get())

    user.set("alice")
    run_filter(WhoIsIt, b"<p>x</p>")
    assert seen == ["alice"]


def freed(gone) -> bool:
    """Whether the weakly referenced object is gone, given its engine thread a moment
    (the engine is freed on its own thread)."""
    for _ in range(100):
        if gone() is None:
            return True
        threading.Event().wait(0.01)
    return gone() is None


def test_nothing_of_a_response_outlives_it_without_the_garbage_collector():
    class Marker(dict):
        pass

    environ = Marker(PATH_INFO="/")
    gone = weakref.ref(environ)
    gc.disable()
    try:
        run_filter(Tidy, PAGE, chunks=3, environ=environ)
        stream = Tidy().stream(environ, Headers(list(UTF8)))
        stream.feed(PAGE[:50])  # a response dropped half way, as when the client goes away
        del stream, environ
        assert freed(gone)
    finally:
        gc.enable()


def test_a_failed_response_leaves_nothing_behind_either():
    environ: dict = {}
    with pytest.raises(KeyError):
        stream = Boom().stream(environ, Headers(list(UTF8)))
        stream.feed(FAILING)
    del stream
    gc.collect()
    assert sys.getrefcount(environ) == 2  # only this frame and the call


def test_a_failed_response_leaves_nothing_behind_without_the_garbage_collector():
    class Marker(dict):
        pass

    environ = Marker()
    gone = weakref.ref(environ)
    gc.disable()
    try:
        with pytest.raises(KeyError):
            stream = Boom().stream(environ, Headers(list(UTF8)))
            stream.feed(FAILING)
        del stream, environ
        assert freed(gone)
    finally:
        gc.enable()


def test_the_package_imports_without_the_extra_and_building_a_rewriter_names_it():
    code = (
        "import sys; sys.modules['lolhtml'] = None\n"
        "from dualfilter.html import Rewriter, on\n"
        "class R(Rewriter):\n"
        "    @on('p')\n"
        "    def p(self, element, environ): pass\n"
        "try:\n"
        "    R()\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": root}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True, env=env, cwd=root
    )
    assert "dualfilter[html]" in result.stdout


def test_an_engine_is_never_freed_on_a_foreign_thread(monkeypatch):
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    streams = []
    feeder = threading.Thread(target=lambda: streams.append(Tidy().stream({}, Headers(list(UTF8)))) or streams[0].feed(PAGE[:40]))
    feeder.start()
    feeder.join(5)
    streams.clear()  # dropped here, half way, on neither the feeding nor the engine's thread
    with pytest.raises(KeyError):
        failing = Boom().stream({}, Headers(list(UTF8)))
        failing.feed(FAILING)
    del failing
    for _ in range(50):  # the engine threads free what they hold, then go idle
        threading.Event().wait(0.01)
    gc.collect()
    assert unraisable == []


def test_an_async_handler_is_refused_when_the_rewriter_is_built():
    # It would return a coroutine nobody awaits, and the page would go out unedited.
    class Late(Rewriter):
        @on("a")
        async def mark(self, element, environ):
            element.set_attribute("rel", "nofollow")

    with pytest.raises(TypeError, match="Late.mark"):
        Late()


def test_an_async_end_is_refused_when_the_rewriter_is_built():
    class LateEnd(Rewriter):
        async def end(self, document, environ):
            document.append("<hr>", html=True)

    with pytest.raises(TypeError, match="LateEnd.end"):
        LateEnd()


@pytest.mark.parametrize("encoding", ["gb18030", "latin-1"])
def test_an_output_encoding_other_than_utf8_is_refused_when_the_rewriter_is_built(encoding):
    # What the page's charset cannot hold goes out as UTF-8: the option would be ignored.
    class Plain(Rewriter):
        pass

    with pytest.raises(ValueError, match="output_encoding"):
        Plain(output_encoding=encoding)
    assert Plain(output_encoding="UTF8").output_encoding == "UTF8"


@pytest.mark.parametrize("chunks", [1, 2])
def test_an_attribute_name_the_pages_charset_cannot_hold_is_refused(chunks):
    # HTML reads no character reference in a name: data-&#233; would be another attribute (lol-html's rule).
    class Named(Rewriter):
        @on("b")
        def tag(self, element, environ):
            element.set_attribute("data-\u00e9", "1")

    page = b"<p>" + b"x" * 50 + b"</p><b>y</b>"
    with pytest.raises(ValueError, match="cannot be written in the page's charset"):
        run_filter(Named, page, content_type="text/html; charset=koi8-r", chunks=chunks, raise_errors=True)
    assert run_filter(Named, page, content_type="text/html; charset=utf-8")[2].endswith('<b data-\u00e9="1">y</b>'.encode())
