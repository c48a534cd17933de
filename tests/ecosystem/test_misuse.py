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


def wsgi_page(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/html")])
    return [b"<p>page</p>"]


@pytest.mark.parametrize("app", [None, 5, "module:app"], ids=["none", "int", "str"])
def test_an_explicit_wrapper_refuses_what_is_no_app_when_wrapping(app):
    for wrap in (Upper.wsgi, Upper().asgi, Upper.isapi):
        with pytest.raises(TypeError, match="cannot wrap"):
            wrap(app)


def test_an_asgi_app_given_to_the_wsgi_wrapper_is_refused():
    async def asgi_app(scope, receive, send):
        pass

    with pytest.raises(TypeError, match="it is an ASGI app"):
        Upper.wsgi(asgi_app)


def test_a_wsgi_app_given_to_the_asgi_wrapper_is_refused():
    def wsgi_app(environ, start_response):
        return []

    with pytest.raises(TypeError, match=r"as an ASGI app: it is a WSGI app \(use \.wsgi\(app\)"):
        Upper.asgi(wsgi_app)


def test_a_callable_that_is_no_asgi_app_is_refused_by_the_asgi_wrapper():
    with pytest.raises(TypeError, match="no async callable"):
        Upper.asgi(lambda scope: None)


@pytest.mark.parametrize("host", ["asgi", "wsgi", "isapi"])
def test_an_explicit_wrapper_refuses_an_apps_class_naming_the_instance_to_pass(host):
    class App:
        async def __call__(self, scope, receive, send):
            pass

        def HttpExtensionProc(self, ecb):
            pass

    with pytest.raises(TypeError, match=r"the class App: pass an instance of it \(App\(\)\)"):
        getattr(Upper, host)(App)


@pytest.mark.parametrize("wrap", [Upper, Upper.wsgi], ids=["detected", "explicit"])
def test_the_class_of_a_wsgi_app_whose_instances_are_called_is_refused_naming_the_instance(wrap):
    # Not a PEP 3333 class (made with environ and start_response): calling it would fail per request.
    class App:
        def __call__(self, environ, start_response):
            return []

    with pytest.raises(TypeError, match=r"the class App: pass an instance of it \(App\(\)\)"):
        wrap(App)


def test_the_filter_base_class_filters_nothing_and_is_refused_when_it_wraps_an_app():
    def wsgi_app(environ, start_response):
        return []

    for wrap in (Filter, Filter.wsgi):
        with pytest.raises(TypeError, match="Filter filters nothing: subclass it"):
            wrap(wsgi_app)


def test_a_subclass_that_forgets_super_init_is_told_so_when_it_is_used():
    class Banner(Filter):
        def __init__(self, text="hi", **options):
            self.text = text  # no super().__init__(**options)

        def filter(self, environ, headers, data):
            return data + self.text.encode()

    for use in (lambda: Banner().wsgi(wsgi_page), lambda: run_filter(Banner(), b"<p>a</p>"), lambda: chain(Banner(), Upper)):
        with pytest.raises(TypeError, match=r"Banner is not configured: its __init__ must call super\(\).__init__"):
            use()


@pytest.mark.parametrize(
    "made", [lambda: b"bytes", lambda: type("OnlyFeed", (), {"feed": lambda self, data: data})()], ids=["bytes", "no-finish"]
)
def test_a_stream_that_is_no_stream_is_the_clean_500_naming_it(made, caplog):
    class Odd(Filter):
        def stream(self, environ, headers):
            return made()

    status, headers, body = run_filter(Odd, b"<p>a</p>")
    assert status == 500 and "expected an object with feed() and finish()" in caplog.text


@pytest.mark.parametrize("feed", [lambda text: None, lambda text: text.encode()], ids=["none", "bytes"])
def test_a_text_stream_giving_no_str_is_the_clean_500_not_an_empty_page(feed, caplog):
    class Text(Filter):
        decode_unicode = True

        def stream(self, environ, headers):
            return type("S", (), {"feed": lambda self, text: feed(text), "finish": lambda self: ""})()

    status, headers, body = run_filter(Text, b"<p>a</p>", content_type="text/html; charset=utf-8")
    assert status == 500 and "expected str under decode_unicode" in caplog.text


class _Typo(Filter):
    def fliter(self, environ, headers, data):  # the typo a 500 on every page used to answer
        return data


class _WrongSignature(Filter):
    def filter(self, environ, headers, data):
        return data

    def should_filter(self, status, headers):
        return True


class _NotCallable(Filter):
    should_filter = True

    def filter(self, environ, headers, data):
        return data


class _AsyncGenerator(Filter):
    async def filter(self, environ, headers, data):
        yield data


@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (_Typo, "_Typo defines neither filter"),
        (_WrongSignature, r"_WrongSignature.should_filter\(\) must take \(self, environ, status, headers\)"),
        (_NotCallable, "_NotCallable.should_filter must be a method"),
        (_AsyncGenerator, "_AsyncGenerator.filter.. is an async generator"),
    ],
)
def test_a_filter_that_could_never_work_is_refused_when_it_is_built(cls, message):
    with pytest.raises(TypeError, match=message):
        cls()


@pytest.mark.parametrize("codec", ["rot13", "base64", "zlib", "idna", "punycode", "unicode_escape"])
def test_an_output_encoding_that_is_no_charset_is_refused_when_built(codec):
    with pytest.raises(ValueError, match="output_encoding must name a charset"):
        Filter(output_encoding=codec)


def test_an_asgi_apps_class_is_refused_naming_the_instance_to_pass():
    from starlette.applications import Starlette

    with pytest.raises(TypeError, match=r"pass an instance of it \(Starlette\(\)\)"):
        Upper(Starlette)

    class Extension:
        def HttpExtensionProc(self, ecb):
            return 1

    with pytest.raises(TypeError, match=r"pass an instance of it \(Extension\(\)\)"):
        Upper(Extension)


def test_a_wsgi_app_that_is_a_class_is_still_wrapped():
    # PEP 3333: "the application object may be a class" (calling it gives the iterable).
    class App:
        def __init__(self, environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])

        def __iter__(self):
            yield b"ok"

    from dualfilter.testing import make_environ

    body = b"".join(Upper(App)(make_environ("GET"), lambda status, headers, exc_info=None: None))
    assert body == b"ok"


def test_the_chain_class_itself_is_refused_naming_chain():
    from dualfilter.chain import Chain

    with pytest.raises(TypeError, match=r"build one with chain\(FilterA, FilterB, \.\.\.\)"):
        Chain()


def test_run_filter_refuses_what_is_no_filter():
    with pytest.raises(TypeError, match="run_filter takes a Filter class or instance"):
        run_filter(lambda environ, headers, data: data, b"<p>x</p>")
    with pytest.raises(TypeError, match="run_filter takes a Filter class or instance"):
        run_filter(Upper(lambda environ, start_response: []), b"<p>x</p>")  # a middleware
