"""One request policy, asked by every host: what the app is shown of the request."""

from __future__ import annotations

import io
from types import MappingProxyType

import pytest

from dualfilter import Filter
from dualfilter.request_policy import REMOVED, RequestPolicy


class Plain(Filter):
    def filter(self, environ, headers, data):
        return data


def test_range_headers_are_removed_and_conditionals_too_by_default():
    policy = RequestPolicy(Plain())
    assert policy.removed == {"range", "if-range", "if-modified-since", "if-none-match"}


def test_without_force_no_conditional_ranges_and_if_modified_since_go():
    # A date cannot tell a filtered page from the app's: it never reaches a host that cannot ask twice.
    assert RequestPolicy(Plain(force_no_conditional=False)).removed == {"range", "if-range", "if-modified-since"}


def test_a_host_that_can_ask_twice_shows_the_app_a_request_as_the_client_sent_it():
    environ = {"REQUEST_METHOD": "GET", "HTTP_RANGE": "bytes=0-1", "HTTP_IF_NONE_MATCH": '"a"'}
    assert RequestPolicy(Plain()).environ(environ) is environ


def test_a_derived_tag_is_translated_for_the_app_on_first_asking():
    derived = 'W/"v1-dfs' + Plain(force_no_conditional=False).etag_token + '"'
    shown = RequestPolicy(Plain(force_no_conditional=False)).environ({"HTTP_IF_NONE_MATCH": derived})
    assert shown["HTTP_IF_NONE_MATCH"] == '"v1"'


def test_a_redispatch_asks_without_any_range_or_conditional_header():
    environ = {
        "REQUEST_METHOD": "GET",
        "HTTP_RANGE": "bytes=0-1",
        "HTTP_IF_RANGE": "x",
        "HTTP_IF_MATCH": "*",
        "HTTP_IF_NONE_MATCH": '"a"',
        "HTTP_IF_MODIFIED_SINCE": "x",
        "HTTP_IF_UNMODIFIED_SINCE": "x",
        "HTTP_ACCEPT": "*/*",
    }
    assert RequestPolicy.redispatch_environ(environ) == {"REQUEST_METHOD": "GET", "HTTP_ACCEPT": "*/*"}
    pairs = [(b"Range", b"bytes=0-1"), (b"if-none-match", b'"a"'), (b"accept", b"*/*")]
    assert RequestPolicy.redispatch_pairs(pairs) == [(b"accept", b"*/*")]


def test_a_wsgi_redispatch_shows_no_range_conditional_or_content_and_all_but_the_empty_input_is_put_back():
    # The first call read wsgi.input (a server's may be the socket): the second gets none.
    body = io.BytesIO(b"abc")
    environ = {
        "REQUEST_METHOD": "GET",
        "HTTP_RANGE": "bytes=0-1",
        "HTTP_IF_NONE_MATCH": '"a"',
        "CONTENT_TYPE": "text/plain",
        "wsgi.input": body,
        "HTTP_ACCEPT": "*/*",
    }
    request = dict(environ)
    hidden = RequestPolicy.show_redispatch(environ)
    assert environ.keys() == {"REQUEST_METHOD", "HTTP_ACCEPT", "CONTENT_LENGTH", "wsgi.input"}
    assert environ["CONTENT_LENGTH"] == "0" and environ["wsgi.input"].read() == b""
    assert hidden["CONTENT_LENGTH"] is REMOVED
    RequestPolicy.put_back(environ, hidden)
    shown_input = environ.pop("wsgi.input")
    assert environ == {key: value for key, value in request.items() if key != "wsgi.input"}
    assert shown_input is not body and shown_input.read() == b""  # read on after the start: nothing, no wait


def test_a_derived_tag_is_translated_in_place_and_put_back():
    flt = Plain(force_no_conditional=False)
    derived = 'W/"v1-dfs' + flt.etag_token + '"'
    environ = {"HTTP_IF_NONE_MATCH": derived}
    hidden = RequestPolicy(flt).show(environ)
    assert environ == {"HTTP_IF_NONE_MATCH": '"v1"'}
    RequestPolicy.put_back(environ, hidden)
    assert environ == {"HTTP_IF_NONE_MATCH": derived}
    assert RequestPolicy(flt).show({"HTTP_RANGE": "bytes=0-1"}) is None
    assert RequestPolicy(Plain()).show({"HTTP_IF_NONE_MATCH": derived}) is None


def test_asgi_pairs_need_no_copy_unless_a_derived_tag_is_translated():
    assert RequestPolicy(Plain()).pairs([(b"range", b"bytes=0-1")]) is None
    assert RequestPolicy(Plain(force_no_conditional=False)).pairs([(b"if-none-match", b'"a"')]) == [(b"if-none-match", b'"a"')]


def test_if_none_match_in_several_field_lines_is_translated_as_the_one_list_it_is():
    # RFC 9110 section 5.3: the lines are one list. Translated line by line, the
    # app's own "v2" would stand beside the derived tag's original and could revalidate.
    flt = Plain(force_no_conditional=False)
    derived = f'W/"v1-dfs{flt.etag_token}"'.encode()
    pairs = [(b"accept", b"*/*"), (b"if-none-match", b'"v2"'), (b"if-none-match", derived)]
    assert RequestPolicy(flt).pairs(pairs) == [(b"accept", b"*/*"), (b"if-none-match", b'"v1"')]


def test_an_asgi_request_may_be_asked_again_only_when_safe_with_a_range_or_conditional_header():
    def scope(method, *names):
        return {"method": method, "headers": [(b"host", b"x"), *((name, b"v") for name in names)]}

    assert RequestPolicy.may_redispatch_scope(scope("GET", b"if-none-match"))
    assert RequestPolicy.may_redispatch_scope(scope("HEAD", b"range"))
    assert not RequestPolicy.may_redispatch_scope(scope("GET"))
    assert not RequestPolicy.may_redispatch_scope(scope("POST", b"range"))


def test_where_the_app_cannot_be_asked_twice_only_its_own_tags_for_derived_ones_are_shown():
    policy = RequestPolicy(Plain(force_no_conditional=False))
    derived = 'W/"v1-dfs' + policy.token + '"'  # type: ignore[operator]
    assert policy.translate_derived(f'{derived}, "old"') == '"v1"' and policy.translate_derived('"old"') == ""


def test_every_filter_carries_its_policy():
    flt = Plain()
    assert isinstance(flt.request_policy, RequestPolicy)


@pytest.mark.parametrize("key", ["HTTP_RANGE", "HTTP_IF_RANGE", "HTTP_IF_NONE_MATCH", "HTTP_IF_MODIFIED_SINCE", "HTTP_IF_MATCH"])
@pytest.mark.parametrize("mapping", [dict, MappingProxyType])
def test_a_safe_request_with_a_range_or_conditional_header_may_be_asked_again(key, mapping):
    assert RequestPolicy.may_redispatch(mapping({"REQUEST_METHOD": "GET", key: "x"}))
    assert RequestPolicy.may_redispatch(mapping({"REQUEST_METHOD": "HEAD", key: "x"}))
    assert not RequestPolicy.may_redispatch(mapping({"REQUEST_METHOD": "POST", key: "x"}))


@pytest.mark.parametrize("mapping", [dict, MappingProxyType])
def test_a_request_without_one_is_never_asked_again_it_would_be_the_same_request(mapping):
    assert not RequestPolicy.may_redispatch(mapping({"REQUEST_METHOD": "GET", "HTTP_ACCEPT": "*/*", "HTTP_RANGES": "x"}))
