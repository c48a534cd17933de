"""The core imports no adapter, host framework or pywin32; only hosts.py names the adapters."""

from __future__ import annotations

import re
from pathlib import Path

import dualfilter

CORE = Path(dualfilter.__file__).parent
ADAPTERS = ("wsgi", "asgi", "isapi", "django", "cli", "html")


def core_modules():
    return [path for path in CORE.glob("*.py") if path.name not in ("hosts.py", "demo.py", "__main__.py")]


def test_no_core_module_imports_an_adapter_even_lazily():
    names = "|".join(ADAPTERS)
    pattern = re.compile(rf"(from \.({names})\b|[\"']dualfilter\.({names})\b|f[\"']dualfilter\.\{{)")
    offenders = {path.name: pattern.findall(path.read_text()) for path in core_modules()}
    assert {name: found for name, found in offenders.items() if found} == {}


def test_no_core_module_imports_a_framework_or_pywin32():
    pattern = re.compile(r"^\s*(from|import) (starlette|django|asgiref|isapi|win32\w*|flask|uvicorn)\b", re.M)
    assert [path.name for path in core_modules() if pattern.search(path.read_text())] == []
