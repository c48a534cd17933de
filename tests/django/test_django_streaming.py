"""A streaming filter keeps a streaming response streaming, sync and async; a buffered one holds it."""

from __future__ import annotations

import warnings

import django_middleware_project as project_module
import pytest
from django.test import AsyncClient, Client
from django_middleware_project import BIG_PAGE, FILTER_MIDDLEWARE, HERE, PAGE, PIECES, Progress, project, spec

from dualfilter import StreamError

UPPER = PAGE.upper().encode()
BIG_UPPER = BIG_PAGE.upper().encode()
#: Django's own warnings for an iterator served by a handler of the other kind; not the filter's doing.
OTHER_KIND = pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume")


@pytest.fixture(autouse=True)
def progress():
    project_module.PROGRESS = Progress()
    return project_module.PROGRESS


def test_a_streaming_filter_sends_its_first_chunk_before_the_view_made_its_last(progress):
    with project([spec("StreamUpper")]):
        response = Client().get("/streamed/")
        chunks = iter(response.streaming_content)
        first = next(chunks)
        assert (first, progress.produced) == (PIECES[0].upper().encode(), 1)
        assert first + b"".join(chunks) == UPPER


async def test_a_streaming_filter_streams_an_async_iterator_under_the_async_client(progress):
    with project([spec("StreamUpper")]):
        response = await AsyncClient().get("/astreamed/")
        assert response.is_async
        chunks = aiter(response.streaming_content)
        first = await anext(chunks)
        assert (first, progress.produced) == (PIECES[0].upper().encode(), 1)
        assert first + b"".join([chunk async for chunk in chunks]) == UPPER


async def test_an_async_iterator_stays_async_so_django_serves_it_without_a_warning():
    with project([spec("StreamUpper")]):
        response = await AsyncClient().get("/astreamed/")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert b"".join([chunk async for chunk in response]) == UPPER


def test_a_sync_iterator_stays_sync():
    with project([spec("StreamUpper")]):
        response = Client().get("/streamed/")
        assert not response.is_async and b"".join(response) == UPPER


def test_a_streamed_response_leaves_without_a_content_length():
    with project([spec("StreamUpper")]):
        response = Client().get("/streamed/")
        assert response.get("Content-Length") is None and b"".join(response) == UPPER


def test_a_streaming_filter_over_a_whole_response_gives_a_whole_response_with_its_length():
    with project([spec("StreamUpper")]):
        response = Client().get("/html/")
    assert (response.streaming, response.content, response["Content-Length"]) == (False, UPPER, str(len(UPPER)))


def test_a_buffered_filter_reads_the_whole_stream_before_the_response_is_returned(progress):
    with project([spec("Upper")]):
        response = Client().get("/streamed/")
        assert progress.produced == len(PIECES)
        assert (b"".join(response), response["Content-Length"]) == (UPPER, str(len(UPPER)))


def test_streamed_and_buffered_filtering_give_the_same_bytes():
    with project([spec("StreamUpper")]):
        streamed = b"".join(Client().get("/streamed/"))
    with project([spec("Upper")]):
        buffered = b"".join(Client().get("/streamed/"))
    assert streamed == buffered == UPPER


def test_a_stream_that_fails_midway_cuts_the_response_short():
    with project([spec("StreamUpper", "fail_on=BOOM")]):
        chunks = iter(Client().get("/failing-stream/").streaming_content)
        assert [next(chunks), next(chunks)] == [b"<P>ONE</P>", b"<P>TWO</P>"]
        with pytest.raises(StreamError, match="stream failed on purpose"):
            next(chunks)


async def test_a_stream_that_fails_midway_cuts_an_async_response_short():
    with project([spec("StreamUpper", "fail_on=hello")]):
        response = await AsyncClient().get("/astreamed/")
        with pytest.raises(StreamError):
            [chunk async for chunk in response.streaming_content]


def test_an_oversized_stream_under_oversize_pass_goes_on_unfiltered_and_unbuffered(progress):
    with project([project_module.Upper(max_buffer_size=25, oversize="pass")]):
        response = Client().get("/streamed/")
        assert progress.produced < len(PIECES)  # the rest is read as it is sent
        assert b"".join(response) == PAGE.encode()


# -- an iterator of the other kind than the handler's: Django reads it whole, the filter still gets all of it --


async def all_of(response) -> bytes:
    return b"".join([chunk async for chunk in response])  # either kind of iterator, as Django's ASGI handler reads it


@OTHER_KIND
async def test_a_file_response_under_the_async_client_is_streamed_through_the_filter_whole():
    with project([spec("StreamUpper")]):
        assert await all_of(await AsyncClient().get("/big-file/")) == BIG_UPPER


@OTHER_KIND
def test_an_async_iterator_under_the_sync_client_is_streamed_through_the_filter_whole():
    with project([spec("StreamUpper")]):
        assert b"".join(Client().get("/abig/")) == BIG_UPPER


@OTHER_KIND
async def test_an_async_iterator_is_streamed_whole_when_a_sync_middleware_below_makes_the_filter_run_sync():
    with project([spec("StreamUpper")], middleware=[FILTER_MIDDLEWARE, f"{HERE}.sync_only"]):
        assert await all_of(await AsyncClient().get("/abig/")) == BIG_UPPER


@OTHER_KIND
@pytest.mark.parametrize("path", ["/streamed/", "/astreamed/", "/big-file/", "/abig/"])
@pytest.mark.parametrize("filters", [[spec("StreamUpper")], [spec("Upper", "max_buffer_size=20&oversize=pass")]])
def test_under_the_sync_client_a_stream_arrives_whole_when_an_async_only_middleware_below_runs_the_filter_async(path, filters):
    # The view's iterator, begun in the event loop Django runs the async chain in, ends with it:
    # the filter reads it there to its end (streamed through StreamUpper, or passed on past 20 bytes).
    page = BIG_PAGE if "big" in path else PAGE
    expected = page.upper() if filters[0].endswith("StreamUpper") else page
    with project(filters, middleware=[FILTER_MIDDLEWARE, f"{HERE}.async_only"]):
        assert b"".join(Client().get(path)) == expected.encode()
