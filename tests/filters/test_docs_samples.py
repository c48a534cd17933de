"""Every code sample in docs/filters.md and docs/paste.md runs as written.

Fenced blocks are taken in order: a block whose info string names a file
(```xml file=report.xsl) is written to that file in a scratch directory; every
other ``python`` block is executed there, all blocks of a page sharing one
namespace, as a reader following the page would.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)(?P<info>[^\n]*)\n(?P<code>.*?)^```\s*$", re.M | re.S)


def blocks(page: str) -> list[tuple[str, str | None, str]]:
    """``(language, file name or None, code)`` for each fenced block of a docs page;
    code is padded with blank lines so tracebacks give the line in the page."""
    text = (DOCS / page).read_text(encoding="utf-8")
    found = []
    for match in FENCE.finditer(text):
        name = re.search(r"\bfile=(\S+)", match["info"])
        if name:
            found.append((match["lang"], name.group(1), match["code"]))
        else:
            found.append((match["lang"], None, "\n" * text.count("\n", 0, match.start("code")) + match["code"]))
    return found


@pytest.mark.parametrize("page", ["filters.md", "paste.md"])
def test_python_samples_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict[str, object] = {"__name__": f"docs_{page.replace('.', '_')}"}
    executed = 0
    for lang, name, code in blocks(page):
        if name is not None:
            (tmp_path / name).write_text(code, encoding="utf-8")
            if name.endswith(".py"):
                monkeypatch.delitem(sys.modules, name[:-3], raising=False)
        elif lang == "python":
            exec(compile(code, f"{DOCS / page}", "exec"), namespace)
            executed += 1
    assert executed > 0
