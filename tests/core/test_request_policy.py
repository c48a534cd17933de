"""One request policy, asked by every host: what the app is shown of the request."""

from __future__ import annotations

from dualfilter import Filter
from dualfilter.request_policy import RequestPolicy


class Plain(Filter):
    def filter(self, environ, headers, data):
        return data


def test_range_headers_are_removed_and_conditionals_too_by_default():
    policy = RequestPolicy(Plain())
    assert policy.removed == {"range", "if-range", "if-modified-since", "if-none-match"}


def test_without_force_no_conditional_only_ranges_go():
    assert RequestPolicy(Plain(force_no_conditional=False)).removed == {"range", "if-range"}


def test_an_environ_without_those_headers_is_handed_on_as_it_is():
    environ = {"REQUEST_METHOD": "GET", "HTTP_ACCEPT": "*/*"}
    assert RequestPolicy(Plain()).environ(environ) is environ


def test_an_environ_with_them_is_copied_without_them():
    environ = {"REQUEST_METHOD": "GET", "HTTP_RANGE": "bytes=0-1", "HTTP_IF_NONE_MATCH": '"a"'}
    shown = RequestPolicy(Plain()).environ(environ)
    assert shown == {"REQUEST_METHOD": "GET"} and "HTTP_RANGE" in environ


def test_asgi_pairs_without_those_headers_need_no_copy():
    assert RequestPolicy(Plain()).pairs([(b"accept", b"*/*")]) is None


def test_asgi_pairs_lose_the_removed_headers_whatever_their_case():
    pairs = [(b"Range", b"bytes=0-1"), (b"accept", b"*/*")]
    assert RequestPolicy(Plain()).pairs(pairs) == [(b"accept", b"*/*")]


def test_every_filter_carries_its_policy():
    flt = Plain()
    assert isinstance(flt.request_policy, RequestPolicy)
