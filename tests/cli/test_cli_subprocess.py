"""The ``dualfilter`` command as a user runs it: ``python -m dualfilter`` in a subprocess."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys

import pytest

from dualfilter.cli import main


def dualfilter(*args: str, stdin: bytes = b"", cwd=None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "dualfilter", *args], input=stdin, capture_output=True, cwd=cwd, timeout=30, check=False
    )


def test_the_readme_example_replaces_text_from_stdin():
    result = dualfilter("apply", "--filter", "replace?pattern=hi&repl=HO", "-", stdin=b"<p>hi</p>\n")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"<p>HO</p>\n", b"")


def test_several_filters_run_in_a_subprocess():
    result = dualfilter(
        "apply", "-f", "replace?pattern=hi&repl=HO", "-f", "inject?html=<hr>", "-", stdin=b"<body><p>hi</p></body>"
    )
    assert result.stdout == b"<body><p>HO</p><hr></body>"


def test_non_utf8_output_reaches_stdout_byte_for_byte():
    data = "<p>café</p>".encode("iso-8859-1")
    result = dualfilter("apply", "-f", "replace?pattern=p&repl=b", "-t", "text/html; charset=iso-8859-1", "-", stdin=data)
    assert result.stdout == "<b>café</b>".encode("iso-8859-1")


@pytest.mark.parametrize(
    ("spec", "code", "message"),
    [
        ("replace?patern=x", 2, b"dualfilter: error: replace: unknown option 'patern'; did you mean 'pattern'?\n"),
        ("no_such_module_xyz:Filter", 2, b"dualfilter: error: cannot import module 'no_such_module_xyz': "),
        ("dualfilter:NoSuchClass", 2, b"dualfilter: error: 'dualfilter' has no attribute 'NoSuchClass'\n"),
        ("xslt?stylesheet=/no/such.xsl", 2, b"dualfilter: error: xslt: cannot read stylesheet '/no/such.xsl'"),
    ],
)
def test_bad_specs_are_one_line_without_traceback(spec, code, message):
    result = dualfilter("apply", "--filter", spec, "-", stdin=b"x")
    assert result.returncode == code
    assert result.stderr.startswith(message)
    assert result.stderr.count(b"\n") == 1
    assert result.stdout == b""


def test_a_failing_filter_is_one_line_without_traceback(tmp_path):
    (tmp_path / "sub_failing.py").write_text(
        "from dualfilter import Filter\n\n"
        "class Broken(Filter):\n    def filter(self, environ, headers, data):\n        return 1 / 0\n"
    )
    result = dualfilter("apply", "--filter", "sub_failing:Broken", "-", stdin=b"<p>x</p>", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr == b"dualfilter: error: sub_failing:Broken failed: ZeroDivisionError: division by zero\n"


def test_a_missing_file_is_one_line_without_traceback(tmp_path):
    result = dualfilter("apply", "--filter", "replace?pattern=a", str(tmp_path / "nope.html"))
    assert result.returncode == 1
    assert result.stderr == f"dualfilter: error: cannot read {tmp_path / 'nope.html'}: No such file or directory\n".encode()


def test_version_is_printed():
    result = dualfilter("--version")
    assert result.stdout.decode().startswith("dualfilter ")


def test_the_console_script_runs_main():
    (entry_point,) = importlib.metadata.entry_points(group="console_scripts", name="dualfilter")
    assert entry_point.load() is main


def test_apply_with_its_standard_output_closed_says_so_in_one_line(tmp_path):
    # As `dualfilter apply ... >&-` starts it: Python sets sys.stdout to None.
    page = tmp_path / "page.html"
    page.write_bytes(b"<p>x</p>")
    command = [sys.executable, "-m", "dualfilter", "apply", "-f", "inject?html=y", str(page)]
    closed = subprocess.run(command, stderr=subprocess.PIPE, preexec_fn=lambda: os.close(1), timeout=60)
    assert closed.returncode == 1
    assert closed.stderr.decode().strip() == "dualfilter: error: standard output is closed: nowhere to write the result"
