"""The ``dualfilter`` command: argument parsing, subcommand dispatch, one-line errors.

Each subcommand is a module of this package with ``add_parser(subparsers,
parents)``, which sets its ``run(args) -> int`` as the parser's ``run``
default; ``COMMANDS`` lists them in the order ``--help`` shows. A subcommand
reports failure by raising ``common.CommandError``; ``common.load_filters``
turns ``--filter`` SPECs into filters.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Iterator, Sequence
from typing import NoReturn

from .. import __version__
from . import apply, proxy, serve
from .common import USAGE, CommandError

COMMANDS = (apply, serve, proxy)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, ``dualfilter: error: ...``, exit 2."""

    #: The subcommands' parsers by the ``run`` function each sets (the top-level parser's).
    commands: dict[object, argparse.ArgumentParser] = {}

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"dualfilter: error: {message} (see {self.prog} --help)\n")


def build_parser() -> _Parser:
    """The parser for ``dualfilter`` and all its subcommands."""
    common = _Parser(add_help=False)
    common.add_argument("--traceback", action="store_true", help="on an error, print the full traceback too")
    parser = _Parser(
        prog="dualfilter",
        description="Output-filtering middleware for WSGI, ASGI and IIS: command-line tools.",
    )
    parser.add_argument("--version", action="version", version=f"dualfilter {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    for command in COMMANDS:
        command.add_parser(subparsers, [common])
    parser.commands = {choice.get_default("run"): choice for choice in subparsers.choices.values()}
    return parser


class _Warnings(logging.Filter):
    """Lets through the core's warnings; its error records are reported by the command."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.ERROR


@contextlib.contextmanager
def _log_warnings_to_stderr() -> Iterator[None]:
    """Show the core's log warnings as ``dualfilter: warning: ...`` lines, without tracebacks."""
    logger = logging.getLogger("dualfilter")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("dualfilter: warning: %(message)s"))
    handler.addFilter(_Warnings())
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def _error(message: str) -> None:
    print(f"dualfilter: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); returns the exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    run = getattr(args, "run", None)
    if extra:  # told by the command's own parser, whose --help says what it takes
        parser.commands.get(run, parser).error(f"unrecognized arguments: {' '.join(extra)}")
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    # Like ``python -m``, make modules in the current directory importable for module:Class SPECs.
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        with _log_warnings_to_stderr():
            return int(run(args))
    except CommandError as exc:
        _error(str(exc))
        if args.traceback and exc.__cause__ is not None:
            traceback.print_exception(exc.__cause__, file=sys.stderr)
        return exc.status
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): nothing more can be written.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as exc:
        _error(f"{type(exc).__name__}: {exc}" + ("" if args.traceback else " (run with --traceback for details)"))
        if args.traceback:
            traceback.print_exc()
        return 1
