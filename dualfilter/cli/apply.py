"""``dualfilter apply``: run filters over a file or stdin through the core, print the result.

For developing and debugging filters: no server, no app; the input is one
response body, the filters run in the order given (the first SPEC filters
first, as the innermost middleware would) and the final body goes to stdout.
"""

from __future__ import annotations

import argparse
import mimetypes
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..drivers import drive
from ..errors import FilterError
from ..filter import Filter
from ..headers import HeaderList, check_header, without
from ..machine import ResponseMachine
from ..responses import status_line
from ..testing import collect, make_environ
from .common import USAGE, CommandError, load_filters

#: The Content-Type given to stdin, and to files whose extension says nothing.
DEFAULT_CONTENT_TYPE = "text/html"


@dataclass
class Outcome:
    """What a chain of filters made of one response."""

    status: int
    headers: HeaderList
    body: bytes
    #: Why filters left the response alone, one line each.
    notes: list[str] = field(default_factory=list)


class FilterFailed(Exception):
    """A filter raised (or the core refused its output): the response became an error page."""

    def __init__(self, label: str, error: BaseException) -> None:
        detail = str(error) if isinstance(error, FilterError) else f"{type(error).__name__}: {error}"
        super().__init__(f"{label} failed: {detail}")
        self.error = error


#: Decisions by which a filter that does not want the response leaves it be.
_NOT_FILTERED = frozenset({"bodiless", "redispatch"})


def apply_filters(
    filters: Sequence[tuple[str, Filter]],
    body: bytes,
    *,
    status: int = 200,
    headers: HeaderList | None = None,
    environ: Mapping[str, Any] | None = None,
) -> Outcome:
    """Run ``(label, filter)`` pairs over one response, each through its own
    ResponseMachine; FilterFailed when one of them fails."""
    environ = make_environ(environ=environ)
    # The input's own length: one a --header gave would contradict it (RFC 9110 section 8.6).
    headers = [*without(headers or [], frozenset({"content-length"})), ("Content-Length", str(len(body)))]
    outcome = Outcome(status, headers, body)
    for label, flt in filters:
        machine = ResponseMachine(flt, environ)
        events = drive(machine, machine.start(outcome.status, outcome.headers))
        decision = machine.decision
        events += drive(machine, machine.body(outcome.body))
        events += drive(machine, machine.end())
        if machine.error is not None:
            raise FilterFailed(label, machine.error)
        given = outcome.body
        outcome.status, outcome.headers, outcome.body = collect(events)
        if decision is not None and (decision.action == "pass" or decision.action in _NOT_FILTERED and not decision.wanted):
            # A status with no body (or a 206 or 304 no app is asked again for) drops the input.
            what = "dropped the input" if given and not outcome.body else "left the input unchanged"
            outcome.notes.append(f"{label} {what}: {decision.reason}")
    return outcome


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``apply`` to the ``dualfilter`` parser."""
    parser = subparsers.add_parser(
        "apply",
        parents=parents,
        help="run filters over a file or stdin and print the result",
        description="Run filters over FILE (or stdin, '-') through the core and print the resulting body to stdout. "
        "Several --filter options apply in the order given.",
    )
    parser.add_argument(
        "-f",
        "--filter",
        dest="filters",
        action="append",
        required=True,
        metavar="SPEC",
        help="inject, replace, rewrite-links, xslt or module:Class, with optional ?key=value&key=value options",
    )
    parser.add_argument(
        "-t",
        "--content-type",
        metavar="TYPE",
        help=f"the input's Content-Type (default: guessed from FILE's extension, else {DEFAULT_CONTENT_TYPE})",
    )
    parser.add_argument("-s", "--status", type=int, default=200, metavar="N", help="the response status (default: 200)")
    parser.add_argument(
        "-H", "--header", dest="headers", action="append", default=[], metavar="'NAME: VALUE'", help="add a response header"
    )
    parser.add_argument(
        "-i", "--include", action="store_true", help="print the resulting status line and headers before the body"
    )
    parser.add_argument("file", metavar="FILE|-", help="the response body; '-' reads stdin")
    parser.set_defaults(run=run)


def _guess(path: str) -> tuple[str | None, str | None]:
    """The type and the compression a file's name tells, as mimetypes reads it:
    ``page.html.gz`` is text/html compressed with gzip; stdin tells nothing."""
    if path == "-":
        return None, None
    return mimetypes.guess_type(path)


def _headers(args: argparse.Namespace) -> HeaderList:
    headers: HeaderList = []
    guessed_type, guessed_coding = _guess(args.file)
    content_type = (args.content_type or None) if args.content_type is not None else guessed_type or DEFAULT_CONTENT_TYPE
    if content_type:
        headers.append(("Content-Type", content_type))
    for header in args.headers:
        name, sep, value = header.partition(":")
        if not sep or not name.strip():
            raise CommandError(f"--header {header!r} is not 'NAME: VALUE'", USAGE)
        try:
            check_header(name.strip(), value.strip())  # a field HTTP can carry
        except FilterError as exc:
            raise CommandError(f"--header {header!r}: {exc}", USAGE) from None
        headers.append((name.strip(), value.strip()))
    if guessed_coding and not any(name.lower() == "content-encoding" for name, _ in headers):
        # A compressed file is a body sent with that Content-Encoding: the core decodes it to
        # filter and encodes it again, or leaves it alone, with a note, if it cannot decode it.
        headers.append(("Content-Encoding", guessed_coding))
    return headers


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror or exc}") from None


def _write(data: bytes) -> None:
    if sys.stdout is None:  # started with its standard output closed
        raise CommandError("standard output is closed: nowhere to write the result")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def run(args: argparse.Namespace) -> int:
    """Run ``dualfilter apply``."""
    if not 100 <= args.status <= 999:
        raise CommandError(f"--status {args.status} is not an HTTP status", USAGE)
    headers = _headers(args)
    filters = load_filters(args.filters)
    body = _read(args.file)
    try:
        outcome = apply_filters(filters, body, status=args.status, headers=headers)
    except FilterFailed as exc:
        raise CommandError(str(exc)) from exc.error
    for note in outcome.notes:
        print(f"dualfilter: note: {note}", file=sys.stderr)
    if args.include:
        head = [status_line(outcome.status)] + [f"{name}: {value}" for name, value in outcome.headers]
        _write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
    _write(outcome.body)
    return 0
