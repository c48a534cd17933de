"""The middleware in an async handler chain (AsyncClient): it runs as a coroutine, filters are awaited."""

from __future__ import annotations

import asyncio
import warnings

import pytest
from django.http import HttpResponse
from django.test import AsyncClient, RequestFactory
from django_middleware_project import PAGE, project, spec

from dualfilter.django import FilterMiddleware

UPPER = PAGE.upper().encode()


async def async_view(request):
    return HttpResponse(PAGE, content_type="text/html")


def test_the_middleware_is_a_coroutine_function_when_the_next_handler_is_async():
    with project([spec("Upper")]):
        assert asyncio.iscoroutinefunction(FilterMiddleware(async_view))
        assert not asyncio.iscoroutinefunction(FilterMiddleware(lambda request: None))


async def test_called_in_async_mode_it_returns_the_filtered_response():
    with project([spec("Upper")]):
        response = await FilterMiddleware(async_view)(RequestFactory().get("/"))
    assert response.content == UPPER


async def test_an_html_response_is_filtered_under_the_async_client():
    with project([spec("Upper")]):
        response = await AsyncClient().get("/html/")
    assert (response.content, response["Content-Length"]) == (UPPER, str(len(UPPER)))


async def test_an_async_def_filter_is_awaited():
    with project([spec("AsyncUpper")]):
        response = await AsyncClient().get("/html/")
    assert response.content == UPPER


async def test_an_async_streaming_response_is_filtered_by_a_buffered_filter():
    with project([spec("Upper")]):
        response = await AsyncClient().get("/astreamed/")
        assert b"".join([chunk async for chunk in response]) == UPPER
        assert response["Content-Length"] == str(len(UPPER))


async def test_a_file_response_is_filtered_under_the_async_client():
    with project([spec("Upper")]):
        with pytest.warns(Warning, match="must consume synchronous iterators"):  # Django's own, for any file under ASGI
            response = await AsyncClient().get("/file/")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the filtered body is handed on as an async iterator
            assert b"".join([chunk async for chunk in response]) == UPPER


async def test_a_response_of_another_type_passes_unchanged_under_the_async_client():
    with project([spec("Upper")]):
        response = await AsyncClient().get("/text/")
    assert response.content == b"<p>plain</p>"


def test_an_async_def_filter_runs_to_completion_under_the_sync_client():
    from django.test import Client

    with project([spec("AsyncUpper")]):
        assert Client().get("/html/").content == UPPER
