"""The package as a whole: imports stay light, static checks pass."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_importing_the_core_imports_no_framework_lxml_or_pywin32():
    code = (
        "import sys, dualfilter, dualfilter.testing, dualfilter.formats;"
        "heavy = {'lxml', 'starlette', 'asgiref', 'isapi', 'win32api', 'django', 'flask', 'anyio'};"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_public_api_is_what_filter_authors_write_against():
    import dualfilter

    assert sorted(dualfilter.__all__) == sorted(
        ["Filter", "chain", "Chain", "Headers", "Format", "Stream", "FilterError", "ProtocolError", "StreamError", "testing"]
    )
    assert dualfilter.__version__  # still there, outside __all__


def test_the_package_ships_py_typed():
    assert (ROOT / "dualfilter" / "py.typed").exists()


def test_ruff_finds_nothing():
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "dualfilter", "tests", "benchmarks"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing():
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
