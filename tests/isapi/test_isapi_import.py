"""dualfilter.isapi imports without pywin32, and uses pywin32's isapi package when it is there."""

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


def test_imports_with_pywin32_unavailable():
    out = run(
        BLOCK_PYWIN32
        + """
import dualfilter, dualfilter.isapi, dualfilter.isapi.testing
from dualfilter.isapi import constants
print(constants.HSE_STATUS_PENDING, constants.HSE_IO_ASYNC, dualfilter.isapi.ExtensionError.__module__)
"""
    )
    assert out == "3 2 dualfilter.isapi.errors"


def test_pywin32_isapi_package_is_used_when_present(tmp_path):
    package = tmp_path / "isapi"
    package.mkdir()
    (package / "__init__.py").write_text("class ExtensionError(Exception):\n    pass\n")
    # An old isapicon: no HSE_IO_* names, and a value of its own to show it is read.
    (package / "isapicon.py").write_text("HSE_STATUS_SUCCESS = 1\nHSE_STATUS_PENDING = 3\nHSE_STATUS_ERROR = 104\n")
    out = run(
        """
import isapi
from dualfilter.isapi import ExtensionError, constants
print(ExtensionError is isapi.ExtensionError, constants.HSE_STATUS_ERROR, constants.HSE_IO_ASYNC)
""",
        extra_path=tmp_path,
    )
    assert out == "True 104 2"


def test_the_extension_doubles_need_no_h11_and_the_filter_host_names_the_extra_without_it():
    # h11 comes with the isapi extra, for filter mode: an extension is tested without it.
    out = run(
        BLOCK_PYWIN32.replace('name == "isapi"', 'name in ("isapi", "h11")')
        + """
from dualfilter import Filter
from dualfilter.isapi.testing import ExtensionHost, FakeECB, FilterHost, call_extension

class Upper(Filter):
    def filter(self, environ, headers, data):
        return data.upper()

class Hello:
    def HttpExtensionProc(self, ecb):
        ecb.SendResponseHeaders("200 OK", "Content-Type: text/html\\r\\n\\r\\n", False)
        ecb.WriteClient(b"<p>hi</p>")
        return 1

print(call_extension(Upper.isapi(Hello()), FakeECB()).body.decode())
try:
    FilterHost(object())
except ImportError as exc:
    print(exc)
"""
    )
    first, second = out.splitlines()
    assert first == "<P>HI</P>" and "pip install 'dualfilter[isapi]'" in second
