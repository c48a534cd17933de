"""Property: however the app chunks its body, the filtered output is the same bytes."""

from __future__ import annotations

import gzip
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.filters import Rot13, Upper

from .conftest import drive


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    bounds = [0, *points, len(data)]
    return [data[a:b] for a, b in itertools.pairwise(bounds)]


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(min_value=0), max_size=12))
def test_a_bytes_filter_gives_identical_output_for_any_chunking(body, cuts):
    assert drive(Upper(), split(body, cuts))[1:] == drive(Upper(), [body])[1:]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200), st.lists(st.integers(min_value=0), max_size=12))
def test_a_text_filter_gives_identical_output_when_chunks_split_characters(text, cuts):
    body = ("<p>" + text + "</p>").encode("utf-8")
    assert drive(Rot13(), split(body, cuts))[1:] == drive(Rot13(), [body])[1:]


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(min_value=0), max_size=8))
def test_a_compressed_body_gives_identical_output_for_any_chunking(body, cuts):
    raw = gzip.compress(body, mtime=0)
    headers = [("Content-Type", "text/html"), ("Content-Encoding", "gzip")]
    assert drive(Upper(), split(raw, cuts), headers=headers)[1:] == drive(Upper(), [raw], headers=headers)[1:]
