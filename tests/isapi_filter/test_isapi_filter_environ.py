"""The filter's environ comes from the filter context's server variables."""

from __future__ import annotations

from filter_harness import html

from dualfilter import Filter
from dualfilter.isapi.testing import FilterHost


class Recording(Filter):
    seen: dict = {}

    def filter(self, environ, headers, data):
        Recording.seen = dict(environ)
        return data


def environ_for(method="GET", path="/app/page", **options):
    with FilterHost(Recording.isapi_filter()) as iis:
        iis.request(method, path, response=html(), splits=[10], **options)
    return Recording.seen


def test_environ_has_the_request_method_and_path():
    environ = environ_for("POST", "/shop/cart", body=b"x=1")
    assert (environ["REQUEST_METHOD"], environ["PATH_INFO"]) == ("POST", "/shop/cart")


def test_environ_has_the_query_string():
    assert environ_for(query_string="a=1&b=2")["QUERY_STRING"] == "a=1&b=2"


def test_environ_has_request_headers_from_all_http():
    assert environ_for(headers=[("Accept-Language", "fr")])["HTTP_ACCEPT_LANGUAGE"] == "fr"


def test_environ_scheme_follows_https():
    assert environ_for(https=True)["wsgi.url_scheme"] == "https"


def test_environ_holds_a_live_filter_context_when_the_filter_runs():
    # The filter runs during a later notification than the one the response started in.
    fc = environ_for()["isapi.filter_context"]
    assert fc.NotificationType and "isapi.ecb" not in Recording.seen


def test_environ_is_built_from_server_variables_not_from_an_ecb():
    assert environ_for(server_name="intranet.example")["SERVER_NAME"] == "intranet.example"
