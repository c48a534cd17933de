"""The filter mode imports without pywin32, and uses pywin32's classes and constants when it is there."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BLOCK_PYWIN32 = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "isapi" or name.startswith(("isapi.", "win32", "pywintypes")):
            raise ImportError(f"no {name} here")
sys.meta_path.insert(0, Block())
"""


def run(code: str, extra_path: Path | None = None) -> str:
    paths = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    prelude = f"import sys; sys.path[:0] = {paths!r}\n"
    result = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_filter_mode_imports_with_pywin32_unavailable():
    out = run(
        BLOCK_PYWIN32
        + """
from dualfilter.isapi import constants, filter  # filter mode
from dualfilter.isapi.errors import FilterError
print(hex(constants.SF_NOTIFY_SEND_RAW_DATA), hex(constants.SF_STATUS_REQ_NEXT_NOTIFICATION), FilterError.__name__)
"""
    )
    assert out == "0x400 0x8000002 FilterError"


def test_pywin32_filter_error_and_constants_are_used_when_present(tmp_path):
    package = tmp_path / "isapi"
    package.mkdir()
    (package / "__init__.py").write_text(
        "class ExtensionError(Exception):\n    pass\n\nclass FilterError(Exception):\n    pass\n"
    )
    (package / "isapicon.py").write_text("SF_NOTIFY_ORDER_DEFAULT = 0x40000\n")
    out = run(
        """
import isapi
from dualfilter.isapi import constants
from dualfilter.isapi.errors import FilterError
print(FilterError is isapi.FilterError, hex(constants.SF_NOTIFY_ORDER_DEFAULT), hex(constants.SF_NOTIFY_END_OF_REQUEST))
""",
        extra_path=tmp_path,
    )
    assert out == "True 0x40000 0x80"
