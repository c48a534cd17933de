"""The IIS filter recipe in docs/iis-filter.md works: its script filters a site through the fake IIS."""

from __future__ import annotations

import re
import sys
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "iis-filter.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_recipe_script_defines_the_filter_factory_and_an_installer():
    script = python_blocks()[0]
    assert "def __FilterFactory__():" in script and "HandleCommandLine(params)" in script and "FilterParameters(" in script


def test_recipe_runs_as_documented(tmp_path, monkeypatch):
    script, usage = python_blocks()[:2]
    (tmp_path / "banner_site.py").write_text(script)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        exec(compile(usage, str(DOC), "exec"), {})
    finally:
        sys.modules.pop("banner_site", None)
