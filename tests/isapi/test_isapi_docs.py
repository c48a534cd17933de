"""The IIS recipe in docs/iis.md works: its script serves a filtered page through the fake IIS."""

from __future__ import annotations

import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "iis.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_recipe_script_defines_the_extension_factory_and_an_installer():
    script = python_blocks()[0]
    assert "def __ExtensionFactory__():" in script and "HandleCommandLine(params)" in script


def test_recipe_runs_as_documented(tmp_path, monkeypatch):
    script, usage = python_blocks()[:2]
    (tmp_path / "upper_site.py").write_text(script)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        exec(compile(usage, str(DOC), "exec"), {})
    finally:
        sys.modules.pop("upper_site", None)
