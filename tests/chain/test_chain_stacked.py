"""Separately stacked filters, ``A(B(app))``, hand the parsed body on when directly adjacent."""

from __future__ import annotations

import gc

import httpx
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import HTMLResponse
from starlette.routing import Route

from dualfilter import Filter, chain
from dualfilter.testing import run_filter
from tests.support.chain_hosts import wsgi_get

from .chain_filters import AddParagraph, CountingHTML, JSONOnly, MarkBody, UpperStream

PAGE = b"<!DOCTYPE html><html><head><title>t</title></head><body><p>caf\xc3\xa9</p></body></html>"
HEADERS = [("Content-Type", "text/html; charset=utf-8")]


def three(fmt):
    """Three lxml filters sharing ``fmt`` (outermost first)."""
    return MarkBody(format=fmt, mark="outer"), AddParagraph(format=fmt), MarkBody(format=fmt, mark="inner")


def expected():
    return run_filter(chain(*three(CountingHTML())), PAGE)[2]


# -- built once: A(B(app)) is one middleware running chain(A, B) --------------------------


def test_a_filter_around_a_wsgi_filter_middleware_is_one_middleware_running_their_chain():
    from dualfilter.wsgi import FilterMiddleware

    app = MarkBody(AddParagraph(wsgi_app), mark="outer")
    assert type(app) is FilterMiddleware and app.app is wsgi_app
    assert [type(stage) for stage in app.filter.stages] == [MarkBody, AddParagraph]
    assert app.filter.stages[0].mark == "outer"


def test_a_filter_around_an_asgi_filter_middleware_is_one_middleware_running_their_chain():
    from dualfilter.asgi import FilterMiddleware

    inner = starlette_app()
    app = MarkBody.asgi(AddParagraph.asgi(inner))
    assert type(app) is FilterMiddleware and app.app is inner
    assert [type(stage) for stage in app.filter.stages] == [MarkBody, AddParagraph]


def test_a_failing_stage_of_stacked_middlewares_is_the_clean_500():
    class Broken(MarkBody):
        def filter(self, environ, headers, data):
            raise RuntimeError("boom")

    status, _, body = wsgi_get(MarkBody(Broken(wsgi_app)))
    assert status.startswith("500") if isinstance(status, str) else status == 500
    assert b"boom" not in body


# -- WSGI -------------------------------------------------------------------------------


def wsgi_app(environ, start_response):
    start_response("200 OK", list(HEADERS))
    return [PAGE]


def test_adjacent_wsgi_middlewares_parse_once():
    fmt = CountingHTML()
    app = MarkBody(AddParagraph(MarkBody(wsgi_app, format=fmt, mark="inner"), format=fmt), format=fmt, mark="outer")
    assert wsgi_get(app)[2] == expected()
    assert (fmt.parses, fmt.serializations) == (1, 1)


@pytest.mark.parametrize("layout", ["chain around a filter", "filter around a chain"])
def test_chains_stacked_with_filters_share_the_tree_too(layout):
    fmt = CountingHTML()
    outer, middle, inner = three(fmt)
    if layout == "chain around a filter":
        app = chain(outer, middle).wsgi(type(inner).wsgi(wsgi_app, format=fmt, mark="inner"))
    else:
        app = MarkBody(chain(middle, inner).wsgi(wsgi_app), format=fmt, mark="outer")
    assert wsgi_get(app)[2] == expected()
    assert (fmt.parses, fmt.serializations) == (1, 1)


def foreign_start_response(app):
    """A WSGI middleware that wraps start_response (and so sees the headers)."""

    def middleware(environ, start_response):
        return app(environ, lambda status, headers, exc_info=None: start_response(status, headers, exc_info))

    return middleware


def foreign_iterable(app):
    """A WSGI middleware that passes start_response on but re-yields the body."""

    def middleware(environ, start_response):
        yield from app(environ, start_response)

    return middleware


@pytest.mark.parametrize("foreign", [foreign_start_response, foreign_iterable])
def test_a_foreign_wsgi_middleware_between_them_gets_bytes(foreign):
    fmt = CountingHTML()
    inner = MarkBody(wsgi_app, format=fmt, mark="inner")
    middle = AddParagraph(inner, format=fmt)
    app = MarkBody(foreign(middle), format=fmt, mark="outer")
    assert wsgi_get(app)[2] == expected()
    assert (fmt.parses, fmt.serializations) == (2, 2)


def test_an_outer_wsgi_filter_that_streams_gets_the_body_as_bytes():
    status, headers, body = wsgi_get(UpperStream(MarkBody(wsgi_app)))
    assert body == run_filter(MarkBody, PAGE)[2].upper()


def test_an_outer_wsgi_filter_that_does_not_apply_passes_the_serialized_body_with_its_length():
    status, headers, body = wsgi_get(JSONOnly(MarkBody(wsgi_app)))
    assert body == run_filter(MarkBody, PAGE)[2]
    assert dict(headers)["Content-Length"] == str(len(body))


# -- ASGI -------------------------------------------------------------------------------


async def get(app) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.get("/")


def starlette_app(*middleware):
    async def index(request):
        return HTMLResponse(PAGE)

    return Starlette(routes=[Route("/", index)], middleware=list(middleware))


async def test_adjacent_asgi_middlewares_parse_once():
    fmt = CountingHTML()
    response = await get(
        starlette_app(
            Middleware(MarkBody, format=fmt, mark="outer"),
            Middleware(AddParagraph, format=fmt),
            Middleware(MarkBody, format=fmt, mark="inner"),
        )
    )
    assert response.content == expected()
    assert (fmt.parses, fmt.serializations) == (1, 1)


class ForeignSend:
    """A pure ASGI middleware that wraps ``send``."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        async def relay(message):
            await send(message)

        await self.app(scope, receive, relay)


async def test_a_foreign_asgi_middleware_between_them_gets_bytes():
    fmt = CountingHTML()
    response = await get(
        starlette_app(
            Middleware(MarkBody, format=fmt, mark="outer"),
            Middleware(ForeignSend),
            Middleware(AddParagraph, format=fmt),
            Middleware(MarkBody, format=fmt, mark="inner"),
        )
    )
    assert response.content == expected()
    assert (fmt.parses, fmt.serializations) == (2, 2)


async def test_an_outer_asgi_filter_that_streams_gets_the_body_as_bytes():
    response = await get(starlette_app(Middleware(UpperStream), Middleware(MarkBody)))
    assert response.content == run_filter(MarkBody, PAGE)[2].upper()


def test_stacked_wsgi_middlewares_leave_no_reference_cycles():
    app = MarkBody(AddParagraph(MarkBody(wsgi_app)))
    gc.collect()
    gc.disable()
    try:
        wsgi_get(app)
        assert gc.collect() == 0  # the parsed tree was freed as soon as the response was done
    finally:
        gc.enable()


# -- each stage's should_filter_request, as stacked --------------------------------------------


class _Tagging(Filter):
    """Appends its mark to the body, unless its request predicate refuses the path."""

    mark = ""
    refuse = ""

    def should_filter_request(self, environ):
        return environ["PATH_INFO"] != self.refuse

    def filter(self, environ, headers, data):
        return data + self.mark.encode()


def _routed_wsgi_app(environ, start_response):
    start_response("200 OK", list(HEADERS))
    return [b"page"]


@pytest.mark.parametrize(
    ("path", "body"), [("/", b"page[inner][outer]"), ("/no-inner", b"page[outer]"), ("/no-outer", b"page[inner]")]
)
def test_each_stacked_wsgi_filter_asks_its_own_should_filter_request(path, body):
    from dualfilter.wsgi import FilterMiddleware

    stacked = _Tagging(mark="[outer]", refuse="/no-outer").wsgi(
        _Tagging(mark="[inner]", refuse="/no-inner").wsgi(_routed_wsgi_app)
    )
    by_hand = FilterMiddleware(
        _Tagging(mark="[outer]", refuse="/no-outer"),
        FilterMiddleware(_Tagging(mark="[inner]", refuse="/no-inner"), _routed_wsgi_app),
    )
    for app in (stacked, by_hand):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SERVER_NAME": "t", "SERVER_PORT": "80", "wsgi.url_scheme": "http"}
        result = app(environ, lambda status, headers, exc_info=None: None)
        assert b"".join(result) == body


@pytest.mark.parametrize(
    ("path", "body"), [("/", b"page[inner][outer]"), ("/no-inner", b"page[outer]"), ("/no-outer", b"page[inner]")]
)
async def test_each_stacked_asgi_filter_asks_its_own_should_filter_request(path, body):
    async def page(request):
        return HTMLResponse(b"page")

    inner_app = Starlette(routes=[Route(path, page)])
    app = _Tagging(mark="[outer]", refuse="/no-outer").asgi(_Tagging(mark="[inner]", refuse="/no-inner").asgi(inner_app))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.get(path)).content == body


def test_a_chain_whose_every_stage_refuses_the_request_leaves_it_to_the_app():
    both = chain(_Tagging(mark="[a]", refuse="/x"), _Tagging(mark="[b]", refuse="/x"))()
    assert both.asks_requests
    assert not both.should_filter_request({"PATH_INFO": "/x"}) and both.should_filter_request({"PATH_INFO": "/y"})


class _Counting(_Tagging):
    """Counts how often its request predicate is asked."""

    asked = 0

    def should_filter_request(self, environ):
        type(self).asked += 1
        return super().should_filter_request(environ)


def test_stacked_filters_keep_their_request_answers_from_before_the_app_rewrote_its_environ():
    # The app routes by rewriting PATH_INFO in place (as shift_path_info and
    # DispatcherMiddleware do): the stages' answers are those asked before it ran.
    from wsgiref.util import shift_path_info

    def routing_app(environ, start_response):
        shift_path_info(environ)  # /no-inner/page -> PATH_INFO /page
        start_response("200 OK", list(HEADERS))
        return [b"page"]

    _Counting.asked = 0
    app = _Tagging(mark="[outer]", refuse="/x").wsgi(_Counting(mark="[inner]", refuse="/no-inner/page").wsgi(routing_app))
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/no-inner/page", "SCRIPT_NAME": "", "SERVER_NAME": "t", "SERVER_PORT": "80"}
    assert b"".join(app(environ, lambda status, headers, exc_info=None: None)) == b"page[outer]"
    assert _Counting.asked == 1  # asked once, before the app


@pytest.mark.parametrize(
    "inner_options", [{"debug": True}, {"max_buffer_size": 3, "oversize": "pass"}], ids=["debug", "oversize"]
)
def test_stacked_filters_whose_whole_chain_options_differ_stay_two_middlewares(inner_options):
    # A chain applies one debug, max_buffer_size and oversize to every stage: folding
    # these would show one filter's traceback for the other, or refuse what one passes.
    from dualfilter.wsgi import FilterMiddleware

    class Failing(_Tagging):
        def filter(self, environ, headers, data):
            raise RuntimeError("secret detail")

    inner = Failing(mark="[inner]", **inner_options) if "debug" in inner_options else _Tagging(mark="[inner]", **inner_options)
    app = _Tagging(mark="[outer]").wsgi(inner.wsgi(_routed_wsgi_app))
    assert type(app) is FilterMiddleware and type(app.app) is FilterMiddleware  # not folded
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "", "SERVER_NAME": "t", "SERVER_PORT": "80"}
    body = b"".join(app(environ, lambda status, headers, exc_info=None: None))
    if "debug" in inner_options:
        assert b"secret detail" in body  # the inner filter's own debug page, as stacked
    else:
        assert body == b"page[outer]"  # the inner passes what it cannot hold; the outer filters it


def test_a_filter_stacked_on_a_configured_chain_keeps_the_chains_own_options():
    # chain(...)(app, max_buffer_size=..., oversize=...) are the chain's options, not its stages':
    # folded with a filter of the same options, they still apply.
    Pipeline = chain(_Tagging(mark="[a]"), _Tagging(mark="[b]"))
    inner = Pipeline(max_buffer_size=3, oversize="pass", thread_threshold=None)
    app = _Tagging(mark="[outer]", max_buffer_size=3, oversize="pass").wsgi(inner.wsgi(_routed_wsgi_app))
    assert (app.filter.max_buffer_size, app.filter.oversize, app.filter.thread_threshold) == (3, "pass", 256 * 1024)
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SCRIPT_NAME": "", "SERVER_NAME": "t", "SERVER_PORT": "80"}
    assert b"".join(app(environ, lambda status, headers, exc_info=None: None)) == b"page"  # too large: passed on
