"""``chain()``: a Filter class built from filters, usable wherever a filter class is."""

from __future__ import annotations

import pytest

import dualfilter.asgi
import dualfilter.wsgi
from dualfilter import Chain, Filter, chain
from dualfilter.events import PASSTHROUGH
from dualfilter.headers import Headers
from dualfilter.testing import make_environ, run_filter
from tests.support.machines import driven_machine

from .chain_filters import MarkBody, Rot13Text, Upper

PAGE = b"<html><body><p>hello</p></body></html>"


def wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html")])
    return [PAGE]


async def asgi_app(scope, receive, send):
    raise AssertionError("not called")


def test_chain_gives_a_filter_class():
    made = chain(Upper, MarkBody)
    assert issubclass(made, Chain) and issubclass(made, Filter)


def test_calling_the_chain_with_no_app_gives_a_configured_filter():
    assert isinstance(chain(Upper, MarkBody)(), Chain)


def test_calling_the_chain_with_a_wsgi_app_gives_the_wsgi_middleware():
    assert isinstance(chain(Upper, MarkBody)(wsgi_app), dualfilter.wsgi.FilterMiddleware)


def test_calling_the_chain_with_an_asgi_app_gives_the_asgi_middleware():
    assert isinstance(chain(Upper, MarkBody)(asgi_app), dualfilter.asgi.FilterMiddleware)


def test_the_explicit_constructors_work_on_a_chain():
    assert isinstance(chain(Upper).wsgi(wsgi_app), dualfilter.wsgi.FilterMiddleware)
    assert isinstance(chain(Upper).asgi(asgi_app), dualfilter.asgi.FilterMiddleware)


def test_the_stages_are_kept_outermost_first():
    upper, mark = Upper(), MarkBody()
    assert chain(upper, mark)().stages == (upper, mark)


def test_a_stage_given_as_a_class_is_used_with_its_defaults():
    (stage,) = chain(MarkBody)().stages
    assert isinstance(stage, MarkBody) and stage.mark == "m"


def test_configured_instances_keep_their_options():
    assert chain(MarkBody(mark="z"))().stages[0].mark == "z"


def test_a_chain_within_a_chain_is_spliced_in():
    inner = chain(Rot13Text, MarkBody)
    assert [type(s) for s in chain(Upper, inner)().stages] == [Upper, Rot13Text, MarkBody]


def test_the_chain_is_named_after_its_stages():
    assert chain(Upper, MarkBody)().name == "chain(Upper, MarkBody)"


def test_an_empty_chain_is_refused():
    with pytest.raises(ValueError):
        chain()


def test_something_that_is_not_a_filter_is_refused():
    with pytest.raises(TypeError):
        chain(Upper, wsgi_app)


def test_a_stage_option_on_the_chain_is_refused_with_a_hint():
    with pytest.raises(TypeError, match=r"configure its stages instead"):
        chain(Upper, MarkBody)(decode_unicode=True)


def test_chain_options_default_from_the_stages():
    flt = chain(Upper(max_buffer_size=10, debug=True), MarkBody(max_buffer_size=20, oversize="pass"))()
    assert (flt.max_buffer_size, flt.oversize, flt.debug) == (10, "error", True)


def test_a_chains_own_options_set_as_class_attributes_of_a_subclass_stand():
    class Small(chain(Upper, MarkBody)):
        max_buffer_size = 8
        oversize = "pass"
        debug = True

    flt = Small()
    assert (flt.max_buffer_size, flt.oversize, flt.debug) == (8, "pass", True)
    assert Small(max_buffer_size=100).max_buffer_size == 100  # a keyword still overrides the class
    assert run_filter(Small, PAGE)[2] == PAGE  # too large for 8 bytes: passes, as oversize says


def test_a_chain_option_applies_to_the_whole_chain():
    status, _, _ = run_filter(chain(Upper, MarkBody)(max_buffer_size=8), PAGE)
    assert status == 502


def test_the_response_passes_through_when_no_stage_wants_it():
    machine = driven_machine(chain(Upper, MarkBody)(), make_environ())
    events = machine.start(200, [("Content-Type", "image/png")])
    assert events[-1] is PASSTHROUGH and events[0].headers == [("Content-Type", "image/png")]


def test_conditional_requests_are_refused_when_any_stage_refuses_them():
    flt = chain(Upper(force_no_conditional=False), MarkBody())()
    assert flt.force_no_conditional and flt.etag_token is None


def test_a_chain_of_stages_allowing_conditional_requests_derives_one_etag():
    flt = chain(Upper(force_no_conditional=False), MarkBody(force_no_conditional=False))()
    _, headers, _ = run_filter(flt, PAGE, headers=[("ETag", '"v1"')])
    assert dict(headers)["ETag"] == f'W/"v1-dfs{flt.etag_token}"'


def test_the_etag_token_changes_with_any_stages_options():
    first = chain(Upper(force_no_conditional=False), MarkBody(force_no_conditional=False, mark="a"))()
    second = chain(Upper(force_no_conditional=False), MarkBody(force_no_conditional=False, mark="b"))()
    assert first.etag_token != second.etag_token


def test_calling_filter_directly_runs_the_stages():
    headers = Headers([("Content-Type", "text/html; charset=utf-8")])
    out = chain(Upper, MarkBody)().filter(make_environ(), headers, PAGE)
    assert out == b'<HTML><BODY CLASS="M"><P>HELLO</P></BODY></HTML>'


def test_paste_deploy_wraps_an_app_in_the_chain():
    assert isinstance(chain(Upper).paste_deploy_middleware(wsgi_app, {}), dualfilter.wsgi.FilterMiddleware)


@pytest.mark.parametrize(
    "types",
    [
        [("Content-Type", "text/plain; charset=utf-8"), ("Content-Type", "text/html; charset=windows-1251")],
        [("Content-Type", "text/plain; charset=utf-8, text/html; charset=windows-1251")],
    ],
    ids=["lines", "list"],
)
def test_a_chain_stage_reads_the_charset_of_the_type_it_filters_of_several(types):
    # As a single filter does: the html item's charset, not the first line's, not the list as one type.
    class UpperText(Filter):
        decode_unicode = True

        def filter(self, environ, headers, data):
            return data.upper()

    page = "<p>\u0436</p>".encode("cp1251")
    status, headers, body = run_filter(chain(UpperText, JSONOnlyStage), page, content_type=None, headers=types)
    assert (status, body) == (200, "<P>\u0416</P>".encode("cp1251"))


class JSONOnlyStage(Filter):
    filter_content_types = ("application/json",)

    def filter(self, environ, headers, data):
        return data


def test_a_chain_subclass_overriding_should_filter_request_is_asked_alone_and_stacked():
    class Guarded(chain(Upper)):
        def should_filter_request(self, environ):
            return not environ.get("PATH_INFO", "").startswith("/static/")

    class Tag(Filter):
        def filter(self, environ, headers, data):
            return data + b"[t]"

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<p>a</p>"]

    def get(wrapped, path):
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "SCRIPT_NAME": "", "SERVER_NAME": "t", "SERVER_PORT": "80"}
        return b"".join(wrapped(environ, lambda status, headers, exc_info=None: None))

    assert (get(Guarded.wsgi(app), "/static/x"), get(Guarded.wsgi(app), "/page")) == (b"<p>a</p>", b"<P>A</P>")
    stacked = Tag.wsgi(Guarded.wsgi(app))
    assert (get(stacked, "/static/x"), get(stacked, "/page")) == (b"<p>a</p>[t]", b"<P>A</P>[t]")


def test_a_chain_with_a_hook_of_its_own_is_refused_by_chain_and_stays_a_middleware_when_stacked():
    class Guarded(chain(Upper)):
        def should_filter_request(self, environ):
            return False

    with pytest.raises(TypeError, match="overrides should_filter_request"):
        chain(MarkBody, Guarded)


def test_a_configured_chain_spliced_into_another_keeps_its_options_as_a_stage_would():
    # chain(A, Pipeline(max_buffer_size=50)) answers as A(Pipeline(app)) would: 502 past 50 bytes.
    page = b"<p>" + b"x" * 200 + b"</p>"
    outer = chain(MarkBody, chain(Upper)(max_buffer_size=50))
    assert outer().max_buffer_size == 50
    assert run_filter(outer, page)[0] == 502


def test_a_chain_subclass_without_hooks_is_spliced_and_serves_a_range_once():
    class Sub(chain(Upper)):
        pass

    status, headers, body = run_filter(chain(Rot13Text, Sub), b"<p>hello world</p>", environ={"HTTP_RANGE": "bytes=3-7"})
    full = run_filter(chain(Rot13Text, Upper), b"<p>hello world</p>")[2]
    assert (status, body) == (206, full[3:8])
