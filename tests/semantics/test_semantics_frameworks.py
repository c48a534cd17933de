"""The HTTP rules through real frameworks on real servers: each app served alone and behind the filter.

ASGI frameworks (Sanic, Litestar, Quart, Falcon, Starlette) run on uvicorn
with their lifespan, WSGI ones (Pyramid, Bottle, Flask, Django) on waitress.
Every answer of the filtered site is compared with the same app's answer
alone: a response the filter leaves alone — the framework's own static 206
and 304 included — is the same; a filtered page's range is served from the
filtered body.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.http_servers import uvicorn_serving, waitress_serving

from .semantics_frameworks import COOKIES, FRAMEWORKS, Framework
from .semantics_servers import Reply, http1
from .semantics_sites import PAGE, Redact, redact, write_static

FILTERED = redact(PAGE)
VOLATILE = frozenset({"date"})
ANSWER_HEAD = [name for name, framework in FRAMEWORKS.items() if framework.kind == "asgi" and framework.head]
STATIC_ANSWERS = [name for name, framework in FRAMEWORKS.items() if framework.static_answers]


def uvicorn_with_lifespan(app: Any) -> contextlib.AbstractContextManager[int]:
    """uvicorn (h11) serving ``app`` with its lifespan (Sanic and Litestar set up there); yields the port."""
    return uvicorn_serving(app, lifespan="on")


#: The request header that sends a request through the filter; without it the app answers alone.
THROUGH = ("X-Through-Filter", "1")


def either_asgi(app: Any) -> Any:
    """One ASGI app instance, answering alone or behind :class:`Redact` as the request says.
    (Some frameworks, Sanic among them, keep process-wide state that two servers in one process upset.)"""
    wrapped = Redact.asgi(app)

    async def dispatch(scope: Any, receive: Any, send: Any) -> None:
        through = scope["type"] == "http" and (b"x-through-filter", b"1") in scope["headers"]
        await (wrapped if through else app)(scope, receive, send)

    return dispatch


def either_wsgi(app: Any) -> Any:
    """:func:`either_asgi` for a WSGI app."""
    wrapped = Redact.wsgi(app)

    def dispatch(environ: Any, start_response: Any) -> Any:
        return (wrapped if environ.get("HTTP_X_THROUGH_FILTER") == "1" else app)(environ, start_response)

    return dispatch


class Pair:
    """A framework app served alone (``raw``) and behind :class:`Redact` (``filtered``)."""

    def __init__(self, framework: Framework, port: int) -> None:
        self.framework, self.port = framework, port

    def raw(self, path: str, headers: list[tuple[str, str]] | None = None, method: str = "GET") -> Reply:
        return http1(self.port, method, path, headers or [])

    def filtered(self, path: str, headers: list[tuple[str, str]] | None = None, method: str = "GET") -> Reply:
        return http1(self.port, method, path, [*(headers or []), THROUGH])


@pytest.fixture(scope="module", params=list(FRAMEWORKS))
def pair(request: Any, tmp_path_factory: Any) -> Iterator[Pair]:
    framework = FRAMEWORKS[request.param]
    app = framework.make(write_static(tmp_path_factory.mktemp("static")))
    if framework.kind == "asgi":
        with uvicorn_with_lifespan(either_asgi(app)) as port:
            yield Pair(framework, port)
    else:
        with waitress_serving(either_wsgi(app)) as port:
            yield Pair(framework, port)


def stable(reply: Reply) -> tuple[int, dict[str, str], bytes]:
    return reply.status, {k: v for k, v in reply.headers.items() if k not in VOLATILE}, reply.body


def validator(reply: Reply) -> tuple[str, str]:
    """The strongest validator a response carries, as a request header."""
    if "etag" in reply.headers:
        return "If-None-Match", reply.headers["etag"]
    return "If-Modified-Since", reply.headers["last-modified"]


# -- pages the framework makes --------------------------------------------------------------------


def test_a_range_of_a_framework_page_is_a_206_of_the_filtered_body_with_a_true_content_range(pair):
    reply = pair.filtered("/page", [("Range", "bytes=10-39")])
    assert (reply.status, reply.body) == (206, FILTERED[10:40])
    assert reply.header("content-range") == f"bytes 10-39/{len(FILTERED)}"
    assert reply.header("content-length") == "30"


def test_a_framework_answer_the_filter_leaves_alone_keeps_every_header(pair):
    through = pair.filtered("/headers")
    assert through.status == 200 and through.header("x-one") == "1"
    assert stable(through) == stable(pair.raw("/headers"))
    if pair.framework.name != "litestar":  # its Response takes cookies apart from headers
        assert through.header("set-cookie") == ", ".join(COOKIES)


@pytest.mark.parametrize("pair", ANSWER_HEAD, indirect=True)
def test_a_head_of_a_framework_page_carries_no_body(pair):
    reply = pair.filtered("/page", method="HEAD")
    assert (reply.status, reply.wire) == (200, b"")
    assert reply.header("content-length") != str(len(PAGE))


# -- the framework's own static server -----------------------------------------------------------


def test_a_range_of_a_whole_file_a_framework_static_server_sends_is_served_from_the_filtered_body(pair):
    reply = pair.filtered("/static/page.html", [("Range", "bytes=20-29")])
    assert (reply.status, reply.body) == (206, FILTERED[20:30])


@pytest.mark.parametrize("pair", STATIC_ANSWERS, indirect=True)
def test_the_framework_static_206_of_a_file_the_filter_leaves_alone_stands(pair):
    alone = pair.raw("/static/style.css", [("Range", "bytes=5-24")])
    assert alone.status == 206 and len(alone.body) == 20  # the framework answers ranges itself
    assert stable(pair.filtered("/static/style.css", [("Range", "bytes=5-24")])) == stable(alone)


@pytest.mark.parametrize("pair", STATIC_ANSWERS, indirect=True)
def test_the_framework_static_304_of_a_file_the_filter_leaves_alone_stands(pair):
    asked = [validator(pair.raw("/static/style.css"))]
    alone = pair.raw("/static/style.css", asked)
    assert alone.status == 304
    through = pair.filtered("/static/style.css", asked)
    assert stable(through) == stable(alone) and through.wire == b""


@pytest.mark.parametrize("pair", STATIC_ANSWERS, indirect=True)
def test_a_range_of_a_framework_static_page_is_served_from_the_filtered_body(pair):
    assert pair.raw("/static/page.html", [("Range", "bytes=0-9")]).status == 206  # the app's own partial
    reply = pair.filtered("/static/page.html", [("Range", "bytes=0-9")])
    assert (reply.status, reply.body) == (206, FILTERED[:10])
    assert reply.header("content-range") == f"bytes 0-9/{len(FILTERED)}"


@pytest.mark.parametrize("pair", STATIC_ANSWERS, indirect=True)
def test_a_validator_the_framework_issued_before_the_filter_gets_the_whole_filtered_static_page(pair):
    asked = [validator(pair.raw("/static/page.html"))]
    assert pair.raw("/static/page.html", asked).status == 304  # the app's own 304
    reply = pair.filtered("/static/page.html", asked)
    assert (reply.status, reply.body) == (200, FILTERED)
    assert {"etag", "last-modified", "accept-ranges"} & set(reply.headers) == set()


# -- Django: its WSGI handler behind the filter, and its middleware (which cannot ask twice) --------------


@pytest.fixture(scope="module")
def django_ports() -> Iterator[tuple[int, int, int]]:
    """Django alone, its WSGI handler behind the filter, and Django with the filter as its middleware."""
    from django.core.wsgi import get_wsgi_application
    from django.test import override_settings

    from tests.support.django_project import setup_django

    setup_django()
    alone = get_wsgi_application()
    with override_settings(MIDDLEWARE=["dualfilter.django.FilterMiddleware"], DUALFILTER_FILTERS=[Redact()]):
        middleware = get_wsgi_application()  # the middleware reads its settings once, here
    with waitress_serving(alone) as raw, waitress_serving(Redact.wsgi(alone)) as wrapped, waitress_serving(middleware) as inside:
        yield raw, wrapped, inside


@pytest.mark.parametrize("host", ["wrapped", "middleware"])
def test_a_range_of_a_django_page_is_a_206_of_the_filtered_body(django_ports, host):
    from tests.support.django_project import HTML_PAGE

    filtered = redact(HTML_PAGE.encode())
    reply = http1(django_ports[1 if host == "wrapped" else 2], "GET", "/html/", [("Range", "bytes=6-15")])
    assert (reply.status, reply.body) == (206, filtered[6:16])
    assert reply.header("content-range") == f"bytes 6-15/{len(filtered)}"


@pytest.mark.parametrize("host", ["wrapped", "middleware"])
def test_a_django_etag_issued_before_the_filter_gets_the_whole_filtered_page(django_ports, host):
    from tests.support.django_project import HTML_PAGE

    raw = django_ports[0]
    etag = http1(raw, "GET", "/conditional/").headers["etag"]
    assert http1(raw, "GET", "/conditional/", [("If-None-Match", etag)]).status == 304  # Django's own 304
    reply = http1(django_ports[1 if host == "wrapped" else 2], "GET", "/conditional/", [("If-None-Match", etag)])
    assert (reply.status, reply.body) == (200, redact(HTML_PAGE.encode()))


@pytest.mark.parametrize("host", ["wrapped", "middleware"])
def test_a_django_file_the_filter_leaves_alone_is_sent_as_without_it(django_ports, host):
    alone = http1(django_ports[0], "GET", "/download/")
    through = http1(django_ports[1 if host == "wrapped" else 2], "GET", "/download/")
    assert alone.status == 200 and stable(through) == stable(alone)


@pytest.fixture(scope="module")
def django_conditional_ports() -> Iterator[tuple[int, int]]:
    """Django alone, and Django with a ``force_no_conditional=False`` filter as its middleware."""
    from django.core.wsgi import get_wsgi_application
    from django.test import override_settings

    from tests.support.django_project import setup_django

    setup_django()
    flt = Redact(force_no_conditional=False)
    with override_settings(MIDDLEWARE=["dualfilter.django.FilterMiddleware"], DUALFILTER_FILTERS=[flt]):
        middleware = get_wsgi_application()
    with waitress_serving(get_wsgi_application()) as raw, waitress_serving(middleware) as inside:
        yield raw, inside


def test_with_conditionals_allowed_a_django_etag_from_before_the_filter_gets_the_whole_filtered_page(django_conditional_ports):
    from tests.support.django_project import HTML_PAGE

    raw, inside = django_conditional_ports
    etag = http1(raw, "GET", "/conditional/").headers["etag"]
    reply = http1(inside, "GET", "/conditional/", [("If-None-Match", etag)])
    assert (reply.status, reply.body) == (200, redact(HTML_PAGE.encode()))


def test_with_conditionals_allowed_the_derived_etag_revalidates_a_django_page_through_its_middleware(django_conditional_ports):
    _, inside = django_conditional_ports
    tag = http1(inside, "GET", "/conditional/").headers["etag"]
    assert tag.startswith('W/"')
    reply = http1(inside, "GET", "/conditional/", [("If-None-Match", tag)])
    assert (reply.status, reply.header("etag"), reply.wire) == (304, tag, b"")
