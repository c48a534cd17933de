"""Replace: literal or regular-expression replacement on the decoded text of a response."""

from __future__ import annotations

import re

import pytest

from dualfilter.filters import Replace
from dualfilter.headers import get_header
from dualfilter.testing import run_filter


def body_of(flt, data, **kwargs):
    return run_filter(flt, data, **kwargs)[2]


def test_literal_replacement_replaces_every_occurrence():
    assert body_of(Replace(pattern="hi", repl="HO"), b"<p>hi hi</p>") == b"<p>HO HO</p>"


@pytest.mark.parametrize("chunks", [1, 2, 3, 11])
def test_a_match_split_across_chunks_is_replaced(chunks):
    data = b"<p>hello world</p>"
    assert body_of(Replace(pattern="hello world", repl="bye"), data, chunks=chunks) == b"<p>bye</p>"


def test_count_limits_the_number_of_replacements():
    assert body_of(Replace(pattern="a", repl="b", count=2), b"aaaa") == b"bbaa"


def test_literal_pattern_is_not_a_regular_expression():
    assert body_of(Replace(pattern="a.c", repl="X"), b"abc a.c") == b"abc X"


def test_literal_repl_keeps_backslashes():
    assert body_of(Replace(pattern="x", repl=r"\1\n"), b"x") == rb"\1\n"


def test_ignore_case_applies_to_literal_patterns():
    assert body_of(Replace(pattern="hello", repl="bye", ignore_case=True), b"Hello HELLO") == b"bye bye"


def test_ignore_case_literal_repl_keeps_backslashes():
    assert body_of(Replace(pattern="x", repl=r"\0", ignore_case=True), b"X") == rb"\0"


def test_regex_repl_refers_to_numbered_groups():
    assert body_of(Replace(pattern=r"(\w+)@(\w+)", repl=r"\2 at \1", regex=True), b"me@home") == b"home at me"


def test_regex_repl_refers_to_named_groups():
    flt = Replace(pattern=r"(?P<n>\d+) items", repl=r"\g<n> things", regex=True)
    assert body_of(flt, b"3 items") == b"3 things"


def test_regex_count_limits_the_number_of_replacements():
    assert body_of(Replace(pattern=r"\d", repl="#", regex=True, count=1), b"1 2 3") == b"# 2 3"


def test_flags_letters_set_regular_expression_flags():
    flt = Replace(pattern="^item", repl="-", regex=True, flags="mi")
    assert body_of(flt, b"Item one\nitem two") == b"- one\n- two"


def test_flags_accepts_re_flag_values():
    assert body_of(Replace(pattern="abc", repl="x", regex=True, flags=re.IGNORECASE), b"ABC") == b"x"


@pytest.mark.parametrize("flags", [None, True, 1.5, ["i"]])
def test_flags_that_are_neither_letters_nor_an_int_are_refused_at_construction(flags):
    with pytest.raises(TypeError, match="flags must be"):
        Replace(pattern="x", regex=True, flags=flags)


def test_non_ascii_pattern_matches_in_an_iso_8859_1_response():
    data = "<p>café</p>".encode("iso-8859-1")
    out = body_of(Replace(pattern="café", repl="thé"), data, content_type="text/html; charset=iso-8859-1")
    assert out == "<p>thé</p>".encode("iso-8859-1")


def test_utf16_response_is_written_back_in_utf16():
    data = "<p>naïve</p>".encode("utf-16")
    _, headers, out = run_filter(Replace(pattern="naïve", repl="süß"), data, content_type="text/html; charset=utf-16")
    assert out.decode("utf-16") == "<p>süß</p>"
    assert get_header(headers, "content-type") == "text/html; charset=utf-16"


@pytest.mark.parametrize("chunks", [1, 4])
def test_multibyte_characters_split_across_chunks_are_matched(chunks):
    data = "<p>日本語</p>".encode()
    assert body_of(Replace(pattern="本", repl="X"), data, chunks=chunks) == "<p>日X語</p>".encode()


def test_json_responses_are_filtered():
    out = body_of(Replace(pattern="old", repl="new"), b'{"a": "old"}', content_type="application/json")
    assert out == b'{"a": "new"}'


def test_binary_responses_pass_through():
    assert body_of(Replace(pattern="a", repl="b"), b"aaa", content_type="image/png") == b"aaa"


def test_content_length_describes_the_new_body():
    _, headers, out = run_filter(Replace(pattern="a", repl="bbb"), b"aaa")
    assert get_header(headers, "content-length") == str(len(out)) == "9"


def test_an_empty_pattern_is_refused_at_construction():
    with pytest.raises(ValueError, match="pattern"):
        Replace(repl="x")


def test_an_invalid_regular_expression_is_refused_at_construction():
    with pytest.raises(ValueError, match="invalid pattern"):
        Replace(pattern="(", regex=True)


def test_a_repl_naming_a_missing_group_is_refused_at_construction():
    with pytest.raises(ValueError, match="invalid repl"):
        Replace(pattern="(a)", repl=r"\2", regex=True)


def test_an_unknown_flag_letter_is_refused_at_construction():
    with pytest.raises(ValueError, match="unknown regex flag 'q'"):
        Replace(pattern="a", regex=True, flags="iq")


def test_a_negative_count_is_refused_at_construction():
    with pytest.raises(ValueError, match="count"):
        Replace(pattern="a", count=-1)


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"pattern": "a.c", "regex": "false"}, TypeError),
        ({"pattern": b"abc"}, TypeError),
        ({"pattern": "abc", "repl": None}, TypeError),
        ({"pattern": "abc", "decode_unicode": False}, ValueError),
    ],
)
def test_options_no_response_could_use_fail_when_replace_is_built(options, error):
    with pytest.raises(error):
        Replace(**options)
