"""Command-line mistakes are reported in one line with exit status 2."""

from __future__ import annotations

import pytest

from dualfilter.cli import main


@pytest.mark.parametrize(
    "argv",
    [["apply", "--bogus", "x", "-"], ["proxy"], ["serve", "--port", "notaport", "--demo"], ["nosuchcommand"]],
)
def test_a_bad_command_line_is_one_error_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert err.count("\n") == 1 and err.startswith("dualfilter: error: ")
