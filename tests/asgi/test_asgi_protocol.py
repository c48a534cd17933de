"""The ASGI message protocol: what reaches the server for passthrough and filtered responses."""

from __future__ import annotations

import asyncio
import inspect

import anyio
import pytest

from dualfilter import Filter, ProtocolError
from dualfilter.asgi import FilterMiddleware
from tests.support.asgi_harness import HTML, UpperFilter, body, call, make_scope, raw_app, start


class UpperStream:
    """A stream that upper-cases each chunk as it comes."""

    def feed(self, data):
        return data.upper()

    def finish(self):
        return b""


class StreamingUpperFilter(Filter):
    def stream(self, environ, headers):
        return UpperStream()


def test_the_middleware_call_is_a_coroutine_function():
    wrapped = UpperFilter.asgi(raw_app())
    assert isinstance(wrapped, FilterMiddleware)
    assert inspect.iscoroutinefunction(wrapped.__call__)


def test_uvicorn_detects_asgi3():
    import uvicorn

    config = uvicorn.Config(UpperFilter.asgi(raw_app()))
    config.load()
    assert config.interface == "asgi3"


def test_hypercorn_detects_asgi():
    from hypercorn.utils import is_asgi

    assert is_asgi(UpperFilter.asgi(raw_app()))


def test_calling_the_filter_class_on_an_asgi_app_detects_the_host():
    assert isinstance(UpperFilter(raw_app()), FilterMiddleware)


def test_the_app_may_be_given_by_keyword_with_options():
    wrapped = UpperFilter(app=raw_app(), filter_all_status=True)
    assert isinstance(wrapped, FilterMiddleware)
    assert wrapped.filter.filter_all_status is True


async def test_a_filtered_response_leaves_as_one_start_and_one_final_body():
    app = UpperFilter.asgi(raw_app(start(), body(b"<p>a</p>", more=True), body(b"<p>b</p>", more=True), body(b"")))
    exchange = await call(app)
    assert exchange.types == ["http.response.start", "http.response.body"]
    assert exchange.messages[1] == {"type": "http.response.body", "body": b"<P>A</P><P>B</P>", "more_body": False}


async def test_a_filtered_response_gets_a_content_length_for_the_new_body():
    app = UpperFilter.asgi(raw_app(start(), body(b"<p>abc</p>")))
    exchange = await call(app)
    assert exchange.headers[b"content-length"] == b"10"


async def test_header_names_sent_are_lower_case_bytes():
    app = UpperFilter.asgi(raw_app(start(), body(b"<p>x</p>")))
    exchange = await call(app)
    for name, value in exchange.start["headers"]:
        assert type(name) is bytes and type(value) is bytes
        assert name == name.lower()


async def test_the_filter_sees_str_headers_in_a_case_insensitive_collection():
    seen = {}

    class Peek(Filter):
        def filter(self, environ, headers, data):
            seen["content-type"] = headers["Content-Type"]
            seen["names"] = [type(name) for name, _ in headers.items()]
            headers["X-Filtered"] = "yes"
            return data

    app = Peek.asgi(raw_app(start(), body(b"<p>x</p>")))
    exchange = await call(app)
    assert seen == {"content-type": HTML, "names": [str]}
    assert exchange.headers[b"x-filtered"] == b"yes"


async def test_a_passthrough_response_forwards_the_app_messages_themselves():
    messages = [start("image/png"), body(b"\x89PNG", more=True), body(b"rest", more=True), body(b"")]
    exchange = await call(UpperFilter.asgi(raw_app(*messages)))
    assert len(exchange.messages) == len(messages)
    assert all(sent is original for sent, original in zip(exchange.messages, messages, strict=True))


async def test_passthrough_does_not_touch_the_machine_after_the_start(monkeypatch):
    from dualfilter.machine import ResponseMachine

    def refuse(self, data):
        raise AssertionError("body() called for a passthrough response")

    monkeypatch.setattr(ResponseMachine, "body", refuse)
    exchange = await call(UpperFilter.asgi(raw_app(start("text/plain"), body(b"a", more=True), body(b"b"))))
    assert exchange.body == b"ab"


@pytest.mark.parametrize("content_type", ["text/html", "image/png"])
async def test_a_response_filtered_or_passed_through_starts_no_task(content_type):
    loop = asyncio.get_running_loop()
    created = []
    default_factory = loop.get_task_factory()

    def counting_factory(loop, coro, **kwargs):
        created.append(coro)
        return default_factory(loop, coro, **kwargs) if default_factory else asyncio.Task(coro, loop=loop, **kwargs)

    loop.set_task_factory(counting_factory)
    try:
        exchange = await call(UpperFilter.asgi(raw_app(start(content_type), body(b"<p>", more=True), body(b"x</p>"))))
    finally:
        loop.set_task_factory(default_factory)
    assert exchange.body in (b"<P>X</P>", b"<p>x</p>")
    assert created == []


async def test_a_streamed_response_of_many_small_chunks_is_filtered_whole():
    chunks = [body(b"<i>%d</i>" % i, more=True) for i in range(200)]
    app = UpperFilter.asgi(raw_app(start(), *chunks, body(b"")))
    exchange = await call(app)
    assert exchange.body == b"".join(b"<I>%d</I>" % i for i in range(200))
    assert exchange.types == ["http.response.start", "http.response.body"]


async def test_a_response_whose_body_message_omits_more_body_ends_there():
    app = UpperFilter.asgi(raw_app(start(), {"type": "http.response.body", "body": b"<b>x</b>"}))
    exchange = await call(app)
    assert exchange.body == b"<B>X</B>"


async def test_a_start_with_no_body_message_for_an_empty_filtered_body_sends_an_empty_final_body():
    app = UpperFilter.asgi(raw_app(start(), body(b"")))
    exchange = await call(app)
    assert exchange.types == ["http.response.start", "http.response.body"]
    assert exchange.messages[1]["more_body"] is False
    assert exchange.headers[b"content-length"] == b"0"


async def test_memoryview_chunks_are_filtered_like_bytes():
    app = UpperFilter.asgi(raw_app(start(), body(memoryview(b"<p>m</p>"), more=True), body(b"")))
    exchange = await call(app)
    assert exchange.body == b"<P>M</P>"


async def test_trailers_announced_by_the_app_follow_the_filtered_body():
    trailers = {"type": "http.response.trailers", "headers": [(b"x-checksum", b"abc")], "more_trailers": False}
    app = UpperFilter.asgi(raw_app(start(trailers=True), body(b"<p>t</p>"), trailers))
    exchange = await call(app)
    assert exchange.types == ["http.response.start", "http.response.body", "http.response.trailers"]
    assert exchange.start["trailers"] is True
    assert exchange.messages[1] == {"type": "http.response.body", "body": b"<P>T</P>", "more_body": False}
    assert exchange.messages[2]["headers"] == [(b"x-checksum", b"abc")]


DIGESTS = [(b"content-digest", b"sha-256=:a=:"), (b"repr-digest", b"sha-256=:a=:"), (b"content-md5", b"x"), (b"etag", b'"v1"')]


@pytest.mark.parametrize("streaming", [False, True], ids=["buffered", "streamed"])
async def test_trailers_that_describe_the_unfiltered_body_are_dropped_with_it(streaming):
    # RFC 9530: digests go as trailers of a streamed body; of the app's body, they are false of the filtered one.
    trailers = {"type": "http.response.trailers", "headers": [*DIGESTS, (b"x-checksum", b"abc")], "more_trailers": False}
    message = start(trailers=True)
    message["headers"].append((b"trailer", b"Content-Digest, Repr-Digest, Content-MD5, ETag, X-Checksum"))
    flt = StreamingUpperFilter if streaming else UpperFilter
    exchange = await call(flt.asgi(raw_app(message, body(b"<p>t</p>"), trailers)))
    assert exchange.body == b"<P>T</P>"
    assert exchange.messages[-1]["headers"] == [(b"x-checksum", b"abc")]
    assert exchange.headers[b"trailer"] == b"X-Checksum"


async def test_a_head_of_a_filtered_page_drops_the_trailers_its_get_drops():
    trailers = {"type": "http.response.trailers", "headers": [*DIGESTS, (b"x-checksum", b"abc")], "more_trailers": False}
    message = start(trailers=True)
    message["headers"].append((b"trailer", b"Content-Digest, ETag, X-Checksum"))
    exchange = await call(UpperFilter.asgi(raw_app(message, body(b"<p>t</p>"), trailers)), make_scope(method="HEAD"))
    assert exchange.body == b""
    assert exchange.messages[-1]["headers"] == [(b"x-checksum", b"abc")]
    assert exchange.headers[b"trailer"] == b"X-Checksum"


@pytest.mark.parametrize(
    "pairs",
    [[(b"x-a", b"1"), ("content-type", "text/html")], [(b"x-a", b"1"), (b"content-type", "text/html")]],
    ids=["str-pair-after-bytes", "str-value"],
)
async def test_header_pairs_partly_given_as_str_are_read_as_latin1(pairs):
    # h11-based servers take str pairs; a page whose Content-Type is one must not pass unread.
    started = {"type": "http.response.start", "status": 200, "headers": pairs}
    exchange = await call(UpperFilter.asgi(raw_app(started, body(b"<p>x</p>"))))
    assert exchange.body == b"<P>X</P>"


async def test_trailers_sent_in_several_messages_are_joined():
    first = {"type": "http.response.trailers", "headers": [(b"x-a", b"1")], "more_trailers": True}
    second = {"type": "http.response.trailers", "headers": [(b"x-b", b"2")], "more_trailers": False}
    app = UpperFilter.asgi(raw_app(start(trailers=True), body(b"<p>t</p>"), first, second))
    exchange = await call(app)
    assert exchange.messages[-1]["headers"] == [(b"x-a", b"1"), (b"x-b", b"2")]


async def test_trailers_of_a_passthrough_response_are_forwarded():
    trailers = {"type": "http.response.trailers", "headers": [(b"x-a", b"1")], "more_trailers": False}
    app = UpperFilter.asgi(raw_app(start("text/plain", trailers=True), body(b"x"), trailers))
    exchange = await call(app)
    assert exchange.messages[-1] is trailers


async def test_a_head_request_passes_through_without_the_length_of_the_unfiltered_body():
    message = start()
    message["headers"].append((b"content-length", b"8"))
    app = UpperFilter.asgi(raw_app(message, body(b"")))
    exchange = await call(app, make_scope(method="HEAD"))
    assert exchange.status == 200
    assert b"content-length" not in exchange.headers
    assert exchange.headers[b"content-type"] == HTML.encode()


async def test_an_error_status_passes_through_unfiltered():
    app = UpperFilter.asgi(raw_app(start(status=404), body(b"<p>missing</p>")))
    exchange = await call(app)
    assert (exchange.status, exchange.body) == (404, b"<p>missing</p>")


async def test_a_body_larger_than_max_buffer_size_gets_a_502_by_default():
    app = UpperFilter.asgi(
        raw_app(start(), body(b"x" * 60, more=True), body(b"y" * 60, more=True), body(b"")), max_buffer_size=100
    )
    exchange = await call(app)
    assert exchange.status == 502
    assert exchange.types == ["http.response.start", "http.response.body"]


async def test_a_body_larger_than_max_buffer_size_goes_out_unfiltered_with_oversize_pass():
    chunks = [body(b"<a>" * 20, more=True), body(b"<b>" * 20, more=True), body(b"<c>", more=True), body(b"")]
    app = UpperFilter.asgi(raw_app(start(), *chunks), max_buffer_size=100, oversize="pass")
    exchange = await call(app)
    assert exchange.status == 200
    assert exchange.body == b"<a>" * 20 + b"<b>" * 20 + b"<c>"
    assert exchange.messages[-1] is chunks[-1]


async def test_oversize_pass_on_the_final_chunk_still_ends_the_body():
    app = UpperFilter.asgi(raw_app(start(), body(b"<a>" * 40)), max_buffer_size=100, oversize="pass")
    exchange = await call(app)
    assert exchange.body == b"<a>" * 40
    assert exchange.messages[-1]["more_body"] is False


async def test_a_message_type_unknown_before_the_start_is_forwarded():
    hint = {"type": "http.response.early_hint", "links": ["</style.css>; rel=preload"]}
    exchange = await call(UpperFilter.asgi(raw_app(hint, start(), body(b"<p>x</p>"))))
    assert exchange.messages[0] is hint
    assert exchange.body == b"<P>X</P>"


PAGE = b"<html><body><p>hello zero copy</p></body></html>"


@pytest.fixture
def page_file(tmp_path):
    """An open file holding PAGE, as an app hands it to ``http.response.zerocopysend``."""
    path = tmp_path / "page.html"
    path.write_bytes(PAGE)
    with open(path, "rb") as file:
        yield file


def zerocopysend(file, **keys):
    """An ``http.response.zerocopysend`` message."""
    return {"type": "http.response.zerocopysend", "file": file, **keys}


async def test_a_filtered_body_sent_by_zerocopysend_is_read_from_offset_for_count_bytes(page_file):
    exchange = await call(UpperFilter.asgi(raw_app(start(), zerocopysend(page_file, offset=12, count=26))))
    assert exchange.types == ["http.response.start", "http.response.body"]
    assert exchange.body == PAGE[12:38].upper()
    assert exchange.headers[b"content-length"] == b"26"


async def test_zerocopysend_without_offset_reads_from_the_current_position_of_the_file(page_file):
    page_file.seek(12)
    exchange = await call(UpperFilter.asgi(raw_app(start(), zerocopysend(page_file, count=26))))
    assert exchange.body == PAGE[12:38].upper()


async def test_zerocopysend_without_count_reads_to_the_end_of_the_file(page_file):
    exchange = await call(UpperFilter.asgi(raw_app(start(), zerocopysend(page_file, offset=6))))
    assert exchange.body == PAGE[6:].upper()


async def test_a_zerocopysend_window_larger_than_a_read_chunk_is_read_whole(tmp_path):
    from dualfilter.asgi.responder import FILE_CHUNK

    data = b"<p>" + b"x" * (3 * FILE_CHUNK) + b"</p>"
    (tmp_path / "big.html").write_bytes(data)
    with open(tmp_path / "big.html", "rb") as file:
        exchange = await call(UpperFilter.asgi(raw_app(start(), zerocopysend(file, offset=1, count=2 * FILE_CHUNK + 5))))
    assert exchange.body == data[1 : 2 * FILE_CHUNK + 6].upper()


async def test_zerocopysend_with_more_body_is_filtered_with_the_body_messages_around_it(page_file):
    app = raw_app(start(), body(b"<div>", more=True), zerocopysend(page_file, offset=0, more_body=True), body(b"</div>"))
    exchange = await call(UpperFilter.asgi(app))
    assert exchange.types == ["http.response.start", "http.response.body"]
    assert exchange.body == b"<DIV>" + PAGE.upper() + b"</DIV>"


async def test_a_zerocopysend_of_a_passthrough_response_goes_to_the_server_as_sent(page_file):
    message = zerocopysend(page_file, offset=0, count=len(PAGE))
    exchange = await call(UpperFilter.asgi(raw_app(start("image/png"), message)))
    assert exchange.messages[1] is message


async def test_a_message_type_the_filter_does_not_know_after_the_start_of_a_filtered_response_is_refused():
    unknown = {"type": "http.response.sendfile", "fd": 3}  # it may carry body the filter would miss
    with pytest.raises(ProtocolError):
        await call(UpperFilter.asgi(raw_app(start(), unknown)))


PUSH = {"type": "http.response.push", "path": "/style.css", "headers": []}
HINT = {"type": "http.response.early_hint", "links": [b"</style.css>; rel=preload; as=style"]}


async def test_a_push_sent_after_the_start_of_a_filtered_response_follows_the_filtered_start():
    exchange = await call(UpperFilter.asgi(raw_app(start(), PUSH, body(b"<p>x</p>"))))
    assert exchange.types == ["http.response.start", "http.response.push", "http.response.body"]
    assert exchange.messages[1] is PUSH and exchange.body == b"<P>X</P>"


async def test_pushes_held_with_the_start_go_out_in_the_order_the_app_sent_them():
    second = {**PUSH, "path": "/app.js"}
    exchange = await call(UpperFilter.asgi(raw_app(start(), PUSH, body(b"<p>", more=True), second, body(b"x</p>"))))
    assert [m for m in exchange.messages if m["type"] == "http.response.push"] == [PUSH, second]
    assert exchange.types[-1] == "http.response.body"


async def test_a_push_of_a_streamed_response_goes_on_at_once_once_its_start_is_out():
    class Streamed(Filter):
        def stream(self, environ, headers):
            return UpperStream()

    late = {**PUSH, "path": "/late.css"}
    exchange = await call(Streamed.asgi(raw_app(start(), PUSH, body(b"<p>a</p>", more=True), late, body(b"<p>b</p>"))))
    assert exchange.types[:4] == ["http.response.start", "http.response.push", "http.response.body", "http.response.push"]
    assert exchange.messages[3] is late and exchange.body == b"<P>A</P><P>B</P>"


async def test_an_early_hint_after_the_start_of_a_filtered_response_goes_on_before_the_held_start():
    exchange = await call(UpperFilter.asgi(raw_app(start(), HINT, body(b"<p>x</p>"))))
    assert exchange.types == ["http.response.early_hint", "http.response.start", "http.response.body"]
    assert exchange.messages[0] is HINT


async def test_an_extension_message_before_the_start_of_the_second_answer_goes_on_after_a_redispatch():
    debug = {"type": "http.response.debug", "info": {"template": "page.html", "context": {}}}

    async def app(scope, receive, send):
        if any(name == b"if-none-match" for name, _ in scope["headers"]):
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", b'"v1"')]})
            await send(body(b""))
            return
        await send(debug)
        await send(start())
        await send(body(b"<p>x</p>"))

    scope = make_scope(headers=[(b"host", b"example.com"), (b"if-none-match", b'"v1"')])
    exchange = await call(UpperFilter.asgi(app), scope)
    assert exchange.types == ["http.response.debug", "http.response.start", "http.response.body"]
    assert (exchange.status, exchange.body) == (200, b"<P>X</P>")


async def test_a_push_of_the_answer_dropped_for_a_redispatch_is_not_sent():
    async def app(scope, receive, send):
        if any(name == b"if-none-match" for name, _ in scope["headers"]):
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", b'"v1"')]})
            await send({**PUSH, "path": "/from-the-304.css"})
            await send(body(b""))
            return
        await send(start())
        await send(PUSH)
        await send(body(b"<p>x</p>"))

    scope = make_scope(headers=[(b"host", b"example.com"), (b"if-none-match", b'"v1"')])
    exchange = await call(UpperFilter.asgi(app), scope)
    assert exchange.types == ["http.response.start", "http.response.push", "http.response.body"]
    assert exchange.messages[1] is PUSH


async def test_a_body_sent_after_the_filtered_response_ended_is_a_protocol_error():
    with pytest.raises(ProtocolError):
        await call(UpperFilter.asgi(raw_app(start(), body(b"<p>x</p>"), body(b"late"))))


async def test_receive_reaches_the_app_untouched():
    seen = {}

    async def app(scope, receive, send):
        seen["receive"] = receive
        seen["request"] = await receive()
        await send(start())
        await send(body(b"<p>ok</p>"))

    wrapped = UpperFilter.asgi(app)
    exchange = await call(wrapped, body=b"posted data")
    assert seen["request"] == {"type": "http.request", "body": b"posted data", "more_body": False}
    assert seen["receive"] == exchange.receive


@pytest.mark.parametrize("header", [b"range", b"if-range", b"if-none-match", b"if-modified-since"])
async def test_range_and_conditional_headers_of_a_safe_request_reach_the_app(header):
    seen = {}

    async def app(scope, receive, send):
        seen["names"] = [name for name, _ in scope["headers"]]
        await send(start())
        await send(body(b"<p>x</p>"))

    original = [(b"host", b"example.com"), (header, b"x"), (b"accept", b"*/*")]
    scope = make_scope(headers=original)
    await call(UpperFilter.asgi(app), scope)
    assert seen["names"] == [b"host", header, b"accept"]
    assert scope["headers"] == original  # the server's scope is not modified


async def test_a_304_of_a_filtered_type_makes_the_app_asked_again_without_conditionals():
    asked = []

    async def app(scope, receive, send):
        names = [name for name, _ in scope["headers"]]
        asked.append(names)
        if b"if-none-match" in names:
            await send({"type": "http.response.start", "status": 304, "headers": [(b"etag", b'"v1"')]})
            await send(body(b""))
            return
        await send(start())
        await send(body(b"<p>x</p>"))

    scope = make_scope(headers=[(b"host", b"example.com"), (b"if-none-match", b'"v1"')])
    exchange = await call(UpperFilter.asgi(app), scope)
    assert asked == [[b"host", b"if-none-match"], [b"host"]]
    assert (exchange.status, exchange.body) == (200, b"<P>X</P>")


async def test_a_304_the_client_never_asked_for_passes_without_a_body_and_the_app_is_asked_once():
    asked = []

    async def app(scope, receive, send):
        asked.append(scope["path"])
        await send({"type": "http.response.start", "status": 304, "headers": [(b"content-type", b"text/html")]})
        await send(body(b"stray"))

    exchange = await call(UpperFilter.asgi(app), make_scope())
    assert (exchange.status, exchange.body) == (304, b"") and asked == ["/"]


async def test_conditional_request_headers_stay_without_force_no_conditional():
    seen = {}

    async def app(scope, receive, send):
        seen["names"] = [name for name, _ in scope["headers"]]
        await send(start())
        await send(body(b"<p>x</p>"))

    scope = make_scope(headers=[(b"if-none-match", b'"v1"'), (b"range", b"bytes=0-1")])
    await call(UpperFilter.asgi(app, force_no_conditional=False), scope)
    assert seen["names"] == [b"if-none-match", b"range"]


async def test_a_redispatch_asks_the_request_as_it_came_though_the_app_rewrote_its_scope():
    seen = []

    async def app(scope, receive, send):
        seen.append((scope["path"], [name for name, _ in scope["headers"]]))
        scope["path"] = "/rewritten-by-a-router"
        if any(name == b"if-none-match" for name, _ in scope["headers"]):
            await send({"type": "http.response.start", "status": 304, "headers": [(b"content-type", b"text/html")]})
            await send(body(b""))
            return
        await send(start())
        await send(body(b"<p>x</p>"))

    scope = make_scope("/page", headers=[(b"host", b"x"), (b"if-none-match", b'"v1"')])
    exchange = await call(UpperFilter.asgi(app), scope)
    assert exchange.start["status"] == 200 and exchange.body == b"<P>X</P>"
    assert seen == [("/page", [b"host", b"if-none-match"]), ("/page", [b"host"])]


async def test_what_the_app_writes_in_its_scope_reaches_the_middleware_around_the_filter():
    # Starlette's router sets scope["route"] and path_params on the scope it is given;
    # metrics and tracing middleware outside read them after the call, as without the filter.
    async def app(scope, receive, send):
        scope["route"], scope["path_params"] = "/users/{id}", {"id": "7"}
        await send(start())
        await send(body(b"<p>x</p>"))

    for headers in ([(b"host", b"x")], [(b"host", b"x"), (b"if-none-match", b'"v1"')]):
        for options in ({}, {"force_no_conditional": False}):  # the headers shown as sent, and translated
            scope = make_scope("/users/7", headers=headers)
            await call(UpperFilter.asgi(app, **options), scope)
            assert (scope["route"], scope["path_params"]) == ("/users/{id}", {"id": "7"})
            assert [name for name, _ in scope["headers"]] == [name for name, _ in headers]  # as the server gave them


async def test_request_headers_given_as_an_iterator_reach_the_app_and_the_filter():
    seen = {}

    class Reads(UpperFilter):
        def filter(self, environ, headers, data):
            seen["host"] = environ.get("HTTP_HOST")
            return data.upper()

    async def app(scope, receive, send):
        seen["headers"] = list(scope["headers"])
        await send(start())
        await send(body(b"<p>x</p>"))

    pairs = [(b"host", b"shop.example"), (b"accept", b"text/html")]
    exchange = await call(Reads.asgi(app), make_scope(headers=iter(pairs)))
    assert exchange.body == b"<P>X</P>"
    assert seen == {"headers": pairs, "host": "shop.example"}


async def test_a_conditional_header_in_capitals_is_read_as_one_for_a_redispatch():
    # Header names "should be lowercased, but it is not required" (ASGI HTTP spec): the
    # request is seen for one that may be asked again, so an app that returns only after
    # the disconnect (Quart) is told its dropped answer has ended.
    async def app(scope, receive, send):
        conditional = any(name.lower() == b"if-none-match" for name, _ in scope["headers"])
        if conditional:
            await send({"type": "http.response.start", "status": 304, "headers": [(b"content-type", b"text/html")]})
            await send(body(b""))
        else:
            await send(start())
            await send(body(b"<p>x</p>"))
        for _ in range(3):  # bounded: the disconnect comes first
            if (await receive())["type"] == "http.disconnect":
                return
        raise AssertionError("no disconnect")

    scope = make_scope(headers=[(b"Host", b"x"), (b"If-None-Match", b'"v1"')])
    exchange = await asyncio.wait_for(call(UpperFilter.asgi(app), scope), 5)
    assert (exchange.start["status"], exchange.body) == (200, b"<P>X</P>")


async def test_the_apps_connection_close_stays_on_a_filtered_response():
    # ASGI servers read an app's "connection: close" as the instruction to close after
    # the response (uvicorn, hypercorn, granian): a field of the connection, not the page.
    async def app(scope, receive, send):
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html"), (b"connection", b"Keep-Alive, close")],
            }
        )
        await send(body(b"<p>x</p>"))

    exchange = await call(UpperFilter.asgi(app))
    assert exchange.body == b"<P>X</P>"
    assert [value for name, value in exchange.start["headers"] if name == b"connection"] == [b"close"]
    plain = await call(UpperFilter.asgi(raw_app(start(), body(b"<p>x</p>"))))
    assert all(name != b"connection" for name, _ in plain.start["headers"])


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
async def test_non_http_scopes_go_to_the_app_with_the_same_scope_receive_and_send(kind):
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope=scope, receive=receive, send=send)

    async def receive():
        raise AssertionError("not called")

    async def send(message):
        raise AssertionError("not called")

    scope = {"type": kind, "asgi": {"version": "3.0"}}
    await UpperFilter.asgi(app)(scope, receive, send)
    assert seen == {"scope": scope, "receive": receive, "send": send}


async def test_headers_given_as_a_generator_all_reach_the_client_when_passing_through():
    async def app(scope, receive, send):
        pairs = [(b"content-type", b"image/png"), (b"x-one", b"1"), (b"x-two", b"2")]
        await send({"type": "http.response.start", "status": 200, "headers": (pair for pair in pairs)})
        await send(body(b"png"))

    exchange = await call(UpperFilter.asgi(app))
    assert list(exchange.start["headers"]) == [(b"content-type", b"image/png"), (b"x-one", b"1"), (b"x-two", b"2")]


async def test_headers_given_as_a_generator_are_read_once_for_a_filtered_response():
    async def app(scope, receive, send):
        pairs = [(b"content-type", b"text/html"), (b"x-one", b"1")]
        await send({"type": "http.response.start", "status": 200, "headers": (pair for pair in pairs)})
        await send(body(b"<p>x</p>"))

    exchange = await call(UpperFilter.asgi(app))
    assert exchange.headers[b"x-one"] == b"1" and exchange.body == b"<P>X</P>"


async def test_a_receive_in_a_cancelled_scope_gets_what_the_server_has_queued_when_the_app_may_be_asked_again():
    # Starlette's Request.is_disconnected() receives in a cancelled scope and counts on a
    # queued message coming back at once, as from the server's own receive.
    from dualfilter.asgi.redispatch import FirstCall

    async def server():
        return {"type": "http.disconnect"}

    first = FirstCall(server)
    with anyio.CancelScope() as scope:
        scope.cancel()
        message = await first.receive()
    assert message == {"type": "http.disconnect"}


async def test_a_receive_waiting_on_the_server_says_disconnect_once_the_dropped_answer_ended():
    from dualfilter.asgi.redispatch import FirstCall

    never = anyio.Event()

    async def server():
        await never.wait()
        return {"type": "http.request", "body": b"", "more_body": False}

    first = FirstCall(server)
    got = []

    async def app_listens():
        got.append(await first.receive())

    with anyio.fail_after(5):
        async with anyio.create_task_group() as group:
            group.start_soon(app_listens)
            await anyio.sleep(0.01)
            first.dropped()
    assert got == [{"type": "http.disconnect"}]


async def test_header_pairs_given_as_str_are_read_as_latin1_as_h11_reads_them():
    # The spec says bytes; h11-based servers take str, and a page so sent must not pass unfiltered.
    app = raw_app({"type": "http.response.start", "status": 200, "headers": [("content-type", "text/html")]}, body(b"<p>x</p>"))
    exchange = await call(UpperFilter.asgi(app))
    assert exchange.body == b"<P>X</P>"
