"""Pages in any charset: read as browsers read them, written back in it."""

from __future__ import annotations

import gzip

from html_rewriters import CollectText

from dualfilter.html import Rewriter, on
from dualfilter.testing import run_filter


class Mark(Rewriter):
    @on("p")
    def p(self, element, environ):
        element.append(" \u00e9\u20ac")
        element.set_attribute("title", "\u20ac")


def test_a_latin1_page_stays_in_latin1_byte_for_byte_where_untouched():
    page = "<p>caf\u00e9</p><div>\u00e0 bient\u00f4t</div>".encode("iso-8859-1")
    status, headers, body = run_filter(Mark, page, content_type="text/html; charset=iso-8859-1", chunks=5)
    assert body == '<p title="&#8364;">caf\u00e9 \u00e9&#8364;</p><div>\u00e0 bient\u00f4t</div>'.encode("iso-8859-1")
    assert dict(headers)["Content-Type"] == "text/html; charset=iso-8859-1"


def test_handlers_get_the_text_decoded_from_the_page_charset():
    seen: list[str] = []
    run_filter(CollectText(seen=seen), "<p>\u20ac\u00e9</p>".encode("cp1252"), content_type="text/html; charset=windows-1252")
    assert seen == ["\u20ac\u00e9"]


def test_a_multibyte_charset_split_anywhere_comes_out_whole():
    page = "<p>\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8</p>".encode("shift_jis")
    expected = run_filter(CollectText(seen=[]), page, content_type="text/html; charset=shift_jis")[2]
    for chunks in range(2, len(page)):
        assert run_filter(CollectText(seen=[]), page, content_type="text/html; charset=shift_jis", chunks=chunks)[2] == expected
    assert expected == "<p>[\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8]</p>".encode("shift_jis")


def test_a_meta_charset_is_found_when_the_header_has_none():
    page = '<meta charset="windows-1252"><p>\u20ac</p>'.encode("cp1252")
    seen: list[str] = []
    body = run_filter(CollectText(seen=seen), page, content_type="text/html", chunks=4)[2]
    assert seen == ["\u20ac"]
    assert body == '<meta charset="windows-1252"><p>[\u20ac]</p>'.encode("cp1252")


def test_a_utf16_page_with_a_byte_order_mark_is_read_and_written_in_utf16():
    page = "<p>\u00e9t\u00e9</p>".encode("utf-16")
    seen: list[str] = []
    body = run_filter(CollectText(seen=seen), page, content_type="text/html", chunks=3)[2]
    assert seen == ["\u00e9t\u00e9"]
    assert body.decode("utf-16") == "<p>[\u00e9t\u00e9]</p>"


def test_a_utf8_byte_order_mark_and_invalid_bytes_pass_through_untouched():
    page = b"\xef\xbb\xbf<div>\xff\xfe bytes</div><p>x</p>"
    expected = b'\xef\xbb\xbf<div>\xff\xfe bytes</div><p title="\xe2\x82\xac">x \xc3\xa9\xe2\x82\xac</p>'
    assert run_filter(Mark, page, chunks=3)[2] == expected


def test_with_text_handlers_invalid_utf8_in_text_reads_as_replacement_characters():
    seen: list[str] = []
    body = run_filter(CollectText(seen=seen), b"<div>\xff</div><p>\xe9</p>")[2]
    assert seen == ["\ufffd"]
    assert body == "<div>\ufffd</div><p>[\ufffd]</p>".encode()


def test_an_unknown_charset_label_is_ignored_as_browsers_do():
    assert run_filter(Mark, b"<p>x</p>", content_type="text/html; charset=no-such-thing")[2] == (
        '<p title="\u20ac">x \u00e9\u20ac</p>'.encode()
    )


def test_buffered_output_the_page_charset_cannot_hold_leaves_as_utf8_and_says_so():
    page = gzip.compress("<p>caf\u00e9</p>".encode("iso-8859-1"))
    status, headers, body = run_filter(
        Mark, page, content_type="text/html; charset=iso-8859-1", headers=[("Content-Encoding", "gzip")]
    )
    assert gzip.decompress(body) == '<p title="\u20ac">caf\u00e9 \u00e9\u20ac</p>'.encode()
    assert dict(headers)["Content-Type"] == "text/html; charset=utf-8"


def test_buffered_output_that_fits_stays_in_the_page_charset():
    page = gzip.compress("<p>caf\u00e9</p>".encode("iso-8859-1"))
    seen: list[str] = []
    status, headers, body = run_filter(
        CollectText(seen=seen), page, content_type="text/html; charset=iso-8859-1", headers=[("Content-Encoding", "gzip")]
    )
    assert gzip.decompress(body) == "<p>[caf\u00e9]</p>".encode("iso-8859-1")
    assert dict(headers)["Content-Type"] == "text/html; charset=iso-8859-1"
