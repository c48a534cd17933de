"""Without Django installed, importing the adapter is one clear error naming the extra; the core never imports Django."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_importing_the_adapter_without_django_names_the_extra():
    result = run("import sys; sys.modules['django'] = None; import dualfilter.django")
    assert result.returncode == 1
    assert "ImportError: dualfilter.django needs Django: pip install 'dualfilter[django]'" in result.stderr


def test_the_core_imports_no_django_even_after_filters_and_chains_are_built():
    result = run(
        "import sys, dualfilter; from dualfilter.specs import load; dualfilter.chain(load('replace?pattern=a'));"
        "print('django' in sys.modules)"
    )
    assert result.stdout.strip() == "False", result.stderr
