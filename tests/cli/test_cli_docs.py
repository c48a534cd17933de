"""Every example in docs/cli.md gives the output the page shows.

Blocks whose info string names a file (```html file=page.html) are written to
a scratch directory; in ``console`` blocks each ``$ command`` runs there in a
shell, with ``dualfilter`` being this interpreter's ``python -m dualfilter``,
and its stdout and stderr together must be the lines that follow it.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

PAGE = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)(?P<info>[^\n]*)\n(?P<code>.*?)^```\s*$", re.M | re.S)


def examples(text: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` for every ``$ command`` of the console blocks."""
    found: list[tuple[str, list[str]]] = []
    for match in FENCE.finditer(text):
        if match["lang"] != "console":
            continue
        for line in match["code"].splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            else:
                found[-1][1].append(line)
    return [(command, "\n".join(lines)) for command, lines in found]


def test_cli_examples_print_what_the_page_shows(tmp_path):
    text = PAGE.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        name = re.search(r"\bfile=(\S+)", match["info"])
        if name:
            (tmp_path / name.group(1)).write_text(match["code"], encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "dualfilter"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m dualfilter "$@"\n')
    shim.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    cases = examples(text)
    assert len(cases) >= 5
    for command, expected in cases:
        result = subprocess.run(
            ["/bin/sh", "-c", f"{command} 2>&1"], cwd=tmp_path, env=env, capture_output=True, timeout=30, check=False
        )
        output = result.stdout.decode().replace("\r\n", "\n").rstrip("\n")
        assert output == expected, command
