"""Django's GZipMiddleware and ConditionalGetMiddleware on either side of the filter: what each order gives.

Right: both above (outside) the filter in MIDDLEWARE, so the filter sees the
view's uncompressed body and ETags are computed on the filtered one.
"""

from __future__ import annotations

import gzip
import hashlib

import django_middleware_project as project_module
import pytest
from django.test import AsyncClient, Client
from django.test.utils import override_settings
from django_middleware_project import FILTER_MIDDLEWARE, LONG_PAGE, PAGE, PIECES, Progress, Upper, project, spec

GZIP = "django.middleware.gzip.GZipMiddleware"
CONDITIONAL = "django.middleware.http.ConditionalGetMiddleware"
GZIP_OUTSIDE = [GZIP, FILTER_MIDDLEWARE]
GZIP_INSIDE = [FILTER_MIDDLEWARE, GZIP]


@pytest.fixture(autouse=True)
def progress():
    project_module.PROGRESS = Progress()
    return project_module.PROGRESS


UPPER_SPEC = spec("Upper")


def get_gzipped(middleware, path, filters=(UPPER_SPEC,)):
    with project(list(filters), middleware=middleware):
        return Client().get(path, HTTP_ACCEPT_ENCODING="gzip")


def has_django_breach_padding(body: bytes) -> bool:
    """Django's GZipMiddleware sets FNAME in the gzip header (random-length padding against BREACH)."""
    return bool(body[3] & gzip.FNAME)


# -- GZip outside: the filter sees plain HTML, GZip compresses the filtered page -----------------


def test_gzip_outside_compresses_the_filtered_page():
    response = get_gzipped(GZIP_OUTSIDE, "/long/")
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content) == LONG_PAGE.upper().encode()
    assert response["Content-Length"] == str(len(response.content))


def test_gzip_outside_keeps_djangos_breach_padding():
    assert has_django_breach_padding(get_gzipped(GZIP_OUTSIDE, "/long/").content)


def test_gzip_outside_leaves_a_filtered_stream_streaming(progress):
    response = get_gzipped(GZIP_OUTSIDE, "/streamed/", [spec("StreamUpper")])
    # Only the view's first piece is read before Django sends the response: the
    # stream's start is held until its first output byte, then the rest streams.
    assert progress.produced == 1
    assert gzip.decompress(b"".join(response)) == PAGE.upper().encode()


# -- GZip inside: the filter gets a compressed page; the core must undo and redo the compression --


def test_gzip_inside_still_filters_by_decompressing_and_recompressing():
    response = get_gzipped(GZIP_INSIDE, "/long/")
    assert response["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.content) == LONG_PAGE.upper().encode()


def test_gzip_inside_loses_djangos_breach_padding():
    assert not has_django_breach_padding(get_gzipped(GZIP_INSIDE, "/long/").content)


def test_gzip_inside_turns_a_streamed_page_into_a_buffered_one(progress):
    response = get_gzipped(GZIP_INSIDE, "/streamed/", [spec("StreamUpper")])
    assert progress.produced == len(PIECES)  # all read before the response is returned
    assert response["Content-Length"] == str(len(b"".join(response)))


# -- ConditionalGet outside: ETags of the filtered body, 304s that are true ------------------------


def etag_of(body: bytes) -> str:
    return f'"{hashlib.md5(body).hexdigest()}"'


def test_conditional_get_outside_tags_the_filtered_body():
    with project([spec("Upper")], middleware=[CONDITIONAL, FILTER_MIDDLEWARE]):
        response = Client().get("/html/")
    assert response["ETag"] == etag_of(PAGE.upper().encode())


def test_conditional_get_outside_answers_the_filtered_bodys_tag_with_a_304():
    with project([spec("Upper")], middleware=[CONDITIONAL, FILTER_MIDDLEWARE]):
        response = Client().get("/html/", HTTP_IF_NONE_MATCH=etag_of(PAGE.upper().encode()))
    assert (response.status_code, response.content) == (304, b"")


def test_conditional_get_outside_never_answers_the_unfiltered_bodys_tag_with_a_304():
    with project([spec("Upper")], middleware=[CONDITIONAL, FILTER_MIDDLEWARE]):
        response = Client().get("/html/", HTTP_IF_NONE_MATCH=etag_of(PAGE.encode()))
    assert (response.status_code, response.content) == (200, PAGE.upper().encode())


# -- ConditionalGet inside: it tags the unfiltered body, so the filter drops the tag -----------------


def test_conditional_get_inside_leaves_the_filtered_page_without_an_etag():
    with project([spec("Upper")], middleware=[FILTER_MIDDLEWARE, CONDITIONAL]):
        response = Client().get("/html/", HTTP_IF_NONE_MATCH=etag_of(PAGE.encode()))
    assert (response.status_code, response.content, response.get("ETag")) == (200, PAGE.upper().encode(), None)


def test_conditional_get_inside_revalidates_through_derived_tags_without_force_no_conditional():
    with project([Upper(force_no_conditional=False)], middleware=[FILTER_MIDDLEWARE, CONDITIONAL]):
        client = Client()
        first = client.get("/html/")
        again = client.get("/html/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert first["ETag"].startswith(f'W/"{hashlib.md5(PAGE.encode()).hexdigest()}-df')
    assert (again.status_code, again["ETag"]) == (304, first["ETag"])


UPDATE_CACHE = "django.middleware.cache.UpdateCacheMiddleware"
FETCH_FROM_CACHE = "django.middleware.cache.FetchFromCacheMiddleware"
#: Django's per-site cache as its docs lay it out (Update first, Fetch last), the filter between.
CACHED_SITE = [UPDATE_CACHE, FILTER_MIDDLEWARE, "django.middleware.common.CommonMiddleware", FETCH_FROM_CACHE]
LOCMEM = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dualfilter-order"}}


@pytest.mark.parametrize("client_class", [Client, AsyncClient])
async def test_a_page_from_the_per_site_cache_below_the_filter_is_not_filtered_again(client_class):
    # The cache stores the filtered page (UpdateCacheMiddleware is above the filter) and
    # FetchFromCacheMiddleware returns it from below: each answer is filtered once.
    filters = [spec("Append", "text=!"), spec("Append", "text=?")]
    with project(filters, middleware=CACHED_SITE, CACHES=LOCMEM, CACHE_MIDDLEWARE_SECONDS=60):
        client = client_class()
        bodies = []
        for _ in range(3):
            response = client.get("/html/")
            response = await response if client_class is AsyncClient else response
            bodies.append((response.content, response["X-Order"]))
    assert bodies == [(PAGE.encode() + b"!?", "!?")] * 3


def test_a_cached_page_is_not_filtered_again_after_the_filters_changed():
    # A redeploy with another DUALFILTER_FILTERS while the cache still holds pages the old ones filtered.
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "dualfilter-redeploy"}}
    with override_settings(CACHES=caches, CACHE_MIDDLEWARE_SECONDS=60):
        with project([spec("Append", "text=!")], middleware=CACHED_SITE):
            first = Client().get("/html/")
        with project([spec("Append", "text=!"), spec("Append", "text=?")], middleware=CACHED_SITE):
            cached = Client().get("/html/")
    assert first.content == cached.content == PAGE.encode() + b"!"
