"""``run_filter(..., raise_errors=True)``: a failing filter's own exception, traceback and all."""

from __future__ import annotations

import traceback

import pytest

from dualfilter import Filter, FilterError
from dualfilter.testing import run_filter
from tests.support.filters import Upper


class Broken(Filter):
    def filter(self, environ, headers, data):
        return data.decode()["title"]  # a bug: str indices


class AsyncBroken(Filter):
    async def filter(self, environ, headers, data):
        raise KeyError("missing setting")


class WrongType(Filter):
    def filter(self, environ, headers, data):
        return 42


class BrokenStream(Filter):
    decode_unicode = True

    def stream(self, environ, headers):
        return self

    def feed(self, text):
        raise ValueError("cannot feed")

    def finish(self):
        return ""


def test_by_default_a_failing_filter_gives_the_clients_500():
    status, _, body = run_filter(Broken, b"<p>x</p>")
    assert status == 500
    assert b"Traceback" not in body


def test_raise_errors_re_raises_the_filters_own_exception():
    with pytest.raises(TypeError, match="string indices must be integers"):
        run_filter(Broken, b"<p>x</p>", raise_errors=True)


def test_the_re_raised_exception_keeps_the_traceback_into_the_filter():
    with pytest.raises(TypeError) as caught:
        run_filter(Broken, b"<p>x</p>", raise_errors=True)
    last = traceback.extract_tb(caught.value.__traceback__)[-1]
    assert (last.name, last.line) == ("filter", 'return data.decode()["title"]  # a bug: str indices')


def test_an_async_filters_exception_is_re_raised():
    with pytest.raises(KeyError, match="missing setting"):
        run_filter(AsyncBroken, b"<p>x</p>", raise_errors=True)


def test_a_streaming_filters_exception_is_re_raised():
    with pytest.raises(ValueError, match="cannot feed"):
        run_filter(BrokenStream, b"<p>x</p>", raise_errors=True)


def test_a_failure_the_core_reports_without_an_exception_is_raised_as_a_filter_error():
    with pytest.raises(FilterError, match=r"WrongType.filter\(\) returned int"):
        run_filter(WrongType, b"<p>x</p>", raise_errors=True)


def test_a_filter_that_works_gives_the_same_result_with_raise_errors():
    assert run_filter(Upper, b"<p>x</p>", raise_errors=True) == run_filter(Upper, b"<p>x</p>")


def test_a_response_the_filter_does_not_take_is_no_error():
    assert run_filter(Broken, b"GIF89a", content_type="image/gif", raise_errors=True)[2] == b"GIF89a"


def test_raise_errors_leaves_no_handler_behind():
    import logging

    before = list(logging.getLogger("dualfilter").handlers)
    with pytest.raises(TypeError):
        run_filter(Broken, b"<p>x</p>", raise_errors=True)
    assert logging.getLogger("dualfilter").handlers == before


def test_raise_errors_raises_though_logging_is_turned_down():
    import logging

    class Broken(Filter):
        def filter(self, environ, headers, data):
            raise KeyError("boom")

    logging.disable(logging.CRITICAL)
    try:
        with pytest.raises(KeyError, match="boom"):
            run_filter(Broken, b"<p>a</p>", raise_errors=True)
    finally:
        logging.disable(logging.NOTSET)


def test_run_filter_asks_should_filter_request_as_every_host_does():
    class NotStatic(Filter):
        def should_filter_request(self, environ):
            return not environ["PATH_INFO"].startswith("/static/")

        def filter(self, environ, headers, data):
            return data.upper()

    assert run_filter(NotStatic, b"<p>a</p>", environ={"PATH_INFO": "/static/x.html"})[2] == b"<p>a</p>"
    assert run_filter(NotStatic, b"<p>a</p>", environ={"PATH_INFO": "/page"})[2] == b"<P>A</P>"
