"""A failing filter gives dualfilter's clean 500: never half a page, never a traceback (DEBUG off)."""

from __future__ import annotations

import gc
import io
import logging

import pytest
from django.test import AsyncClient, Client
from django_middleware_project import Broken, project, spec

CLEAN_500 = b"Internal Server Error\n"


def assert_clean_500(response):
    body = b"".join(response)
    assert (response.status_code, body) == (500, CLEAN_500)
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["Content-Length"] == str(len(CLEAN_500))


def test_a_failing_filter_gives_a_clean_500(caplog):
    with project([spec("Broken")]), caplog.at_level(logging.ERROR, "dualfilter"):
        response = Client().get("/html/")
    assert_clean_500(response)
    assert "Broken raised on GET /html/" in caplog.text


def test_the_clean_500_has_no_traceback_and_no_detail_of_the_error():
    with project([spec("Broken")]):
        assert b"secret" not in Client().get("/html/").content


def test_a_filter_in_debug_mode_puts_the_traceback_in_the_500():
    with project([Broken(debug=True)]):
        response = Client().get("/html/")
    assert response.status_code == 500 and b"RuntimeError: secret detail of a broken filter" in response.content


def test_the_clean_500_drops_the_views_cookies():
    with project([spec("Broken")]):
        response = Client().get("/cookie/")
    assert response.status_code == 500 and "session" not in response.cookies


@pytest.mark.parametrize("client", [Client, AsyncClient], ids=["sync", "async"])
async def test_the_412_in_a_filtered_pages_place_drops_the_views_cookies_as_on_every_host(client):
    # A filtered page has no strong tag: If-Match naming one is the filter's own 412, which carries
    # nothing of the view's page (its session cookie included), as the other hosts send it.
    with project([spec("Upper")]):
        if client is AsyncClient:
            response = await AsyncClient().get("/cookie/", headers={"If-Match": '"v1"'})
        else:
            response = Client().get("/cookie/", HTTP_IF_MATCH='"v1"')
    assert response.status_code == 412 and "session" not in response.cookies
    assert response.content == b"Precondition Failed\nThe page has changed.\n"


def test_a_failing_filter_over_a_streaming_response_gives_a_clean_500():
    with project([spec("Broken")]):
        assert_clean_500(Client().get("/streamed/"))


def test_a_failing_filter_over_a_file_response_gives_a_clean_500():
    with project([spec("Broken")]):
        assert_clean_500(Client().get("/file/"))


def test_a_stream_failing_on_a_whole_response_gives_a_clean_500():
    with project([spec("StreamUpper", "fail_on=hello")]):
        assert_clean_500(Client().get("/html/"))


def test_a_stream_that_cannot_open_gives_a_clean_500_before_any_byte():
    with project([spec("OpenFails")]):
        assert_clean_500(Client().get("/streamed/"))


async def test_a_failing_async_filter_gives_a_clean_500_under_the_async_client():
    with project([spec("AsyncBroken")]):
        response = await AsyncClient().get("/html/")
    assert_clean_500(response)


async def test_a_failing_filter_over_an_async_stream_gives_a_clean_500():
    with project([spec("Broken")]):
        response = await AsyncClient().get("/astreamed/")
        assert (response.status_code, b"".join([chunk async for chunk in response])) == (500, CLEAN_500)


@pytest.mark.parametrize("query", ["max_buffer_size=10", "max_buffer_size=10&oversize=error"])
def test_a_page_larger_than_max_buffer_size_gets_a_502(query):
    with project([spec("Upper", query)]):
        response = Client().get("/html/")
    assert (response.status_code, response.content) == (502, b"Bad Gateway\nThe response was too large to filter.\n")


def test_a_view_stream_that_raises_while_the_filter_reads_it_goes_to_djangos_error_handling():
    with project([spec("Upper")]):
        response = Client(raise_request_exception=False).get("/broken-view-stream/")
    assert response.status_code == 500 and b"<h1>Server Error (500)</h1>" in response.content
    assert b"<p>one</p>" not in response.content and b"broke" not in response.content


@pytest.mark.parametrize("client", [Client, AsyncClient], ids=["sync", "async"])
async def test_a_failing_filter_is_logged_once_not_again_by_djangos_handler(client, caplog):
    # Django logs a 500 on django.request unless the response says it was logged (as its own 500s do);
    # the failure is dualfilter's, logged once (an AdminEmailHandler would mail it twice).
    with project([spec("Broken")]), caplog.at_level(logging.ERROR):
        response = client().get("/html/")
        if client is AsyncClient:
            response = await response
    assert_clean_500(response)
    assert [(record.name, record.getMessage()) for record in caplog.records] == [("dualfilter", "Broken raised on GET /html/")]


class _BreaksOnSecondRead(io.BytesIO):
    """A file whose second read fails (a disk or network file going away)."""

    reads = 0

    def read(self, *args):
        self.reads += 1
        if self.reads > 1:
            raise OSError("the file went away")
        return super().read(*args)


@pytest.mark.parametrize("is_async", [False, True])
async def test_a_view_body_that_fails_as_the_filter_reads_it_is_closed_at_once(is_async):
    # Django answers the error with its own response and closes that one; the view's
    # file must not wait for the garbage collector (it would hold a descriptor until then).
    from django.http import FileResponse
    from django.test import RequestFactory

    from dualfilter.django import FilterMiddleware

    source = _BreaksOnSecondRead(b"<p>" + b"x" * 10000 + b"</p>")
    response = FileResponse(source, content_type="text/html")
    response.block_size = 4096

    async def aview(request):
        return response

    enabled = gc.isenabled()
    gc.disable()
    try:
        with project([spec("Upper")]):
            middleware = FilterMiddleware(aview if is_async else (lambda request: response))
            with pytest.raises(OSError, match="went away"):
                result = middleware(RequestFactory().get("/"))
                if is_async:
                    await result
        assert source.closed
    finally:
        if enabled:
            gc.enable()
