"""``Replace`` filters by default exactly the types its documentation lists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dualfilter.filters import Replace
from dualfilter.testing import run_filter

DOCS = Path(__file__).resolve().parents[2] / "docs" / "filters.md"


def _documented_default() -> str:
    section = DOCS.read_text().partition("\n## Replace\n")[2].partition("\n## ")[0]
    return section.partition("By default it")[2].partition("set `filter_content_types`")[0]


def test_every_default_pattern_is_named_in_the_docs():
    named = set(re.findall(r"`([a-z*]+/[a-z*+.-]+)`", _documented_default()))
    assert set(Replace.filter_content_types) <= named


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html",
        "text/plain",
        "text/css",
        "text/javascript",
        "application/json",
        "application/ld+json",
        "application/xml",
        "image/svg+xml",
        "application/javascript",
    ],
)
def test_each_documented_type_is_filtered(content_type):
    assert run_filter(Replace(pattern="old", repl="new"), b"old", content_type=content_type)[2] == b"new"


@pytest.mark.parametrize("content_type", ["application/octet-stream", "image/png", "application/yaml", "application/pdf"])
def test_other_types_are_left_alone(content_type):
    assert run_filter(Replace(pattern="old", repl="new"), b"old", content_type=content_type)[2] == b"old"
