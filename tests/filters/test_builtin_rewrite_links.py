"""RewriteLinks: URLs in HTML rewritten through lxml by prefix mapping or a function."""

from __future__ import annotations

import lxml.html
import pytest

from dualfilter.filters import RewriteLinks
from dualfilter.headers import get_header
from dualfilter.testing import run_filter


def page(body: str) -> bytes:
    return f"<!DOCTYPE html><html><head><title>t</title></head><body>{body}</body></html>".encode()


def links(html: bytes) -> list[str]:
    """Every link of a document, in document order."""
    return [link for _, _, link, _ in lxml.html.document_fromstring(html).iterlinks()]


def test_prefix_mapping_rewrites_matching_links():
    _, _, body = run_filter(RewriteLinks(mapping={"/app/": "/new/"}), page('<a href="/app/x">x</a>'))
    assert links(body) == ["/new/x"]


def test_links_that_match_no_prefix_are_left_as_written():
    flt = RewriteLinks(mapping={"/app/": "/new/"})
    _, _, body = run_filter(flt, page('<a href="/other/x">1</a><a href="x.html">2</a><a href="http://h/app/x">3</a>'))
    assert links(body) == ["/other/x", "x.html", "http://h/app/x"]


def test_absolute_url_prefixes_are_mapped():
    flt = RewriteLinks(mapping={"http://backend:8080/": "https://example.com/app/"})
    _, _, body = run_filter(flt, page('<img src="http://backend:8080/logo.png">'))
    assert links(body) == ["https://example.com/app/logo.png"]


def test_the_longest_matching_prefix_wins():
    flt = RewriteLinks(mapping={"/a/": "/short/", "/a/b/": "/long/"})
    _, _, body = run_filter(flt, page('<a href="/a/b/c">x</a><a href="/a/c">y</a>'))
    assert links(body) == ["/long/c", "/short/c"]


def test_mapping_may_be_given_as_a_string_of_pairs():
    flt = RewriteLinks(mapping="/a/=/x/\n  /b/=/y/")
    _, _, body = run_filter(flt, page('<a href="/a/1">1</a><a href="/b/2">2</a>'))
    assert links(body) == ["/x/1", "/y/2"]


def test_base_href_makes_relative_links_absolute_before_mapping():
    flt = RewriteLinks(mapping={"http://backend/": "https://site/"}, base_href="http://backend/docs/")
    _, _, body = run_filter(flt, page('<a href="intro.html">1</a><a href="/top">2</a>'))
    assert links(body) == ["https://site/docs/intro.html", "https://site/top"]


def test_base_href_leaves_fragment_only_links_alone():
    flt = RewriteLinks(mapping={"http://backend/": "https://site/"}, base_href="http://backend/")
    _, _, body = run_filter(flt, page('<a href="#top">1</a>'))
    assert links(body) == ["#top"]


def test_links_in_css_and_base_and_forms_are_rewritten():
    html = '<base href="/app/"><form action="/app/post"></form><div style="background: url(/app/bg.png)"></div>'
    _, _, body = run_filter(RewriteLinks(mapping={"/app/": "/new/"}), page(html))
    assert links(body) == ["/new/", "/new/post", "/new/bg.png"]


def test_function_option_returns_the_new_link():
    _, _, body = run_filter(RewriteLinks(function=lambda url: url + "?v=2"), page('<script src="/s.js"></script>'))
    assert links(body) == ["/s.js?v=2"]


def test_function_returning_none_keeps_the_link():
    _, _, body = run_filter(RewriteLinks(function=lambda url: None), page('<a href="/x">x</a>'))
    assert links(body) == ["/x"]


def test_function_sees_the_link_after_the_mapping():
    seen = []

    def record(url):
        seen.append(url)

    run_filter(RewriteLinks(mapping={"/a/": "/b/"}, function=record), page('<a href="/a/x">x</a>'))
    assert seen == ["/b/x"]


def test_function_may_be_a_method_of_a_subclass():
    class Versioned(RewriteLinks):
        version = "7"

        def function(self, url):
            return f"{url}?v={self.version}"

    _, _, body = run_filter(Versioned(), page('<img src="/i.png">'))
    assert links(body) == ["/i.png?v=7"]


def test_function_may_be_named_as_module_colon_attribute():
    _, _, body = run_filter(RewriteLinks(function="builtins:str.upper"), page('<a href="/x">x</a>'))
    assert links(body) == ["/X"]


@pytest.mark.parametrize("chunks", [1, 3, 17])
def test_rewriting_does_not_depend_on_chunking(chunks):
    _, _, body = run_filter(RewriteLinks(mapping={"/a/": "/b/"}), page('<a href="/a/x">x</a>'), chunks=chunks)
    assert links(body) == ["/b/x"]


def test_text_outside_links_is_kept_in_the_response_charset():
    data = page("<p>café</p>").decode().encode("iso-8859-1")
    _, headers, body = run_filter(RewriteLinks(mapping={"/a/": "/b/"}), data, content_type="text/html; charset=iso-8859-1")
    assert "<p>café</p>".encode("iso-8859-1") in body
    assert get_header(headers, "content-type") == "text/html; charset=iso-8859-1"


def test_doctype_of_the_document_is_kept():
    _, _, body = run_filter(RewriteLinks(mapping={"/a/": "/b/"}), page('<a href="/a/x">x</a>'))
    assert body.startswith(b"<!DOCTYPE html>")


def test_a_malformed_mapping_string_is_refused_at_construction():
    with pytest.raises(ValueError, match="OLD=NEW"):
        RewriteLinks(mapping="/a/ /b/")


@pytest.mark.parametrize("mapping", [{1: "/a/"}, {"/a/": 1}, {"/a/": None}, {"": "/b/"}])
def test_a_mapping_of_anything_but_prefixes_to_text_is_refused_at_construction(mapping):
    with pytest.raises(TypeError, match="mapping must map URL prefixes"):
        RewriteLinks(mapping=mapping)


def test_a_filter_without_mapping_or_function_is_refused_at_construction():
    with pytest.raises(ValueError, match="mapping or a function"):
        RewriteLinks()


def test_a_function_name_that_cannot_be_imported_is_refused_at_construction():
    with pytest.raises(ValueError, match="no_such_module"):
        RewriteLinks(function="no_such_module:f")


# -- with the html extra: streaming through dualfilter.html --------------------------

RICH = page(
    '<base href="/app/"><a href="/app/a?x=1&amp;y=2">a</a><img src=/app/i.png srcset="/app/s.png 2x">'
    '<form action="/app/f"><button formaction="/app/b">b</button></form>'
    "<div style=\"background: url('/app/bg.png')\"></div>"
    '<style>body { background: url(/app/body.png) } @import "/app/more.css";</style>'
    '<meta http-equiv="refresh" content="5; url=/app/next">'
    '<object codebase="/app/" data="/app/o.swf" archive="/app/x.jar /app/y.jar"></object>'
    '<param name=movie valuetype=ref value="/app/movie"><blockquote cite="/app/q">q</blockquote>'
    '<svg><a xlink:href="/app/svg">s</a></svg><p>/app/ in text stays</p>'
    '<video poster="/app/poster.jpg"></video><link rel=preload as=image imagesrcset="/app/l.png 1x,/app/l2.png 2x">'
    '<picture><source srcset="/app/a,b.webp 100w, /app/c.webp?x=1&amp;y=2 (x, y) 200w,, /app/d.webp"></picture>'
)


def without_extra(monkeypatch, **options):
    """RewriteLinks built as it is when the html extra is missing: through lxml."""
    from dualfilter.html import engine

    monkeypatch.setattr(engine, "lolhtml", None)
    flt = RewriteLinks(**options)
    monkeypatch.undo()
    return flt


def test_with_the_extra_the_page_streams_without_a_content_length():
    _, headers, body = run_filter(RewriteLinks(mapping={"/app/": "/new/"}), page('<a href="/app/x">x</a>'), chunks=4)
    assert get_header(headers, "content-length") is None
    assert body == page('<a href="/new/x">x</a>')


def test_with_the_extra_only_links_change_everything_else_is_byte_for_byte():
    original = b"<!doctype html>\n<HTML><P CLASS=x>caf\xc3\xa9 &amp; <A HREF='/app/x' id=y>x</A>\n<!-- /app/ -->"
    body = run_filter(RewriteLinks(mapping={"/app/": "/new/"}), original, chunks=3)[2]
    assert body == original.replace(b"HREF='/app/x'", b'HREF="/new/x"')


def test_the_streaming_rewrite_finds_the_links_lxml_finds(monkeypatch):
    seen_streaming: list[str] = []
    seen_lxml: list[str] = []
    streamed = run_filter(RewriteLinks(function=lambda url: seen_streaming.append(url)), RICH)[2]
    run_filter(without_extra(monkeypatch, function=lambda url: seen_lxml.append(url)), RICH)
    assert streamed == RICH
    assert sorted(seen_streaming) == sorted(seen_lxml)


def test_the_streaming_rewrite_gives_the_links_lxml_gives(monkeypatch):
    mapping = {"/app/": "/new/"}
    streamed = run_filter(RewriteLinks(mapping=mapping), RICH, chunks=9)[2]
    buffered = run_filter(without_extra(monkeypatch, mapping=mapping), RICH)[2]
    assert sorted(links(streamed)) == sorted(links(buffered))
    assert not any(link.startswith("/app/") for link in links(streamed))


def test_character_references_in_links_are_read_and_written_back_as_html():
    flt = RewriteLinks(function=lambda url: url.replace("x=1", "x=2"))
    body = run_filter(flt, page('<a href="/a?x=1&amp;y=2">a</a>'))[2]
    assert b'href="/a?x=2&amp;y=2"' in body


def test_without_the_extra_the_document_goes_through_lxml(monkeypatch):
    flt = without_extra(monkeypatch, mapping={"/app/": "/new/"})
    _, headers, body = run_filter(flt, page('<a href="/app/x">x</a>'))
    assert get_header(headers, "content-length") == str(len(body))
    assert body.startswith(b"<!DOCTYPE html>\n<html>")  # lxml's serialization
    assert links(body) == ["/new/x"]


def build(extra, monkeypatch, **options):
    """RewriteLinks with the html extra (streaming) or without it (lxml)."""
    return RewriteLinks(**options) if extra else without_extra(monkeypatch, **options)


def attribute(html: bytes, tag: str, name: str) -> str:
    """The value of attribute ``name`` of the first ``tag`` in ``html``."""
    return lxml.html.document_fromstring(html).find(f".//{tag}").get(name)


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
@pytest.mark.parametrize(("tag", "name"), [("img", "srcset"), ("source", "srcset"), ("link", "imagesrcset")])
def test_each_image_candidate_url_is_rewritten_and_its_descriptor_kept(extra, tag, name, monkeypatch):
    flt = build(extra, monkeypatch, mapping={"/app/": "/new/"})
    body = run_filter(flt, page(f'<{tag} {name}="/app/a.png 1x, /app/b.png 2x,/app/c.png 640w">'))[2]
    assert attribute(body, tag, name) == "/new/a.png 1x, /new/b.png 2x,/new/c.png 640w"


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
def test_a_candidate_url_keeps_its_inner_commas_and_ends_before_its_trailing_ones(extra, monkeypatch):
    # HTML's srcset parsing: a URL runs to the next whitespace; commas at its end separate.
    flt = build(extra, monkeypatch, function=lambda url: f"[{url}]")
    srcset = "data:image/png;base64,AAA 1x,/a.png,, /b,c.png (1, 2) 2x"
    body = run_filter(flt, page(f'<img srcset="{srcset}">'))[2]
    assert attribute(body, "img", "srcset") == "[data:image/png;base64,AAA] 1x,[/a.png],, [/b,c.png] (1, 2) 2x"


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
def test_a_video_poster_url_is_rewritten(extra, monkeypatch):
    flt = build(extra, monkeypatch, mapping={"/app/": "/new/"})
    body = run_filter(flt, page('<video poster="/app/p.jpg" src="/app/v.mp4"></video>'))[2]
    assert attribute(body, "video", "poster") == "/new/p.jpg"


def test_the_streaming_rewrite_gives_the_image_candidates_lxml_gives(monkeypatch):
    mapping = {"/app/": "/new/"}
    streamed = run_filter(RewriteLinks(mapping=mapping), RICH, chunks=9)[2]
    buffered = run_filter(without_extra(monkeypatch, mapping=mapping), RICH)[2]
    for tag, name in [("img", "srcset"), ("source", "srcset"), ("link[@imagesrcset]", "imagesrcset"), ("video", "poster")]:
        assert attribute(streamed, tag, name) == attribute(buffered, tag, name)
        assert "/app/" not in attribute(streamed, tag, name)


def test_with_the_extra_an_undeclared_page_that_is_not_utf8_keeps_its_bytes():
    # Undeclared bytes that are not UTF-8 are read as windows-1252, which maps every byte.
    original = b'<html><head><title>caf\xe9</title></head><body><a href="/app/x">caf\xe9</a></body></html>'
    body = run_filter(RewriteLinks(mapping={"/app/": "/v2/"}), original, content_type="text/html", chunks=2)[2]
    assert body == original.replace(b"/app/x", b"/v2/x")


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "text/html"])
@pytest.mark.parametrize("chunks", [1, 3, 200])
def test_with_the_extra_invalid_utf8_outside_style_sheets_keeps_its_bytes(content_type, chunks):
    # Undeclared, the page's first 1024 bytes are ASCII: it is read as UTF-8 and stays undeclared.
    original = b"<html><head><style>a{b:url(/app/s\xc3\xa9.png)}</style></head><body>" + b"<p>filler</p>" * 90
    original += b'<p>Caf\xe9 cr\xe8me</p><a href="/app/x">\xff</a></body></html>'
    body = run_filter(RewriteLinks(mapping={"/app/": "/v2/"}), original, content_type=content_type, chunks=chunks)[2]
    assert body == original.replace(b"/app/", b"/v2/")


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
def test_a_query_with_a_name_that_starts_like_a_character_reference_is_read_as_browsers_read_it(extra, monkeypatch):
    # WHATWG HTML: in an attribute, "&region=" (no ";", a letter or "=" after "&reg") is no reference.
    seen: list[str] = []
    flt = build(extra, monkeypatch, function=lambda url: seen.append(url) or url.replace("/app/", "/new/"))
    body = run_filter(flt, page('<a href="/app/s?q=x&region=us&copy=1&amp;times=2&lt;">a</a>'))[2]
    assert seen == ["/app/s?q=x&region=us&copy=1&times=2<"]
    assert attribute(body, "a", "href") == "/new/s?q=x&region=us&copy=1&times=2<"


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
def test_spaces_around_a_url_are_no_part_of_it(extra, monkeypatch):
    flt = build(extra, monkeypatch, mapping={"/app/": "/new/"})
    body = run_filter(flt, page('<a href=" /app/x ">a</a><video poster="\n/app/p.png"></video>'))[2]
    assert (attribute(body, "a", "href"), attribute(body, "video", "poster")) == ("/new/x", "/new/p.png")


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
def test_a_refresh_url_without_url_equals_is_rewritten(extra, monkeypatch):
    flt = build(extra, monkeypatch, mapping={"/app/": "/new/"})
    body = run_filter(flt, page('<meta http-equiv="refresh" content="5; /app/next">'))[2]
    assert attribute(body, "meta", "content") == "5; /new/next"


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("0; url=&quot;/app/x&quot;", '0; url="/new/x"'),
        ("0; url=&#39;/app/x&#39;", "0; url='/new/x'"),
        ("0&#59; url=/app/x", "0; url=/new/x"),
    ],
)
def test_a_refresh_url_written_with_character_references_is_read_unquoted_and_rewritten(extra, content, expected, monkeypatch):
    seen: list[str] = []
    flt = build(extra, monkeypatch, function=lambda url: seen.append(url) or url.replace("/app/", "/new/"))
    body = run_filter(flt, page(f'<meta http-equiv="refresh" content="{content}">'))[2]
    assert seen == ["/app/x"]
    assert attribute(body, "meta", "content") == expected


@pytest.mark.parametrize("chunks", [1, 5, 200])
def test_a_streamed_refresh_url_written_with_quot_is_rewritten_in_its_place(chunks):
    original = page('<meta http-equiv=refresh content="0; url=&quot;/app/x&quot;">')
    body = run_filter(RewriteLinks(mapping={"/app/": "/new/"}), original, chunks=chunks)[2]
    assert body == original.replace(b"/app/x", b"/new/x")


@pytest.mark.parametrize("chunks", [1, 5, 200])
def test_a_refresh_url_the_rewrite_keeps_is_left_as_written(chunks):
    original = page("<meta http-equiv=refresh content=\"0; url=' /other/x ' \">")
    assert run_filter(RewriteLinks(mapping={"/app/": "/new/"}), original, chunks=chunks)[2] == original


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
@pytest.mark.parametrize("quote", ["&quot;", "&#39;"])
def test_a_style_url_quoted_with_character_references_is_rewritten(extra, quote, monkeypatch):
    flt = build(extra, monkeypatch, mapping={"/app/": "/new/"})
    body = run_filter(flt, page(f'<div style="background:url({quote}/app/x.png{quote})"></div>'))[2]
    expected = quote.replace("&quot;", '"').replace("&#39;", "'")
    assert attribute(body, "div", "style") == f"background:url({expected}/new/x.png{expected})"


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
def test_each_url_of_an_archive_is_rewritten_in_its_place(extra, monkeypatch):
    flt = build(extra, monkeypatch, mapping={"/app/": "/v2/app/"})
    body = run_filter(flt, page('<object archive="/app/z1 /app/z2" data="/app/o"></object>'))[2]
    assert attribute(body, "object", "archive") == "/v2/app/z1 /v2/app/z2"


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
def test_css_urls_are_read_as_browsers_read_them(extra, monkeypatch):
    # CSS Syntax: url( followed by spaces and a string is a URL; @import takes either quote.
    seen: list[str] = []
    flt = build(extra, monkeypatch, function=lambda url: seen.append(url) or url.replace("/app/", "/new/"))
    body = run_filter(flt, page("<div style=\"background: url( '/app/bg.png' )\"></div><style>@import '/app/x.css';</style>"))[2]
    assert attribute(body, "div", "style") == "background: url( '/new/bg.png' )"
    assert b"@import '/new/x.css'" in body
    assert sorted(seen) == ["/app/bg.png", "/app/x.css"]


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
def test_a_css_url_that_is_part_of_the_word_url_is_rewritten_in_its_own_place(extra, monkeypatch):
    # The URL "l" is no "l" of "url(": only the token's argument changes (CSS Syntax 3).
    flt = build(extra, monkeypatch, function=lambda url: "http://h/d/" + url)
    body = run_filter(flt, page('<div style="background:url(l)"></div><style>a{background:url(r)}</style>'))[2]
    assert attribute(body, "div", "style") == "background:url(http://h/d/l)"
    assert b"a{background:url(http://h/d/r)}" in body


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "lxml"])
def test_an_empty_css_url_is_left_alone(extra, monkeypatch):
    # CSS Values 4: an empty url() resolves to no resource; nothing to rewrite.
    seen: list[str] = []
    flt = build(extra, monkeypatch, function=lambda url: seen.append(url) or "http://h/d/" + url)
    body = run_filter(flt, page("<div style=\"background:url()\"></div><style>a{background:url('')}</style>"))[2]
    assert attribute(body, "div", "style") == "background:url()"
    assert b"a{background:url('')}" in body
    assert seen == []
