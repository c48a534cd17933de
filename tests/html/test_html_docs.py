"""Every Python sample in docs/html.md runs as written, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "html.md"
FENCE = re.compile(r"^```python\n(?P<code>.*?)^```\s*$", re.M | re.S)


def test_every_recipe_in_the_html_docs_runs():
    text = DOCS.read_text(encoding="utf-8")
    samples = list(FENCE.finditer(text))
    assert len(samples) >= 5
    namespace: dict[str, object] = {"__name__": "docs_html"}
    for sample in samples:
        code = "\n" * text.count("\n", 0, sample.start("code")) + sample["code"]
        exec(compile(code, str(DOCS), "exec"), namespace)
