"""docs/guarantees.md: every test it names exists, and its code samples do what the text says."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from dualfilter.testing import run_filter

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "guarantees.md"
CARD = b"<p>card 4111 1111 1111 1111</p>"


def samples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def run(marker: str) -> dict:
    (code,) = [code for code in samples() if marker in code]
    namespace: dict = {"__name__": "guarantees_sample"}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


def cited() -> set[str]:
    return set(re.findall(r"`(tests/[\w/]+\.py::\w+)`", DOC.read_text()))


def test_the_document_names_tests_for_every_section():
    assert len(cited()) > 60


def test_every_test_the_document_names_exists():
    missing = []
    for test_id in sorted(cited()):
        path, name = test_id.split("::")
        tree = ast.parse((ROOT / path).read_text()) if (ROOT / path).exists() else ast.Module(body=[], type_ignores=[])
        defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
        if name not in defined:
            missing.append(test_id)
    assert missing == []


def test_the_redaction_sample_filters_error_pages_and_json_too():
    flt = run("class RedactCards")["RedactCards"]()
    assert b"4111" not in run_filter(flt, CARD, status=404)[2]
    assert b"4111" not in run_filter(flt, b'{"card": "4111-1111-1111-1111"}', content_type="application/json")[2]


def test_the_redaction_sample_refuses_a_body_too_large_to_filter():
    flt = run("class RedactCards")["RedactCards"](max_buffer_size=8)
    assert run_filter(flt, CARD, chunks=4)[0] == 502


def test_the_banner_sample_changes_its_etag_with_its_release():
    namespace = run("class Banner")

    def etag() -> str:
        headers = run_filter(namespace["Banner"](), b"<body></body>", headers=[("ETag", '"v1"')])[1]
        return dict(headers)["ETag"]

    first = etag()
    assert etag() == first
    namespace["BANNER_RELEASE"] = "2024-07"
    assert etag() != first
