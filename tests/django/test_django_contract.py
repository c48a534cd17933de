"""The pinned Django contract where it meets the rest: the async handler, several layers, the
middleware below, Rewriter entries on real servers, and filters whose output is wrong.

This module is its own ``ROOT_URLCONF`` (views below); the filters are named by SPEC from here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.core.asgi import get_asgi_application
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse, StreamingHttpResponse
from django.test import AsyncClient, Client
from django.test.utils import override_settings
from django.urls import path
from django_servers import Wire, dechunk, uvicorn_serving, waitress_serving

from dualfilter import Filter, validators
from dualfilter.django import FilterMiddleware
from dualfilter.html import Rewriter, on
from dualfilter.specs import load
from dualfilter.testing import make_environ

HERE = "test_django_contract"
FILTER_MIDDLEWARE = "dualfilter.django.FilterMiddleware"
PAGE = "<html><head><meta charset=utf-8></head><body><p>first</p><p>second</p></body></html>"
#: Where the gated and streamed views cut the page: after the first </p>.
CUT = PAGE.index("<p>second")
#: A page whose first piece holds the element Boom fails on, and one whose second piece does.
EARLY = ["<html><body><p class=boom>x</p>", "<p>rest</p></body></html>"]
LATE = ["<html><body><p>first</p>", "<p class=boom>x</p></body></html>"]
LATIN1 = [b"<p>caf\xe9</p>", b"<div>\x80</div>"]
#: What each view and middleware below the filter saw, and the environs filters were given.
SEEN: dict[str, list] = {}


def project(filters, middleware=(FILTER_MIDDLEWARE,), **settings):
    if filters is not None:
        settings["DUALFILTER_FILTERS"] = filters
    return override_settings(ROOT_URLCONF=HERE, MIDDLEWARE=list(middleware), **settings)


def spec(name: str, query: str = "") -> str:
    return f"{HERE}:{name}" + (f"?{query}" if query else "")


@pytest.fixture(autouse=True)
def seen():
    SEEN.clear()
    return SEEN


# -- filters -----------------------------------------------------------------------------------


class ShowUser(Filter):
    """Writes ``environ['app.user']`` (the view sets it on request.META) into the page; keeps the environ."""

    def filter(self, environ, headers, data):
        SEEN.setdefault("environs", []).append(environ)
        return data.replace(b"</body>", f"<i>{environ.get('app.user', 'nobody')}</i></body>".encode())


class Mark(Filter):
    """Appends ``text``; keeps the environ."""

    text: str = ""

    def filter(self, environ, headers, data):
        SEEN.setdefault("environs", []).append(environ)
        return data + self.text.encode()


class UserAttribute(Rewriter):
    """Puts ``environ['app.user']`` on every <p>; keeps the environ of each handler call and of the end."""

    @on("p")
    def p(self, element, environ):
        SEEN.setdefault("environs", []).append(environ)
        element.set_attribute("user", environ.get("app.user", "nobody"))

    def end(self, document, environ):
        SEEN.setdefault("environs", []).append(environ)


class Banner(Rewriter):
    @on("body")
    def banner(self, element, environ):
        element.prepend("<div>banner</div>", html=True)


class Boom(Rewriter):
    """Fails on <p class=boom>."""

    @on("p.boom")
    def boom(self, element, environ):
        raise RuntimeError("secret detail of a failing handler")


class Arrow(Rewriter):
    """Inserts, inside every <div>, a character windows-1252 cannot hold."""

    @on("div")
    def arrow(self, element, environ):
        element.append("\u2192")


class Cafe(Rewriter):
    @on("p")
    def cafe(self, element, environ):
        element.append("\u00e9")


class ReturnsNone(Filter):
    def filter(self, environ, headers, data):
        return None


class StreamsText(Filter):
    """A bytes stream that gives text."""

    def stream(self, environ, headers):
        class Stream:
            def feed(self, data):
                return data.decode()

            def finish(self):
                return b""

        return Stream()


class BadHeaderName(Filter):
    def filter(self, environ, headers, data):
        headers["Bad Name"] = "x"
        return data


class HeaderWithNewline(Filter):
    def filter(self, environ, headers, data):
        headers["X-Injected"] = "a\r\nSet-Cookie: stolen=1"
        return data


# -- middleware and views ------------------------------------------------------------------------


def below(get_response):
    """A middleware below the filter: records the conditional and range headers it is shown."""

    def middleware(request):
        SEEN.setdefault("below", []).append((request.META.get("HTTP_IF_NONE_MATCH"), request.headers.get("Range")))
        return get_response(request)

    return middleware


def user(request):
    SEEN["meta"] = [request.META]
    request.META["app.user"] = "alice"
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


def ranged(request):
    SEEN.setdefault("view", []).append(request.headers.get("Range"))
    if "Range" in request.headers:
        response = HttpResponse(PAGE.encode()[:6], status=206, content_type="text/html; charset=utf-8")
        response["Content-Range"] = f"bytes 0-5/{len(PAGE.encode())}"
        return response
    return HttpResponse(PAGE, content_type="text/html; charset=utf-8")


#: Released by a test once its client has the first filtered bytes; the gated views wait (5 s at most).
GATE = {"event": threading.Event(), "was_open": False}


def gated(request):
    gate = GATE

    def pieces():
        yield PAGE[:CUT]
        gate["was_open"] = gate["event"].wait(5)
        yield PAGE[CUT:]

    return StreamingHttpResponse(pieces(), content_type="text/html; charset=utf-8")


def agated(request):
    gate = GATE

    async def pieces():
        yield PAGE[:CUT]
        gate["was_open"] = await asyncio.to_thread(gate["event"].wait, 5)
        yield PAGE[CUT:]

    return StreamingHttpResponse(pieces(), content_type="text/html; charset=utf-8")


def streamed(request):
    """The page in two pieces (``?early``/``?late``: EARLY or LATE), from a sync iterator."""
    pieces = EARLY if "early" in request.GET else LATE if "late" in request.GET else [PAGE[:CUT], PAGE[CUT:]]
    return StreamingHttpResponse(iter(pieces), content_type="text/html; charset=utf-8")


def astreamed(request):
    """``streamed`` from an async iterator."""
    chosen = EARLY if "early" in request.GET else LATE if "late" in request.GET else [PAGE[:CUT], PAGE[CUT:]]

    async def pieces():
        for piece in chosen:
            yield piece

    return StreamingHttpResponse(pieces(), content_type="text/html; charset=utf-8")


def whole(request):
    """The page as an HttpResponse (``?early``/``?late``: EARLY or LATE)."""
    pieces = EARLY if "early" in request.GET else LATE if "late" in request.GET else [PAGE]
    return HttpResponse("".join(pieces), content_type="text/html; charset=utf-8")


def latin1_streamed(request):
    return StreamingHttpResponse(iter(LATIN1), content_type="text/html; charset=windows-1252")


urlpatterns = [
    path("user/", user),
    path("ranged/", ranged),
    path("gated/", gated),
    path("agated/", agated),
    path("streamed/", streamed),
    path("astreamed/", astreamed),
    path("whole/", whole),
    path("latin1-streamed/", latin1_streamed),
]


@pytest.fixture(params=["waitress", "uvicorn"])
def serve(request):
    """Serves the project with ``filters`` on a real server, waitress (WSGI) or uvicorn
    (ASGI); yields the port. ``serve.streamed`` is the streaming view the server streams."""

    @contextlib.contextmanager
    def serving(filters, **settings):
        with project(filters, **settings):
            if request.param == "waitress":
                with waitress_serving(get_wsgi_application()) as port:
                    yield port
            else:
                with uvicorn_serving(get_asgi_application()) as port:
                    yield port

    # Django under ASGI streams async iterators only (it reads a sync one whole).
    serving.streamed = "astreamed" if request.param == "uvicorn" else "streamed"  # type: ignore[attr-defined]
    serving.gated = "agated" if request.param == "uvicorn" else "gated"  # type: ignore[attr-defined]
    return serving


# -- the setting ------------------------------------------------------------------------------------


@pytest.mark.parametrize("entries", [["replace?patern=a"], ["no_such_module_here:Nothing"], [spec("Nothing")]])
def test_a_bad_spec_raises_improperly_configured_when_the_asgi_handler_is_built(entries):
    with project(entries):
        with pytest.raises(ImproperlyConfigured):
            get_asgi_application()


@pytest.mark.parametrize("value", [None, ()])
def test_a_setting_of_none_or_an_empty_tuple_makes_django_leave_the_middleware_out(value):
    with project(None, DUALFILTER_FILTERS=value):
        with pytest.raises(MiddlewareNotUsed):
            FilterMiddleware(lambda request: None)
        assert Client().get("/whole/").content == PAGE.encode()


def test_without_the_html_extra_a_rewriter_spec_is_improperly_configured_naming_the_extra():
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys; sys.modules['lolhtml'] = None\n"
        "sys.path[:0] = ['tests/django']\n"
        "from tests.support.django_project import setup_django; setup_django()\n"
        "from django.core.wsgi import get_wsgi_application\n"
        "from django.test.utils import override_settings\n"
        f"with override_settings(MIDDLEWARE=['{FILTER_MIDDLEWARE}'], DUALFILTER_FILTERS=['{HERE}:Banner']):\n"
        "    try:\n"
        "        get_wsgi_application()\n"
        "    except Exception as exc:\n"
        "        print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("ImproperlyConfigured "), result.stderr
    assert "dualfilter[html]" in result.stdout


# -- environ is request.META ------------------------------------------------------------------------


LAYERINGS = {
    "one filter": [spec("ShowUser")],
    "one chain": [spec("ShowUser"), spec("Mark", "text=!")],
    "two layers": [spec("ShowUser"), spec("Mark", "text=!&debug=true")],
}


@pytest.mark.parametrize("filters", LAYERINGS.values(), ids=LAYERINGS.keys())
async def test_under_the_async_handler_every_filter_gets_request_meta_itself(filters, seen):
    with project(filters):
        response = await AsyncClient().get("/user/")
    assert b"<i>alice</i>" in response.content
    assert len(seen["environs"]) == len(filters)
    assert all(environ is seen["meta"][0] for environ in seen["environs"])


@pytest.mark.parametrize("filters", LAYERINGS.values(), ids=LAYERINGS.keys())
def test_under_the_sync_handler_every_layer_and_stage_gets_request_meta_itself(filters, seen):
    with project(filters):
        response = Client().get("/user/")
    assert b"<i>alice</i>" in response.content
    assert len(seen["environs"]) == len(filters)
    assert all(environ is seen["meta"][0] for environ in seen["environs"])


def test_a_rewriters_handlers_and_end_get_request_meta_itself(serve, seen):
    with serve([spec("UserAttribute")]) as port:
        status, headers, body = Wire(port, "/user/").read_all()
    assert b'<p user="alice">first</p>' in (dechunk(body)[0] if headers.get("transfer-encoding") else body)
    assert len(seen["environs"]) == 3  # two <p>, the end
    assert all(environ is seen["meta"][0] for environ in seen["environs"])


# -- the request policy reaches the middleware below ---------------------------------------------------


def test_the_middleware_below_sees_the_tag_the_filter_translates(seen):
    flt = Mark(text="!", force_no_conditional=False)
    derived = validators.derive('"v1"', flt.validator_token())
    with project([flt], middleware=[FILTER_MIDDLEWARE, f"{HERE}.below"]):
        Client().get("/whole/", HTTP_IF_NONE_MATCH=derived)
    assert seen["below"] == [('"v1"', None)]


async def test_the_middleware_below_sees_the_tag_the_filter_translates_under_the_async_handler(seen):
    flt = Mark(text="!", force_no_conditional=False)
    derived = validators.derive('"v1"', flt.validator_token())
    with project([flt], middleware=[FILTER_MIDDLEWARE, f"{HERE}.below"]):
        await AsyncClient().get("/whole/", headers={"If-None-Match": derived})
    assert seen["below"] == [('"v1"', None)]


async def test_a_view_asked_again_under_the_async_handler_is_asked_through_the_middleware_below(seen):
    with project([spec("Mark", "text=!")], middleware=[FILTER_MIDDLEWARE, f"{HERE}.below"]):
        response = await AsyncClient().get("/ranged/", headers={"Range": "bytes=0-5"})
    assert seen["below"] == [(None, "bytes=0-5"), (None, None)]
    assert seen["view"] == ["bytes=0-5", None]
    assert (response.status_code, response.content) == (206, PAGE.encode()[:6])


# -- Rewriter entries on real servers ----------------------------------------------------------------


def test_a_rewriter_entry_sends_its_first_output_before_the_view_makes_the_rest(serve):
    GATE["event"], GATE["was_open"] = threading.Event(), False
    with serve([spec("Banner")]) as port:
        wire = Wire(port, f"/{serve.gated}/")
        arrived = wire.read_until(b"<div>banner</div><p>first</p>")
        GATE["event"].set()
        status, headers, body = wire.read_all()
    assert arrived and GATE["was_open"]
    assert dechunk(body) == (PAGE.replace("<body>", "<body><div>banner</div>").encode(), True)


@pytest.mark.parametrize("query", ["early", "late"])
def test_a_rewriter_entrys_handler_failing_on_a_whole_response_is_the_clean_500(serve, query, caplog):
    with caplog.at_level(logging.CRITICAL, "dualfilter"):
        with serve([spec("Boom")]) as port:
            status, headers, body = Wire(port, f"/whole/?{query}").read_all()
    assert (status, body) == (500, b"Internal Server Error\n")


def test_a_rewriter_entrys_handler_failing_before_its_first_output_is_the_clean_500(serve, caplog):
    with caplog.at_level(logging.CRITICAL, "dualfilter"):
        with serve([spec("Boom")]) as port:
            status, headers, body = Wire(port, f"/{serve.streamed}/?early").read_all()
    assert (status, body) == (500, b"Internal Server Error\n")


def test_a_rewriter_entrys_handler_failing_after_its_first_output_cuts_the_response_short(serve, caplog):
    with caplog.at_level(logging.CRITICAL, "dualfilter"):
        with serve([spec("Boom")]) as port:
            status, headers, body = Wire(port, f"/{serve.streamed}/?late").read_all()
    assert status == 200 and headers.get("transfer-encoding") == "chunked"
    assert dechunk(body) == (b"<html><body><p>first</p>", False)


def test_streamed_rewriter_entries_give_the_bytes_of_the_same_filters_nested_as_middlewares():
    entries = [spec("Arrow"), spec("Cafe", "debug=true")]  # two layers

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=windows-1252")])
        return iter(LATIN1)

    nested = load(entries[1]).wsgi(load(entries[0]).wsgi(app))
    starts = []
    expected = b"".join(nested(make_environ(), lambda status, headers, exc_info=None: starts.append(headers)))
    with project(entries):
        response = Client().get("/latin1-streamed/")
        body = b"".join(response.streaming_content)
    # Arrow's insertion comes after the first output went out in windows-1252: a character reference.
    assert body == expected == b"<p>caf\xe9\xe9</p><div>\x80&#8594;</div>"
    assert response["Content-Type"] == dict(starts[0])["Content-Type"] == "text/html; charset=windows-1252"


# -- a filter whose output is wrong ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["ReturnsNone", "StreamsText", "BadHeaderName", "HeaderWithNewline"])
@pytest.mark.parametrize("view", ["whole", "streamed"])
def test_a_filter_whose_output_is_wrong_gives_the_clean_500_even_under_debug(serve, name, view, caplog):
    if view == "streamed":
        view = serve.streamed
    with caplog.at_level(logging.CRITICAL, "dualfilter"):
        with serve([spec(name)], DEBUG=True) as port:
            status, headers, body = Wire(port, f"/{view}/").read_all()
    assert (status, body) == (500, b"Internal Server Error\n")
    assert "x-injected" not in headers and "set-cookie" not in headers
