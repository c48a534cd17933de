"""Every Python sample in the README runs as written.

The samples are run in order in one namespace, as a reader following the page
would; Django samples find a configured test project.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.django_project import setup_django

README = Path(__file__).resolve().parent.parent / "README.md"
FENCE = re.compile(r"^```python\n(?P<code>.*?)^```\s*$", re.M | re.S)


def test_every_python_sample_in_the_readme_runs(tmp_path, monkeypatch):
    setup_django()
    monkeypatch.chdir(tmp_path)
    text = README.read_text(encoding="utf-8")
    namespace: dict[str, object] = {"__name__": "readme"}
    samples = list(FENCE.finditer(text))
    assert len(samples) >= 8
    for sample in samples:
        code = "\n" * text.count("\n", 0, sample.start("code")) + sample["code"]
        exec(compile(code, str(README), "exec"), namespace)


def test_the_readme_setup_commands_are_the_ones_ci_runs():
    ci = (README.parent / ".ci" / "run").read_text()
    text = README.read_text(encoding="utf-8")
    test_command = "python -m pip install -e '.[test]' && python -m pytest"
    assert test_command in text
    assert test_command in ci
