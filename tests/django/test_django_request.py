"""The request policy: the middleware and views below see the request the filter allows; those above, the request as it came."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django.test import AsyncClient, Client, RequestFactory
from django_middleware_project import PAGE, Upper, project, spec

from dualfilter import validators
from dualfilter.django import FilterMiddleware

RANGE = {"HTTP_RANGE": "bytes=0-5", "HTTP_IF_RANGE": '"v1"'}
CONDITIONAL = {"HTTP_IF_NONE_MATCH": '"v1"', "HTTP_IF_MODIFIED_SINCE": "Wed, 21 Oct 2015 07:28:00 GMT"}
RECORDED: list[dict[str, object]] = []
HERE = "test_django_request"


def seen(response) -> dict[str, dict[str, str | None]]:
    return json.loads(response.content)


def test_the_view_never_sees_range_headers_in_meta_or_in_request_headers():
    with project([spec("Upper")]):
        shown = seen(Client().get("/seen/", **RANGE))
    assert shown["meta"]["Range"] is shown["headers"]["Range"] is None
    assert shown["meta"]["If-Range"] is shown["headers"]["If-Range"] is None


async def test_the_async_view_never_sees_range_headers():
    with project([spec("Upper")]):
        shown = seen(await AsyncClient().get("/seen/", **RANGE))
    assert shown["meta"]["Range"] is shown["headers"]["Range"] is None


def test_conditional_headers_are_hidden_under_force_no_conditional():
    with project([spec("Upper")]):
        shown = seen(Client().get("/seen/", **CONDITIONAL))
    assert shown["meta"]["If-None-Match"] is shown["headers"]["If-None-Match"] is None
    assert shown["meta"]["If-Modified-Since"] is shown["headers"]["If-Modified-Since"] is None


def test_if_none_match_is_translated_without_force_no_conditional():
    flt = Upper(force_no_conditional=False)
    derived = validators.derive('"v1"', flt.validator_token())
    with project([flt]):
        shown = seen(Client().get("/seen/", HTTP_IF_NONE_MATCH=derived))
    assert shown["meta"]["If-None-Match"] == shown["headers"]["If-None-Match"] == f'{derived}, "v1"'


def test_a_page_revalidates_with_the_derived_tag_it_was_sent():
    with project([Upper(force_no_conditional=False)]):
        client = Client()
        first = client.get("/tagged/")
        again = client.get("/tagged/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert (first.status_code, first.content) == (200, PAGE.upper().encode())
    assert first["ETag"] != '"v1"'
    assert (again.status_code, again["ETag"]) == (304, first["ETag"])


class RecordRequest:
    """A middleware that reads ``request.headers`` (caching it) before and after the rest of the chain."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        before = request.headers.get("Range")
        response = self.get_response(request)
        RECORDED.append({"before": before, "after": request.headers.get("Range"), "meta": request.META.get("HTTP_RANGE")})
        return response


def test_a_middleware_above_sees_the_request_as_it_came_before_and_after():
    RECORDED.clear()
    with project([spec("Upper")], middleware=[f"{HERE}.RecordRequest", "dualfilter.django.FilterMiddleware"]):
        shown = seen(Client().get("/seen/", **RANGE))
    assert shown["headers"]["Range"] is None
    assert RECORDED == [{"before": "bytes=0-5", "after": "bytes=0-5", "meta": "bytes=0-5"}]


def test_a_middleware_below_sees_the_request_the_filter_allows():
    RECORDED.clear()
    with project([spec("Upper")], middleware=["dualfilter.django.FilterMiddleware", f"{HERE}.RecordRequest"]):
        Client().get("/html/", **RANGE)
    assert RECORDED == [{"before": None, "after": None, "meta": None}]


def test_a_request_the_policy_leaves_alone_keeps_its_meta_dict():
    metas = []

    def view(request):
        metas.append(request.META)
        return HttpResponse(PAGE, content_type="text/html")

    with project([spec("Upper")]):
        request = RequestFactory().get("/", HTTP_ACCEPT="text/html")
        meta = dict(request.META)
        FilterMiddleware(view)(request)
    assert metas == [request.META] and metas[0] is request.META and request.META == meta
