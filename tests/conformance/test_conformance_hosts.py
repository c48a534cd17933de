"""Every example filter gives the same response under WSGI, ASGI and ISAPI for the same inner response.

Bodies must be byte-identical; statuses equal; headers equal once names are
lower-cased and sorted.
"""

from __future__ import annotations

import dataclasses

import pytest

from tests.support.hosts import FILTERS, INNER, ISAPI_STYLES, Inner, UpperBytes, run_asgi, run_isapi, run_wsgi, without_range

CASES = [(f, i) for f in FILTERS for i in INNER]


@pytest.mark.parametrize(("filter_name", "inner_name"), CASES)
async def test_asgi_matches_wsgi(filter_name, inner_name):
    flt, inner = FILTERS[filter_name], INNER[inner_name]
    assert await run_asgi(flt, inner) == run_wsgi(flt, inner)


@pytest.mark.parametrize("style", list(ISAPI_STYLES))
@pytest.mark.parametrize(("filter_name", "inner_name"), CASES)
def test_isapi_matches_wsgi(filter_name, inner_name, style):
    flt, inner = FILTERS[filter_name], INNER[inner_name]
    assert run_isapi(flt, inner, style) == run_wsgi(flt, inner)


@pytest.mark.parametrize("filter_name", list(FILTERS))
def test_each_example_filter_changes_its_own_kind_of_body(filter_name):
    inner = INNER["json" if filter_name == "json-field" else "html-one-chunk"]
    result = run_wsgi(FILTERS[filter_name], inner)
    assert result.body != b"".join(inner.chunks) and dict(result.headers)["content-length"] == str(len(result.body))


def test_a_range_of_a_filtered_page_is_served_from_the_filtered_body_on_every_host():
    from tests.support.hosts import UpperBytes

    inner = INNER["range-request"]
    whole = run_wsgi(UpperBytes, without_range(inner))
    for result in (run_wsgi(UpperBytes, inner), run_isapi(UpperBytes, inner)):
        headers = dict(result.headers)
        assert result.status == 206 and result.body == whole.body[:6]
        assert headers["content-range"] == f"bytes 0-5/{len(whole.body)}" and "x-saw-range" not in headers


def test_a_page_the_filter_leaves_alone_keeps_the_apps_own_partial_on_wsgi_and_asgi():
    from tests.support.hosts import AddJsonField

    inner = INNER["range-request"]
    result = run_wsgi(AddJsonField, inner)
    assert result.status == 206 and dict(result.headers)["x-saw-range"] == "bytes=0-5"
    assert result.body == b"".join(inner.chunks)[:6]


def test_a_range_aware_inner_app_answers_a_range_with_a_partial():
    from tests.support.hosts import Inner

    answer = Inner(200, "OK", [("Content-Type", "text/plain")], [b"0123456789"]).seen("bytes=0-5")
    assert (answer.status, answer.chunks) == (206, [b"012345"]) and ("X-Saw-Range", "bytes=0-5") in answer.headers


async def test_a_partial_the_client_never_asked_for_passes_as_it_came_on_every_host():
    from tests.support.hosts import DJANGO_MODES, Inner, UpperBytes, received, run_django

    inner = Inner(206, "Partial Content", [("Content-Type", "text/html"), ("Content-Range", "bytes 0-1/9")], [b"<p"])
    expected = received(206, inner.headers, b"<p")
    results = [run_wsgi(UpperBytes, inner), await run_asgi(UpperBytes, inner)]
    results += [run_isapi(UpperBytes, inner, style) for style in ISAPI_STYLES]
    results += [await run_django(UpperBytes, inner, mode) for mode in DJANGO_MODES]
    for result in results:
        assert (result.status, result.body) == (206, b"<p")
        assert [(k, v) for k, v in result.headers if k in ("content-type", "content-range")] == expected.headers


async def _on_every_host(flt, inner):
    """What a client gets through ``flt`` on WSGI, ASGI, each ISAPI style and Django (sync and async)."""
    from tests.support.hosts import DJANGO_MODES, run_django

    results = [run_wsgi(flt, inner), await run_asgi(flt, inner)]
    results += [run_isapi(flt, inner, style) for style in ISAPI_STYLES]
    results += [await run_django(flt, inner, mode) for mode in DJANGO_MODES]
    return results


class _Undecided(UpperBytes):
    def should_filter(self, environ, status, headers):
        raise ValueError("cannot decide")


class _Unsure(UpperBytes):
    def should_filter_request(self, environ):
        raise ValueError("cannot tell")


@dataclasses.dataclass
class _Watched(Inner):
    """The inner response, counting how often an app is asked for it."""

    asked: list = dataclasses.field(default_factory=list)

    def seen(self, range_header):
        self.asked.append(range_header)
        return super().seen(range_header)


async def test_a_filter_whose_should_filter_raises_gives_the_clean_500_on_every_host():
    for result in await _on_every_host(_Undecided, INNER["html-one-chunk"]):
        assert (result.status, result.body) == (500, b"Internal Server Error\n")
        assert dict(result.headers)["content-type"] == "text/plain; charset=utf-8"


async def test_a_filter_whose_should_filter_request_raises_gives_the_clean_500_on_every_host_without_the_app():
    inner = _Watched(**vars(INNER["html-one-chunk"]))
    for result in await _on_every_host(_Unsure, inner):
        assert (result.status, result.body) == (500, b"Internal Server Error\n")
        assert dict(result.headers)["content-type"] == "text/plain; charset=utf-8"
    assert inner.asked == []  # no host called the app


async def test_the_clean_500_to_a_head_request_carries_no_body_on_every_host():
    # RFC 9110 section 9.3.2: no content in a response to HEAD, an error page included.
    inner = dataclasses.replace(INNER["html-one-chunk"], method="HEAD")
    for flt in (_Undecided, _Unsure):
        for result in await _on_every_host(flt, inner):
            assert (result.status, result.body) == (500, b""), flt
            assert dict(result.headers)["content-type"] == "text/plain; charset=utf-8"


class _EveryStatus(UpperBytes):
    filter_all_status = True


async def test_a_416_nobody_asked_for_is_filtered_like_any_status_on_every_host():
    # Without a Range there is nothing to ask again without: under filter_all_status the
    # page is filtered as a 404 would be, never sent as the app made it.
    inner = Inner(416, "Range Not Satisfiable", [("Content-Type", "text/html")], [b"<p>secret</p>"])
    for result in await _on_every_host(_EveryStatus, inner):
        assert (result.status, result.body) == (416, b"<P>SECRET</P>")


def _with(inner: Inner, method: str = "GET", request_headers=(), headers=None) -> Inner:
    return dataclasses.replace(
        inner, method=method, request_headers=list(request_headers), headers=inner.headers if headers is None else headers
    )


PAGE_WITH_TAG = Inner(200, "OK", [("Content-Type", "text/html"), ("ETag", '"v1"')], [b"<p>secret</p>"])


@pytest.mark.parametrize("method", ["GET", "HEAD"])
async def test_if_match_naming_a_tag_fails_for_a_filtered_page_with_412_on_every_host(method):
    # RFC 9110 section 13.1.1: If-Match compares strongly, and a filtered page has no strong
    # tag; the answer is 412 (13.2.2, step 1), never filtered bytes to splice onto the app's.
    inner = _with(PAGE_WITH_TAG, method, [("If-Match", '"v1"'), ("Range", "bytes=3-")])
    for result in await _on_every_host(UpperBytes, inner):
        assert result.status == 412
        assert result.body == (b"" if method == "HEAD" else b"Precondition Failed\nThe page has changed.\n")


async def test_if_match_any_or_on_an_unsafe_method_or_a_page_not_filtered_is_left_to_the_app_on_every_host():
    star = _with(PAGE_WITH_TAG, "GET", [("If-Match", "*")])
    for result in await _on_every_host(UpperBytes, star):
        assert (result.status, result.body) == (200, b"<P>SECRET</P>")
    post = _with(PAGE_WITH_TAG, "POST", [("If-Match", '"v1"')])
    for result in await _on_every_host(UpperBytes, post):  # the app has acted on it: its page is filtered
        assert (result.status, result.body) == (200, b"<P>SECRET</P>")
    plain = _with(PAGE_WITH_TAG, "GET", [("If-Match", '"v1"')], [("Content-Type", "text/plain"), ("ETag", '"v1"')])
    for result in await _on_every_host(UpperBytes, plain):
        assert (result.status, result.body) == (200, b"<p>secret</p>")


async def test_a_head_of_a_filtered_page_drops_what_the_filtered_get_drops_on_every_host():
    headers = [("Content-Type", "text/html"), ("Content-Length", "13"), ("Content-MD5", "x"), ("Accept-Ranges", "bytes")]
    headers += [("Keep-Alive", "timeout=5"), ("Content-Range", "bytes 0-12/13"), ("X-Kept", "1")]
    gets = await _on_every_host(UpperBytes, _with(PAGE_WITH_TAG, headers=headers))
    heads = await _on_every_host(UpperBytes, _with(PAGE_WITH_TAG, "HEAD", headers=headers))
    for get, head in zip(gets, heads, strict=True):
        assert (head.status, head.body) == (200, b"")
        assert [(k, v) for k, v in head.headers if k != "content-length"] == [
            (k, v) for k, v in get.headers if k != "content-length"
        ]
        assert ("x-kept", "1") in head.headers and not {"keep-alive", "content-range", "content-md5"} & dict(head.headers).keys()


@dataclasses.dataclass
class _MultiRange(Inner):
    """A range-aware app that answers two ranges with a multipart/byteranges 206 (RFC 9110 section 14.6)."""

    asked: list = dataclasses.field(default_factory=list)

    def seen(self, range_header):
        self.asked.append(range_header)
        if range_header != "bytes=0-1,3-4":
            return self
        body, content_type = b"".join(self.chunks), dict(self.headers)["Content-Type"]
        parts = [
            f"--SEP\r\nContent-Type: {content_type}\r\nContent-Range: bytes {a}-{b}/{len(body)}\r\n\r\n".encode()
            + body[a : b + 1]
            + b"\r\n"
            for a, b in ((0, 1), (3, 4))
        ]
        multipart = b"".join(parts) + b"--SEP--\r\n"
        headers = [("Content-Type", "multipart/byteranges; boundary=SEP"), ("Content-Length", str(len(multipart)))]
        return Inner(206, "Partial Content", headers, [multipart[:20], multipart[20:]], self.method, self.request_headers)


async def test_a_multipart_206_of_a_type_the_filter_leaves_alone_stands_on_every_host():
    # Its parts name the page's type: the app's own 206 goes on, the app asked once.
    png = [b"\x89PNG\r\n\x1a\n" * 4]
    inner = _MultiRange(200, "OK", [("Content-Type", "image/png")], png, "GET", [("Range", "bytes=0-1,3-4")])
    answer = inner.seen("bytes=0-1,3-4")
    results = await _on_every_host(UpperBytes, inner)
    for result in results:
        assert (result.status, result.body) == (206, b"".join(answer.chunks))
        assert dict(result.headers)["content-type"] == "multipart/byteranges; boundary=SEP"
    assert inner.asked == ["bytes=0-1,3-4"] * (len(results) + 1)  # each host once, and once above


async def test_a_multipart_206_of_a_filtered_type_is_asked_again_for_the_whole_filtered_page_on_every_host():
    inner = _MultiRange(200, "OK", [("Content-Type", "text/html")], [b"<p>secret</p>"], "GET", [("Range", "bytes=0-1,3-4")])
    for result in await _on_every_host(UpperBytes, inner):
        assert (result.status, result.body) == (200, b"<P>SECRET</P>")


async def test_the_apps_412_with_the_page_in_it_carries_no_unfiltered_body_on_every_host():
    # werkzeug (Flask, Quart) answers a failed If-Match with 412 and the page itself: not filtered
    # (a 412 is no 200), it may not pass; the answer stands, with the machine's own body.
    page = Inner(412, "Precondition Failed", [("Content-Type", "text/html"), ("ETag", '"v1"')], [b"<p>secret</p>"])
    for method in ("GET", "HEAD", "PUT"):
        for result in await _on_every_host(UpperBytes, _with(page, method, [("If-Match", '"other"')])):
            assert result.status == 412 and b"secret" not in result.body, method
            assert "etag" not in dict(result.headers)
    plain = _with(page, headers=[("Content-Type", "text/plain")])
    for result in await _on_every_host(UpperBytes, plain):  # a type the filter leaves alone: as the app made it
        assert (result.status, result.body) == (412, b"<p>secret</p>")
