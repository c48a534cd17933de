"""Ranges of a filtered body: one satisfiable range, or the whole body (RFC 9110 section 14)."""

from __future__ import annotations

import pytest

from dualfilter.ranges import UNSATISFIABLE, content_range, requested


def asked(value, size=100, **environ):
    return requested({"REQUEST_METHOD": "GET", "HTTP_RANGE": value, **environ}, size)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=90-", (90, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=95-200", (95, 99)),
        ("bytes = 1 - 2", (1, 2)),
        ("bytes=-200", (0, 99)),
    ],
)
def test_one_satisfiable_range_is_served(value, expected):
    assert asked(value) == expected


@pytest.mark.parametrize("value", ["bytes=100-", "bytes=200-300", "bytes=-0"])
def test_a_range_past_the_end_is_unsatisfiable(value):
    assert asked(value) == UNSATISFIABLE


@pytest.mark.parametrize("value", ["bytes=0-1,5-6", "items=0-1", "bytes=5-1", "bytes=-", "nonsense"])
def test_several_ranges_other_units_and_bad_values_get_the_whole_body(value):
    assert asked(value) is None


def test_an_if_range_never_matches_a_filtered_body():
    assert asked("bytes=0-9", HTTP_IF_RANGE='"v1"') is None


def test_only_a_get_is_answered_with_a_range():
    assert requested({"REQUEST_METHOD": "HEAD", "HTTP_RANGE": "bytes=0-9"}, 100) is None


def test_the_content_range_says_the_positions_and_the_whole_size():
    assert content_range(0, 9, 100) == "bytes 0-9/100"


def test_an_empty_body_answers_a_suffix_range_whole_and_any_other_range_416():
    # RFC 9110 section 14.1.2: of a zero-length representation, only a suffix range with a
    # non-zero length is satisfiable; no Content-Range can name it, so the whole (empty) body.
    assert asked("bytes=-5", size=0) is None
    assert asked("bytes=-0", size=0) == UNSATISFIABLE
    assert asked("bytes=0-", size=0) == UNSATISFIABLE
    assert asked("bytes=0-9", size=0) == UNSATISFIABLE
