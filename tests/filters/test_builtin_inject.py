"""Inject: an HTML snippet at the end of <head> or <body>, with a documented fallback."""

from __future__ import annotations

import pytest

from dualfilter.filters import Inject
from dualfilter.headers import get_header
from dualfilter.testing import run_filter

PAGE = b"<!DOCTYPE html><html><head><title>t</title></head><body><p>hi</p></body></html>"


@pytest.mark.parametrize("chunks", [1, 2, 5, len(PAGE)])
def test_snippet_goes_before_the_closing_body_tag_however_the_body_is_chunked(chunks):
    _, _, body = run_filter(Inject(html="<b>X</b>"), PAGE, chunks=chunks)
    assert body == PAGE.replace(b"</body>", b"<b>X</b></body>")


def test_where_head_puts_the_snippet_before_the_closing_head_tag():
    _, _, body = run_filter(Inject(html='<link rel="x">', where="head"), PAGE)
    assert body == PAGE.replace(b"</head>", b'<link rel="x"></head>')


def test_tags_are_found_whatever_their_case_and_spacing():
    _, _, body = run_filter(Inject(html="<b>X</b>"), b"<HTML><BODY><p>hi</p></BODY ></HTML>")
    assert body == b"<HTML><BODY><p>hi</p><b>X</b></BODY ></HTML>"


def test_body_snippet_goes_before_the_last_closing_body_tag():
    page = b'<html><body><script>var s = "</body>";</script></body></html>'
    _, _, body = run_filter(Inject(html="<b>X</b>"), page)
    assert body == b'<html><body><script>var s = "</body>";</script><b>X</b></body></html>'


def test_missing_closing_body_tag_falls_back_to_before_closing_html_tag():
    _, _, body = run_filter(Inject(html="<b>X</b>"), b"<html><body><p>hi</p></html>")
    assert body == b"<html><body><p>hi</p><b>X</b></html>"


def test_missing_closing_body_and_html_tags_fall_back_to_the_end():
    _, _, body = run_filter(Inject(html="<b>X</b>"), b"<p>hi</p>")
    assert body == b"<p>hi</p><b>X</b>"


def test_missing_closing_head_tag_falls_back_to_before_the_body_tag():
    _, _, body = run_filter(Inject(html="<meta x>", where="head"), b"<html><title>t</title><body class=a>b</body></html>")
    assert body == b"<html><title>t</title><meta x><body class=a>b</body></html>"


def test_missing_head_and_body_tags_fall_back_to_the_end():
    _, _, body = run_filter(Inject(html="<meta x>", where="head"), b"<p>hi</p>")
    assert body == b"<p>hi</p><meta x>"


def test_missing_skip_leaves_a_page_without_the_tag_unchanged():
    page = b"<p>fragment</p>"
    _, headers, body = run_filter(Inject(html="<b>X</b>", missing="skip"), page)
    assert body == page


def test_a_streamed_page_goes_out_without_the_old_content_length():
    _, headers, body = run_filter(Inject(html="<b>X</b>"), PAGE)
    assert get_header(headers, "content-length") is None
    assert body == PAGE.replace(b"</body>", b"<b>X</b></body>")


def without_extra(monkeypatch, **options):
    """Inject built as it is when the html extra is missing."""
    from dualfilter.html import engine

    monkeypatch.setattr(engine, "lolhtml", None)
    flt = Inject(**options)
    monkeypatch.undo()
    return flt


def test_a_page_without_declared_charset_streams_with_the_html_extra():
    _, headers, body = run_filter(Inject(html="<b>X</b>"), PAGE, content_type="text/html", chunks=3)
    assert get_header(headers, "content-length") is None
    assert body == PAGE.replace(b"</body>", b"<b>X</b></body>")


def test_a_page_without_declared_charset_is_buffered_without_the_html_extra(monkeypatch):
    _, headers, body = run_filter(without_extra(monkeypatch, html="<b>X</b>"), PAGE, content_type="text/html")
    assert get_header(headers, "content-length") == str(len(body))
    assert body == PAGE.replace(b"</body>", b"<b>X</b></body>")


def test_a_snippet_the_declared_charset_cannot_hold_is_buffered_and_the_charset_changed():
    page = "<html><body>\u00e9</body></html>".encode("iso-8859-1")
    _, headers, body = run_filter(Inject(html="<p>\u20ac</p>"), page, content_type="text/html; charset=iso-8859-1")
    assert body == "<html><body>\u00e9<p>\u20ac</p></body></html>".encode()
    assert get_header(headers, "content-type") == "text/html; charset=utf-8"


def test_snippet_is_encoded_in_the_response_charset():
    page = "<html><body>é</body></html>".encode("iso-8859-1")
    _, headers, body = run_filter(Inject(html="<p>café</p>"), page, content_type="text/html; charset=iso-8859-1")
    assert body == "<html><body>é<p>café</p></body></html>".encode("iso-8859-1")
    assert get_header(headers, "content-type") == "text/html; charset=iso-8859-1"


def test_an_undeclared_page_that_is_not_utf8_gets_the_snippet_in_windows_1252():
    # Undeclared bytes that are not UTF-8 are windows-1252, as browsers read them.
    page = b"<html><head><title>caf\xe9</title></head><body><p>\xe9t\xe9</p></body></html>"
    _, headers, body = run_filter(Inject(html="<b>\u00e9</b>"), page, content_type="text/html", chunks=3)
    assert body == page.replace(b"</body>", b"<b>\xe9</b></body>")
    assert get_header(headers, "content-type") == "text/html"


def test_charset_declared_in_a_meta_tag_is_kept():
    page = '<html><head><meta charset="windows-1252"></head><body>€</body></html>'.encode("cp1252")
    _, _, body = run_filter(Inject(html="<i>€</i>"), page, content_type="text/html")
    assert body == page.replace(b"</body>", "<i>€</i></body>".encode("cp1252"))


def test_snippet_the_response_charset_cannot_hold_switches_the_response_to_utf8():
    page = b"<html><body>x</body></html>"
    _, headers, body = run_filter(Inject(html="<i>€</i>"), page, content_type="text/html; charset=iso-8859-1")
    assert body == "<html><body>x<i>€</i></body></html>".encode()
    assert get_header(headers, "content-type") == "text/html; charset=utf-8"


def test_responses_of_other_types_pass_through():
    _, _, body = run_filter(Inject(html="<b>X</b>"), b"</body>", content_type="text/plain")
    assert body == b"</body>"


def test_an_empty_snippet_is_refused_at_construction():
    with pytest.raises(ValueError, match="html"):
        Inject()


def test_an_unknown_where_is_refused_at_construction():
    with pytest.raises(ValueError, match="where"):
        Inject(html="x", where="footer")


def test_an_unknown_missing_policy_is_refused_at_construction():
    with pytest.raises(ValueError, match="missing"):
        Inject(html="x", missing="ignore")


def test_with_the_html_extra_only_real_tags_are_landmarks():
    page = b"<html><body><p>hi</p><!-- </body> --></body></html>"
    assert (
        run_filter(Inject(html="<b>X</b>"), page, chunks=4)[2] == b"<html><body><p>hi</p><!-- </body> --><b>X</b></body></html>"
    )


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "regex"])
@pytest.mark.parametrize("end_tag", [b"</body class=x>", b"</body/>", b"</BODY\n>", b"</body" + b" " * 100 + b">"])
def test_a_stray_end_tag_with_attributes_a_slash_or_long_space_is_the_landmark_however_chunked(extra, end_tag, monkeypatch):
    # An end tag as browsers tokenize it: its name, then whitespace, "/" or ">", anything up to ">".
    from dualfilter.html import engine

    if not extra:
        monkeypatch.setattr(engine, "lolhtml", None)
    page = b"<p>" + b"x" * 200 + b"</p>" + end_tag + b"tail"
    expected = page.replace(end_tag, b"<i>S</i>" + end_tag)
    for chunks in (1, 2, 40, len(page)):
        assert run_filter(Inject(html="<i>S</i>"), page, chunks=chunks)[2] == expected, chunks


@pytest.mark.parametrize("extra", [True, False], ids=["extra", "regex"])
@pytest.mark.parametrize(
    ("where", "page"),
    [("body", b"<p>x</p></html>\n"), ("body", b"<!DOCTYPE html><body><p>x</p></html>\n"), ("head", b"<p>x</p></html>\n")],
)
def test_a_stray_html_end_tag_is_the_fallback_place_however_chunked(extra, where, page, monkeypatch):
    from dualfilter.html import engine

    if not extra:
        monkeypatch.setattr(engine, "lolhtml", None)
    expected = page.replace(b"</html>", b"<i>S</i></html>")
    for chunks in (1, 2, 5, len(page)):
        assert run_filter(Inject(html="<i>S</i>", where=where), page, chunks=chunks)[2] == expected, chunks


def test_with_the_html_extra_an_html_end_tag_in_a_script_of_a_page_with_its_html_start_is_no_place():
    page = b"<html><body><p>x</p><script>w('</html>')</script></html>"
    expected = b"<html><body><p>x</p><script>w('</html>')</script><i>S</i></html>"
    assert run_filter(Inject(html="<i>S</i>"), page, chunks=3)[2] == expected


SHOP = (
    b"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>Shop</title></head>\n"
    b'<h1>Shop</h1>\n<script>x.innerHTML = "<p>hi</p></body>";</script>\n<p>footer</p>\n</html>\n'
)


@pytest.mark.parametrize("chunks", [1, 2, 7, 40, len(SHOP)])
@pytest.mark.parametrize(
    "quiet",
    [
        b'<script>x.innerHTML = "<p>hi</p></body>";</script>',
        b"<!-- </body> -->",
        b"<style>/* </body> */</style>",
        b"<textarea></body></textarea>",
        b"<noscript></body></noscript>",
        b"<? </body> ?>",
    ],
)
def test_with_the_html_extra_an_end_tag_in_a_script_or_comment_of_a_page_without_its_body_start_is_no_place(quiet, chunks):
    page = SHOP.replace(b'<script>x.innerHTML = "<p>hi</p></body>";</script>', quiet)
    expected = page.replace(b"</html>", b"<i>S</i></html>")
    assert run_filter(Inject(html="<i>S</i>"), page, chunks=chunks)[2] == expected


@pytest.mark.parametrize("chunks", [1, 2, 7, 100])
def test_with_the_html_extra_a_head_end_tag_in_a_script_before_the_body_start_is_no_place(chunks):
    page = b'<html><script>w("</head>")</script><!-- </head> --><body><p>x</p></body></html>'
    expected = page.replace(b"<body>", b"<i>S</i><body>")
    assert run_filter(Inject(html="<i>S</i>", where="head"), page, chunks=chunks)[2] == expected


@pytest.mark.parametrize("chunks", [1, 2, 5, 100])
def test_with_the_html_extra_an_end_tag_in_a_script_or_comment_of_a_fragment_is_no_place(chunks):
    page = b"<p>x</p><script>w('</body></html>')</script><!-- </body> --><p>y</p>"
    assert run_filter(Inject(html="<i>S</i>"), page, chunks=chunks)[2] == page + b"<i>S</i>"


@pytest.mark.parametrize("chunks", [1, 2, 5, 100])
def test_with_the_html_extra_a_stray_end_tag_after_a_script_of_a_fragment_is_still_the_landmark(chunks):
    page = b"<p>x</p><script>w('</body>')</script><!--c--></body><p>y</p>"
    expected = page.replace(b"<!--c--></body>", b"<!--c--><i>S</i></body>")
    assert run_filter(Inject(html="<i>S</i>"), page, chunks=chunks)[2] == expected


@pytest.mark.parametrize("chunks", [1, 3, 100])
def test_with_the_html_extra_an_unclosed_script_holds_no_landmark_to_the_end(chunks):
    page = b"<p>x</p><script>w('</body>')"
    assert run_filter(Inject(html="<i>S</i>"), page, chunks=chunks)[2] == page + b"<i>S</i>"
