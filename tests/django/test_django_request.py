"""The request policy: views see a safe request as sent, and are asked again without its ranges and
conditionals when their 206 or 304 may stand for a filtered page; those above see the request as it came."""

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


def test_a_safe_request_reaches_the_view_with_its_range_headers_in_meta_and_request_headers():
    with project([spec("Upper")]):
        shown = seen(Client().get("/seen/", **RANGE))
    assert shown["meta"]["Range"] == shown["headers"]["Range"] == "bytes=0-5"
    assert shown["meta"]["If-Range"] == shown["headers"]["If-Range"] == '"v1"'


async def test_a_safe_request_reaches_the_async_view_with_its_range_headers():
    with project([spec("Upper")]):
        # AsyncClient takes request headers by name in ``headers`` (HTTP_* keywords go to the scope).
        shown = seen(await AsyncClient().get("/seen/", headers={"Range": "bytes=0-5"}))
    assert shown["meta"]["Range"] == shown["headers"]["Range"] == "bytes=0-5"


def test_conditional_headers_reach_the_view():
    with project([spec("Upper")]):
        shown = seen(Client().get("/seen/", **CONDITIONAL))
    assert shown["meta"]["If-None-Match"] == shown["headers"]["If-None-Match"] == '"v1"'


def ranged_view(asked):
    """A view that answers a Range with a 206 of its page, as a range-aware view does."""

    def view(request):
        asked.append(request.headers.get("Range"))
        if "Range" in request.headers:
            response = HttpResponse(PAGE.encode()[:6], status=206, content_type="text/html")
            response["Content-Range"] = f"bytes 0-5/{len(PAGE.encode())}"
            return response
        return HttpResponse(PAGE, content_type="text/html")

    return view


def test_a_partial_of_a_filtered_page_makes_the_view_asked_again_without_its_range():
    asked: list[str | None] = []
    with project([spec("Upper")]):
        response = FilterMiddleware(ranged_view(asked))(RequestFactory().get("/", HTTP_RANGE="bytes=0-5"))
    assert asked == ["bytes=0-5", None]
    assert (response.status_code, response.content) == (206, PAGE.upper().encode()[:6])
    assert response["Content-Range"] == f"bytes 0-5/{len(PAGE.upper().encode())}"


def test_if_none_match_is_translated_without_force_no_conditional():
    flt = Upper(force_no_conditional=False)
    derived = validators.derive('"v1"', flt.validator_token())
    with project([flt]):
        shown = seen(Client().get("/seen/", HTTP_IF_NONE_MATCH=derived))
    assert shown["meta"]["If-None-Match"] == shown["headers"]["If-None-Match"] == '"v1"'


def test_a_page_revalidates_with_the_derived_tag_it_was_sent():
    with project([Upper(force_no_conditional=False)]):
        client = Client()
        first = client.get("/tagged/")
        again = client.get("/tagged/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert (first.status_code, first.content) == (200, PAGE.upper().encode())
    assert first["ETag"] != '"v1"'
    assert (again.status_code, again["ETag"]) == (304, first["ETag"])


def test_the_views_own_304_for_a_page_not_filtered_gets_no_content_length():
    with project([spec("Upper")]):
        response = Client().get("/tagged-png/", HTTP_IF_NONE_MATCH='"v1"')
    assert (response.status_code, response.content, response.get("Content-Length")) == (304, b"", None)


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
    assert shown["headers"]["Range"] == "bytes=0-5"
    assert RECORDED == [{"before": "bytes=0-5", "after": "bytes=0-5", "meta": "bytes=0-5"}]


def test_a_middleware_below_sees_a_safe_request_as_sent():
    RECORDED.clear()
    with project([spec("Upper")], middleware=["dualfilter.django.FilterMiddleware", f"{HERE}.RecordRequest"]):
        Client().get("/html/", **RANGE)
    assert RECORDED == [{"before": "bytes=0-5", "after": "bytes=0-5", "meta": "bytes=0-5"}]


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


def test_a_process_view_above_the_filter_can_tell_the_view_is_asked_again():
    # Django runs every middleware's process_view from its innermost handler: on the second
    # call too, which is marked; the request is the client's again once the filter returns.
    from django_middleware_project import FILTER_MIDDLEWARE, VIEWS_SEEN
    from django_middleware_project import HERE as PROJECT

    VIEWS_SEEN.clear()
    with project([spec("Upper")], middleware=[f"{PROJECT}.RecordsViews", FILTER_MIDDLEWARE]):
        response = Client().get("/tagged/", HTTP_IF_NONE_MATCH='"v1"')
    assert response.status_code == 200 and response.content == response.content.upper()
    assert VIEWS_SEEN == [('"v1"', False), (None, True)]
    assert "dualfilter.asked_again" not in response.wsgi_request.META
    assert response.wsgi_request.META["HTTP_IF_NONE_MATCH"] == '"v1"'
