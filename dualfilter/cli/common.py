"""What every subcommand shares: its error type and exit statuses, and SPEC loading."""

from __future__ import annotations

import argparse
from collections.abc import Iterable

from ..filter import Filter
from ..specs import SpecError, load

#: Exit status for a command line that cannot work as written (a bad SPEC, option or argument).
USAGE = 2
#: Exit status for a command that ran and failed (unreadable input, a filter that failed).
FAILURE = 1


class CommandError(Exception):
    """Ends the command with ``dualfilter: error: <message>`` and exit ``status``."""

    def __init__(self, message: str, status: int = FAILURE) -> None:
        super().__init__(message)
        self.status = status


def load_filters(specs: Iterable[str]) -> list[tuple[str, Filter]]:
    """``(label, filter)`` for each SPEC, in order, the label being the SPEC's name;
    a CommandError (exit 2) for the first SPEC that is wrong."""
    filters = []
    for spec in specs:
        try:
            filters.append((spec.partition("?")[0].strip(), load(spec)))
        except SpecError as exc:
            raise CommandError(str(exc), USAGE) from exc.__cause__
    return filters


def add_filter_option(parser: argparse.ArgumentParser, *, required: bool = False) -> None:
    """The repeatable ``-f/--filter SPEC`` option, collected in ``args.filters`` in the order given."""
    parser.add_argument(
        "-f",
        "--filter",
        dest="filters",
        action="append",
        required=required,
        metavar="SPEC",
        help="inject, replace, rewrite-links, xslt or module:Class, with optional ?key=value&key=value options; "
        "repeat it to chain filters, the first one innermost",
    )
