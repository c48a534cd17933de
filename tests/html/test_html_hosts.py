"""The same bytes on WSGI, ASGI, the ISAPI extension and the ISAPI filter, for any chunking."""

from __future__ import annotations

import asyncio

from html_rewriters import PAGE, Tidy
from hypothesis import given, settings
from hypothesis import strategies as st

from dualfilter import chain
from dualfilter.html import Rewriter, on
from dualfilter.isapi.testing import FilterHost, extension_site
from dualfilter.testing import make_environ, run_filter
from tests.support.hosts import Inner, SyncExtension, received, run_asgi, run_isapi, run_wsgi, wsgi_app


def inner(chunks, content_type="text/html; charset=utf-8"):
    return Inner(200, "OK", [("Content-Type", content_type)], list(chunks))


def run_isapi_filter(flt, page, splits):
    with FilterHost(flt.isapi_filter()) as iis:
        response = iis.request("GET", "/", response=extension_site(SyncExtension(page)), splits=splits)
    headers = [(name, value) for name, value in response.headers if name.lower() not in ("transfer-encoding", "content-length")]
    return received(response.status, headers, response.body)


def without_length(result):
    return received(result.status, [(n, v) for n, v in result.headers if n != "content-length"], result.body)


def chunked(data, cuts):
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if data[a:b]]


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10_000), max_size=8), st.integers(min_value=1, max_value=400))
def test_every_host_gives_the_same_bytes_for_any_chunking(cuts, step):
    page = inner(chunked(PAGE, cuts))
    expected = run_wsgi(Tidy, inner([PAGE]))
    assert b"banner" in expected.body
    assert run_wsgi(Tidy, page) == expected
    assert asyncio.run(run_asgi(Tidy, page)) == expected
    for style in ("isapi-sync", "isapi-pending", "isapi-async-io"):
        assert run_isapi(Tidy, page, style) == expected
    assert run_isapi_filter(Tidy, page, range(step, 8192, step)) == without_length(expected)


class Outer(Rewriter):
    """Sees what Inner inserted: marks every <em>, the inserted one included."""

    @on("em")
    def em(self, element, environ):
        element.set_attribute("seen", "outer")


class Innermost(Rewriter):
    @on("p")
    def p(self, element, environ):
        element.prepend("<em>new</em>", html=True)

    @on.text("p")
    def text(self, text, environ):
        text.after("!")


def test_a_chain_of_rewriters_gives_exactly_the_bytes_of_running_one_after_the_other():
    chunks = [b"<p>a <em>b</em></p>", b"<p>c</p>"]
    inner_out = run_filter(Innermost, b"".join(chunks))[2]
    one_after_the_other = run_filter(Outer, inner_out)[2]
    assert one_after_the_other == b'<p><em seen="outer">new</em>a !<em seen="outer">b!</em></p><p><em seen="outer">new</em>c!</p>'
    assert run_wsgi(chain(Outer, Innermost), inner(chunks)).body == one_after_the_other
    assert asyncio.run(run_asgi(chain(Outer, Innermost), inner(chunks))).body == one_after_the_other


def test_stacked_rewriter_middlewares_give_the_bytes_of_the_chain():
    chunks = [b"<p>a <em>b</em></p>", b"<p>c</p>"]
    app = Outer.wsgi(Innermost.wsgi(wsgi_app(inner(chunks))))
    started = []
    body = b"".join(app(make_environ(), lambda status, headers, exc_info=None: started.append(status)))
    assert started == ["200 OK"]
    assert body == run_wsgi(chain(Outer, Innermost), inner(chunks)).body


class Arrow(Rewriter):
    """Inserts a character windows-1252 cannot hold."""

    @on("p")
    def p(self, element, environ):
        element.append("\u2192")


def test_every_host_sends_a_page_whose_first_output_holds_what_its_charset_cannot_as_utf8():
    page = inner([b"<p>caf\xe9</p>", b"<div>\x80</div>"], content_type="text/html; charset=windows-1252")
    expected = run_wsgi(Arrow, page)
    assert expected.body == "<p>caf\u00e9\u2192</p><div>\u20ac</div>".encode()
    assert dict(expected.headers)["content-type"] == "text/html; charset=utf-8"
    assert asyncio.run(run_asgi(Arrow, page)) == expected
    for style in ("isapi-sync", "isapi-pending", "isapi-async-io"):
        assert run_isapi(Arrow, page, style) == expected
    assert run_isapi_filter(Arrow, page, [10]) == without_length(expected)
