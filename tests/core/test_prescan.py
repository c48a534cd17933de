"""The HTML prescan (dualfilter.prescan): which <meta> decides a page's charset, as browsers read it."""

from __future__ import annotations

import pytest

from .conftest import decoded

ZHE = "<p>\u0436</p>"  # 'ж': koi8-r's 0xD6, UTF-8's 0xD0 0xB6


def test_a_meta_content_charset_without_http_equiv_content_type_is_not_read():
    body = ('<meta name="description" content="text/html; charset=koi8-r">' + ZHE).encode()
    assert decoded(body, "text/html").endswith(ZHE)


def test_a_meta_refresh_whose_content_names_a_charset_is_not_read():
    body = ('<meta http-equiv="refresh" content="5; charset=koi8-r">' + ZHE).encode()
    assert decoded(body, "text/html").endswith(ZHE)


def test_an_attribute_name_merely_ending_in_charset_is_not_read():
    assert decoded(('<meta data-charset="koi8-r">' + ZHE).encode(), "text/html").endswith(ZHE)


def test_a_meta_inside_another_tags_attribute_value_is_not_read():
    assert decoded(('<img alt="<meta charset=koi8-r>">' + ZHE).encode(), "text/html").endswith(ZHE)


def test_a_meta_charset_label_only_python_knows_is_not_read():
    assert decoded(('<meta charset="cp437">' + ZHE).encode(), "text/html").endswith(ZHE)


def test_a_meta_charset_attribute_overrides_a_content_charset_before_it():
    meta = '<meta http-equiv="Content-Type" content="text/html; charset=koi8-r" charset="windows-1251">'
    assert decoded((meta + ZHE).encode("cp1251"), "text/html").endswith(ZHE)


def test_the_meta_after_one_with_an_unknown_label_decides():
    body = ('<meta charset="no-such-label"><meta charset="koi8-r">' + ZHE).encode("koi8-r")
    assert decoded(body, "text/html").endswith(ZHE)


@pytest.mark.parametrize("comment", ["<!-->", "<!--->"])
def test_a_comment_closed_by_the_dashes_that_open_it_ends_there(comment):
    assert decoded((comment + '<meta charset="koi8-r">' + ZHE).encode("koi8-r"), "text/html").endswith(ZHE)


def test_a_meta_the_1024_byte_limit_cuts_off_is_not_read():
    body = b" " * 1005 + ('<meta charset="koi8-r">' + ZHE).encode()  # '<meta charset="koi8' inside the limit, the rest past it
    assert decoded(body, "text/html").endswith(ZHE)


def test_an_unmarked_utf16_page_starting_with_an_xml_declaration_is_read_as_utf16():
    assert decoded('<?xml version="1.0"?><p>\u0436</p>'.encode("utf-16-le"), "text/html").endswith(ZHE)
