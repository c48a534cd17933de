"""``dualfilter serve`` errors: one line on stderr and a non-zero exit, before anything is served."""

from __future__ import annotations

import subprocess
import sys

import pytest

from dualfilter.cli import main
from tests.support.cli_servers import listening_socket

INJECT = "inject?html=<hr>"


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    """Run in an empty directory holding ``cwd_site.py``, whose ``text`` is no app."""
    (tmp_path / "cwd_site.py").write_text("text = 'not an app'\n\ndef app(environ, start_response):\n    return []\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["nosuchmodule_xyz:app", "-f", INJECT], "cannot import module 'nosuchmodule_xyz': No module named 'nosuchmodule_xyz'"),
        (["cwd_site:missing", "-f", INJECT], "'cwd_site' has no attribute 'missing'"),
        (["cwd_site:text", "-f", INJECT], "cwd_site:text is not a WSGI or ASGI app: it is str 'not an app'"),
        (["cwd_site", "-f", INJECT], "APP 'cwd_site' is not module:attribute (for example myproject.wsgi:application)"),
        (["-f", INJECT], "give the APP to serve (module:attribute), or --demo"),
        (["cwd_site:app", "--demo"], "give APP or --demo, not both"),
        (["cwd_site:app"], "give at least one --filter SPEC"),
        (["cwd_site:app", "-f", "replace?patern=x"], "replace: unknown option 'patern'; did you mean 'pattern'?"),
        (
            ["cwd_site:app", "-f", "nosuchfilter"],
            "unknown filter 'nosuchfilter': use one of inject, replace, rewrite-links, xslt, or module:Class",
        ),
        (["--demo", "-f", "inject"], "inject: Inject needs the html option: the snippet to insert"),
        (["--demo", "--port", "70000"], "--port 70000 is not a port number"),
    ],
)
def test_a_command_line_that_cannot_work_is_one_line_and_exit_2(in_tmp, capsys, argv, message):
    assert main(["serve", *argv]) == 2
    assert capsys.readouterr().err == f"dualfilter: error: {message}\n"


def test_a_port_in_use_is_one_line_and_exit_1(capsys):
    with listening_socket() as taken:
        port = taken.getsockname()[1]
        assert main(["serve", "--demo", "--port", str(port)]) == 1
    assert capsys.readouterr().err == f"dualfilter: error: cannot listen on 127.0.0.1:{port}: address already in use\n"


def test_an_unknown_option_exits_2_naming_it(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--demo", "--bogus"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == "dualfilter: error: unrecognized arguments: --bogus (see dualfilter serve --help)\n"


def test_an_app_that_fails_at_startup_is_one_line_and_exit_1(tmp_path):
    (tmp_path / "failing_site.py").write_text(
        "async def app(scope, receive, send):\n"
        "    await receive()\n"
        "    await send({'type': 'lifespan.startup.failed', 'message': 'no database'})\n"
    )
    argv = ["serve", "failing_site:app", "-f", INJECT, "--port", "0", "--log-level", "critical"]
    result = subprocess.run(
        [sys.executable, "-m", "dualfilter", *argv], cwd=tmp_path, capture_output=True, timeout=30, check=False
    )
    assert (result.returncode, result.stdout) == (1, b"")
    assert result.stderr == b"dualfilter: error: the app failed to start (see the messages above)\n"
