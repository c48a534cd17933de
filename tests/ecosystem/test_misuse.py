"""Misuse is caught when the app is built, with a TypeError that says what to do instead."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware

from dualfilter import Filter, chain
from dualfilter.cli import main
from dualfilter.testing import run_filter
from tests.support.filters import Upper


class Lower(Filter):
    def filter(self, environ, headers, data):
        return data.lower()


def wsgi_app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<p>x</p>"]


def test_a_filter_class_given_as_the_app_is_refused_when_wrapping():
    with pytest.raises(TypeError, match=r"Lower is a Filter class, not an app: .*chain\("):
        Upper(Lower)


def test_a_filter_class_given_to_an_explicit_constructor_is_refused():
    with pytest.raises(TypeError, match="Lower is a Filter class, not an app"):
        Upper.wsgi(Lower)


def test_a_configured_filter_given_as_the_app_is_refused_when_wrapping():
    with pytest.raises(TypeError, match=r"Lower\(\.\.\.\) is a configured filter, not an app"):
        Upper(Lower())


def test_a_filter_instance_given_to_add_middleware_fails_when_starlette_builds_the_stack():
    app = Starlette()
    app.add_middleware(Upper(debug=True))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"give add_middleware / Middleware the class and its options: add_middleware\(Upper"):
        app.build_middleware_stack()


def test_a_filter_instance_in_starlettes_middleware_list_fails_when_the_stack_is_built():
    app = Starlette(middleware=[Middleware(Upper())])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"Upper\(\.\.\.\) is a configured filter"):
        app.build_middleware_stack()


def test_the_filter_class_given_to_add_middleware_still_builds():
    app = Starlette()
    app.add_middleware(Upper, debug=True)
    assert app.build_middleware_stack() is not None


def test_an_app_of_no_known_host_is_refused_when_wrapping():
    with pytest.raises(TypeError, match="cannot wrap 42: not a WSGI app, an ASGI app or an ISAPI extension"):
        Upper(42)  # type: ignore[call-overload]


def test_chain_combines_filter_classes_as_the_error_suggests():
    status, _, body = run_filter(chain(Upper, Lower), b"<p>Ab</p>")
    assert (status, body) == (200, b"<P>AB</P>")


def test_serve_given_a_filter_class_as_the_app_is_one_error_line(tmp_path, monkeypatch, capsys):
    (tmp_path / "myfilters.py").write_text("from dualfilter import Filter\n\nclass MyFilter(Filter):\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    status = main(["serve", "myfilters:MyFilter", "--filter", "inject?html=x", "--port", "0"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert "myfilters:MyFilter is not a WSGI or ASGI app" in err
