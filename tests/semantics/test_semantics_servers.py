"""Ranges, validators and bodiless answers on real servers, on the wire.

Each server serves the sites of ``semantics_sites`` (the same app with and
without the filter, side by side): uvicorn (h11) and hypercorn over HTTP/1.1,
hypercorn over HTTP/2 (h2c with prior knowledge), waitress and gunicorn (sync
worker) for WSGI. The static servers (Starlette's StaticFiles, whitenoise,
WebOb's DirectoryApp) answer Range and validators themselves: a file the filter
leaves alone keeps those answers exactly; a filtered page is answered from
its filtered body, and a validator issued before the filter never
revalidates it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dualfilter.validators import derive

from .semantics_servers import Reply, http1, http2, hypercorn_serving, serving
from .semantics_sites import PAGE, Redact, asgi_site, redact, write_static, wsgi_site

FILTERED = redact(PAGE)
SERVERS = ("uvicorn", "hypercorn", "hypercorn-h2", "waitress", "gunicorn")
ASGI = ("uvicorn", "hypercorn", "hypercorn-h2")
WSGI = ("waitress", "gunicorn")
WAITRESS_HEAD = (
    "dualfilter/machine.py start: a HEAD of a filtered type leaves without Content-Length (responses.BODY_BOUND); "
    "waitress (task.py WSGITask: chunked_response, finish) then frames it chunked and writes the last chunk "
    "'0\\r\\n\\r\\n' after the HEAD response's header section (waitress never suppresses a HEAD body itself): "
    "5 bytes a keep-alive client reads as the start of the next response"
)
#: Headers that differ from one response to the next whatever the filter does.
VOLATILE = frozenset({"date"})


class Site:
    """One server serving a semantics site; requests in the protocol the server is tested in."""

    def __init__(self, name: str, port: int) -> None:
        self.name, self.port = name, port
        self.h2 = name.endswith("-h2")
        #: The static servers of the site, by path under a prefix.
        self.static = ("/static",) if name in ASGI else ("/static", "/webob")

    def get(self, path: str, headers: list[tuple[str, str]] | None = None, method: str = "GET") -> Reply:
        return (http2 if self.h2 else http1)(self.port, method, path, headers or [])


@pytest.fixture(scope="module", params=SERVERS)
def site(request: Any, tmp_path_factory: Any) -> Iterator[Site]:
    static = write_static(tmp_path_factory.mktemp("static"))
    name = request.param
    app = asgi_site(static) if name in ASGI else wsgi_site(static)
    with serving(name, app, static) as port:
        yield Site(name, port)


def stable(reply: Reply) -> tuple[int, dict[str, str], bytes]:
    return reply.status, {k: v for k, v in reply.headers.items() if k not in VOLATILE}, reply.body


def assert_no_body(reply: Reply) -> None:
    """Nothing followed the header section: no bytes (HTTP/1.1), no DATA frame (HTTP/2)."""
    assert (reply.body, reply.wire, reply.data_frames) == (b"", b"", 0)


def assert_true_length(reply: Reply) -> None:
    length = reply.header("content-length")
    assert length is not None and int(length) == len(reply.body)


# -- a file the filter leaves alone: the app's own 206 and 304, exactly ---------------------------------


def test_an_unfiltered_static_file_keeps_its_206_exactly_as_without_the_filter(site):
    for static in site.static:
        path = f"{static}/style.css"
        alone = site.get(f"/raw{path}", [("Range", "bytes=5-24")])
        assert alone.status == 206 and len(alone.body) == 20, static  # the app honours ranges
        assert stable(site.get(f"/f{path}", [("Range", "bytes=5-24")])) == stable(alone), static


def unbounded(reply: Reply) -> tuple[int, dict[str, str], bytes]:
    """:func:`stable`, with the multipart boundary (a random one per response) named ``B``."""
    status, headers, body = stable(reply)
    boundary = headers["content-type"].split("boundary=", 1)[1]
    headers["content-type"] = headers["content-type"].replace(boundary, "B")
    return status, headers, body.replace(boundary.encode(), b"B")


def test_an_unfiltered_static_file_keeps_its_answer_to_several_ranges_exactly_as_without_the_filter(site):
    # A multipart 206's parts name the page's type (RFC 9110 section 14.6): the filter reads up
    # to the first part's header, and a type it leaves alone keeps the app's own answer
    # (Starlette's StaticFiles sends one; WebOb's DirectoryApp serves the first range alone).
    for static in site.static:
        path = f"{static}/style.css"
        alone = site.get(f"/raw{path}", [("Range", "bytes=0-1,5-9")])
        through = site.get(f"/f{path}", [("Range", "bytes=0-1,5-9")])
        if alone.headers["content-type"].startswith("multipart/byteranges"):
            assert alone.status == 206 and unbounded(through) == unbounded(alone), static
        else:
            assert stable(through) == stable(alone), static


def test_an_unfiltered_static_file_keeps_its_304_for_its_etag_exactly_as_without_the_filter(site):
    path = f"{site.static[0]}/style.css"  # WebOb's DirectoryApp sends no ETag
    validator = ("If-None-Match", site.get(f"/raw{path}").headers["etag"])
    alone = site.get(f"/raw{path}", [validator])
    assert alone.status == 304
    through = site.get(f"/f{path}", [validator])
    assert stable(through) == stable(alone)
    assert_no_body(through)


def test_an_unfiltered_static_file_keeps_its_304_for_if_modified_since_exactly_as_without_the_filter(site):
    for static in site.static:
        path = f"{static}/style.css"
        since = site.get(f"/raw{path}").headers["last-modified"]
        alone = site.get(f"/raw{path}", [("If-Modified-Since", since)])
        through = site.get(f"/f{path}", [("If-Modified-Since", since)])
        assert alone.status == 304 and stable(through) == stable(alone), static
        assert_no_body(through)


# -- a filtered page: ranges of the filtered body ---------------------------------------------------


def test_a_range_of_a_filtered_page_is_a_206_of_the_filtered_body_with_a_true_content_range(site):
    path = f"{site.static[0]}/page.html"
    assert site.get(f"/raw{path}", [("Range", "bytes=10-39")]).status == 206  # the app answers ranges itself
    reply = site.get(f"/f{path}", [("Range", "bytes=10-39")])
    assert (reply.status, reply.body) == (206, FILTERED[10:40])
    assert reply.header("content-range") == f"bytes 10-39/{len(FILTERED)}"
    assert_true_length(reply)


def test_a_suffix_range_of_a_filtered_page_is_the_end_of_the_filtered_body(site):
    reply = site.get(f"/f{site.static[0]}/page.html", [("Range", "bytes=-17")])
    assert (reply.status, reply.body) == (206, FILTERED[-17:])
    assert reply.header("content-range") == f"bytes {len(FILTERED) - 17}-{len(FILTERED) - 1}/{len(FILTERED)}"


def test_a_range_past_the_end_of_the_filtered_page_is_a_416_naming_its_length(site):
    reply = site.get(f"/f{site.static[0]}/page.html", [("Range", f"bytes={len(FILTERED)}-")])
    assert reply.status == 416 and reply.header("content-range") == f"bytes */{len(FILTERED)}"


def test_a_range_past_the_unfiltered_length_but_inside_the_filtered_one_is_served(site):
    # The filtered page is longer than the app's: the app would answer 416 here.
    first = len(PAGE) + 1
    reply = site.get(f"/f{site.static[0]}/page.html", [("Range", f"bytes={first}-")])
    assert (reply.status, reply.body) == (206, FILTERED[first:])


def test_a_range_with_an_if_range_from_before_the_filter_gets_the_whole_filtered_page(site):
    path = f"{site.static[0]}/page.html"
    etag = site.get(f"/raw{path}").headers["etag"]
    reply = site.get(f"/f{path}", [("Range", "bytes=0-9"), ("If-Range", etag)])
    assert (reply.status, reply.body) == (200, FILTERED)
    assert_true_length(reply)


# -- a filtered page: validators --------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["f", "c"])
def test_an_if_none_match_from_before_the_filter_gets_the_whole_filtered_page(site, prefix):
    path = f"{site.static[0]}/page.html"
    etag = site.get(f"/raw{path}").headers["etag"]
    assert site.get(f"/raw{path}", [("If-None-Match", etag)]).status == 304  # the app revalidates it
    reply = site.get(f"/{prefix}{path}", [("If-None-Match", etag)])
    assert (reply.status, reply.body) == (200, FILTERED)
    assert_true_length(reply)


@pytest.mark.parametrize("prefix", ["f", "c"])
def test_an_if_modified_since_from_before_the_filter_gets_the_whole_filtered_page(site, prefix):
    path = f"{site.static[0]}/page.html"
    since = site.get(f"/raw{path}").headers["last-modified"]
    reply = site.get(f"/{prefix}{path}", [("If-Modified-Since", since)])
    assert (reply.status, reply.body) == (200, FILTERED)


def test_a_filtered_page_carries_no_validators_and_no_accept_ranges(site):
    reply = site.get(f"/f{site.static[0]}/page.html")
    assert reply.body == FILTERED
    assert {"etag", "last-modified", "accept-ranges"} & set(reply.headers) == set()


def test_with_conditionals_allowed_a_filtered_page_carries_only_a_derived_weak_etag(site):
    path = f"{site.static[0]}/page.html"
    own = site.get(f"/raw{path}").headers["etag"]
    reply = site.get(f"/c{path}")
    token = Redact(force_no_conditional=False).validator_token()
    assert reply.header("etag") == f'W/"{own.removeprefix("W/").strip(chr(34))}-df{"w" if own.startswith("W/") else "s"}{token}"'
    assert {"last-modified", "accept-ranges"} & set(reply.headers) == set()


def test_the_derived_etag_revalidates_the_filtered_page_with_a_bodiless_304(site):
    path = f"/c{site.static[0]}/page.html"
    tag = site.get(path).headers["etag"]
    reply = site.get(path, [("If-None-Match", tag)])
    assert (reply.status, reply.header("etag")) == (304, tag)
    assert_no_body(reply)
    # Nothing of the app's that describes its body: a cache would put it on the filtered page.
    assert {"content-type", "last-modified", "content-length"} & set(reply.headers) == set()


def test_an_apps_own_tag_sent_beside_a_stale_derived_one_never_revalidates_the_filtered_page(site):
    # The client lists a derived tag of an old version and the app's own current tag:
    # the app's 304 for its own tag would stand for a filtered page the client never got.
    path = f"{site.static[0]}/page.html"
    own = site.get(f"/raw{path}").headers["etag"]
    stale = derive('"stale"', Redact(force_no_conditional=False).validator_token())
    reply = site.get(f"/c{path}", [("If-None-Match", f"{stale}, {own}")])
    assert (reply.status, reply.body) == (200, FILTERED)
    assert_true_length(reply)


# -- bodiless answers --------------------------------------------------------------------------------


def test_a_head_of_a_filtered_page_carries_no_body_and_no_unfiltered_length(site, request):
    if site.name == "waitress":
        request.applymarker(pytest.mark.xfail(strict=True, reason=WAITRESS_HEAD))
    reply = site.get(f"/f{site.static[0]}/page.html", method="HEAD")
    assert reply.status == 200 and reply.header("content-length") != str(len(PAGE))
    assert_no_body(reply)


def test_a_head_of_a_file_the_filter_leaves_alone_carries_no_body_and_the_apps_headers(site):
    path = f"{site.static[0]}/style.css"
    through = site.get(f"/f{path}", method="HEAD")
    assert stable(through) == stable(site.get(f"/raw{path}", method="HEAD"))
    assert_no_body(through)


def test_a_204_carries_no_body(site):
    reply = site.get("/f/empty")
    assert reply.status == 204
    assert_no_body(reply)


def test_a_205_goes_out_with_no_content_and_a_length_that_says_so(site):
    # RFC 9110 section 15.3.6: no content in a 205, and its framing must say so; the
    # app's Content-Length of the content it had cannot stay (the connection would hang).
    for prefix in ("f", "skip"):
        reply = site.get(f"/{prefix}/reset")
        assert reply.status == 205 and reply.header("content-length") in ("0", None), prefix
        assert_no_body(reply)


def test_should_filter_request_false_leaves_the_static_files_206_and_304_to_the_app(site):
    path = f"{site.static[0]}/page.html"
    alone = site.get(f"/raw{path}", [("Range", "bytes=0-9")])
    assert stable(site.get(f"/skip{path}", [("Range", "bytes=0-9")])) == stable(alone)
    etag = site.get(f"/raw{path}").headers["etag"]
    assert site.get(f"/skip{path}", [("If-None-Match", etag)]).status == 304


# -- trailers: hypercorn offers them over HTTP/2 only (its HTTP/1.1 scope has no trailers extension) --


@pytest.fixture(scope="module")
def hypercorn_port(tmp_path_factory: Any) -> Iterator[int]:
    with hypercorn_serving(asgi_site(write_static(tmp_path_factory.mktemp("static")))) as port:
        yield port


def test_a_filtered_page_with_trailers_keeps_its_trailer_field_and_trailers_and_no_content_length(hypercorn_port):
    reply = http2(hypercorn_port, "GET", "/f/trailers", [("TE", "trailers")])
    assert (reply.status, reply.body) == (200, FILTERED)
    assert reply.header("trailer") == "x-checksum" and "content-length" not in reply.headers
    assert reply.trailers == {"x-checksum": "abc"}


def test_the_same_page_without_a_trailer_section_is_filtered_with_a_true_content_length(hypercorn_port):
    reply = http1(hypercorn_port, "GET", "/f/trailers")
    assert (reply.status, reply.body, reply.trailers) == (200, FILTERED, {})
    assert_true_length(reply)
