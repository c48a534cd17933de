"""Content-Type parsing and matching (dualfilter.mediatypes)."""

from __future__ import annotations

import pytest

from dualfilter.mediatypes import content_type_items, format_content_type, matches, parse_content_type


def test_a_content_type_is_lower_cased_and_its_parameters_unquoted():
    media_type, params = parse_content_type('Text/HTML; Charset="UTF-8"')
    assert (media_type, dict(params)) == ("text/html", {"charset": "UTF-8"})


def test_a_value_without_a_slash_is_no_media_type():
    assert parse_content_type("garbage")[0] == ""


@pytest.mark.parametrize(
    ("media_type", "patterns", "expected"),
    [
        ("text/html", ("text/html",), True),
        ("text/html", ("text/*",), True),
        ("application/atom+xml", ("*/*+xml",), True),
        ("application/json", ("text/*",), False),
    ],
)
def test_patterns_match_types_and_suffixes(media_type, patterns, expected):
    assert matches(media_type, patterns) is expected


def test_a_comma_inside_a_quoted_parameter_does_not_split_a_list():
    assert content_type_items('text/html; a="x,y", text/plain') == ['text/html; a="x,y"', " text/plain"]


def test_a_value_needing_quotes_is_quoted_when_written():
    assert format_content_type("text/html", {"charset": "utf-8", "x": "a b"}) == 'text/html; charset=utf-8; x="a b"'


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("text/html; charset=iso-8859-1;", ("text/html", {"charset": "iso-8859-1"})),  # a trailing ";": no "" parameter
        ("text/html; charset=utf-8; charset=iso-8859-2", ("text/html", {"charset": "utf-8"})),  # the first counts
        ("text/html; charset*=utf-8''utf-8", ("text/html", {"charset*": "utf-8''utf-8"})),  # no RFC 2231
        ("text/html;charset=", ("text/html", {})),
        ('text/html;charset="a\\"b";x=1', ("text/html", {"charset": 'a"b', "x": "1"})),
        ("text/html ; charset = utf-8", ("text/html", {"charset": "utf-8"})),
        ("text/html garbage; charset=utf-8", ("", {})),
        ("text/html;;; bad name=1; charset=utf-8  ", ("text/html", {"charset": "utf-8"})),
    ],
)
def test_content_types_are_parsed_as_browsers_parse_them(value, expected):
    # WHATWG MIME Sniffing, "parse a MIME type".
    media_type, params = parse_content_type(value)
    assert (media_type, dict(params)) == expected


def test_a_redeclared_charset_leaves_no_empty_parameter_behind():
    from dualfilter.charsets import Charset
    from dualfilter.responses import with_charset

    headers = with_charset([("Content-Type", "text/html; charset=iso-8859-1;")], Charset("utf-8", "output", "utf-8"))
    assert headers == [("Content-Type", "text/html; charset=utf-8")]


def test_a_charset_declared_again_names_it_in_every_type_of_a_list():
    # Several field lines combined: browsers read the last type, so each must say the new charset.
    from dualfilter.charsets import Charset
    from dualfilter.responses import with_charset

    headers = with_charset([("Content-Type", "text/plain, text/html; charset=iso-8859-1")], Charset("utf-8", "output", "utf-8"))
    assert headers == [("Content-Type", "text/plain; charset=utf-8, text/html; charset=utf-8")]


def test_a_parameter_value_that_is_no_token_is_written_quoted():
    # RFC 9110 section 5.6.6: parameter-value = token / quoted-string.
    from dualfilter.mediatypes import format_content_type

    written = format_content_type("text/html", {"charset": "utf-8", "title": "{a}", "x": "\u00e9", "e": ""})
    assert written == 'text/html; charset=utf-8; title="{a}"; x="\u00e9"; e=""'
