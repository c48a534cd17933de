"""Shared timing helpers for the benchmark scripts: variants side by side, medians over rounds.

Every candidate is timed once per round, the candidates interleaved within the
round (the order rotating by one from round to round, so none is always first),
so drift on a shared machine hits them alike. A ratio is taken per round,
between two candidates timed in that same round, and quoted as the median over
the rounds with the min-max of those per-round ratios: ``1.31x [1.02-1.47]``.
Targets are judged on the median; times are quoted as medians too.
"""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

#: A target on a ratio's median: ("<=", 1.2) is met by a median of 1.2 or less.
Target = tuple[str, float]
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<=": lambda value, bound: value <= bound,
    "<": lambda value, bound: value < bound,
    ">=": lambda value, bound: value >= bound,
    ">": lambda value, bound: value > bound,
}


# -- timing ---------------------------------------------------------------------------------


def order(names: Sequence[str], round_index: int) -> list[str]:
    """The order in which round ``round_index`` times the candidates ``names``."""
    shift = round_index % len(names) if names else 0
    return [*names[shift:], *names[:shift]]


@contextlib.contextmanager
def _collector(enabled: bool) -> Iterator[None]:
    """The garbage collector on (``enabled``) or off while timing; as it was afterwards."""
    was_enabled = gc.isenabled()
    if enabled:
        gc.enable()
    else:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
        else:
            gc.disable()


def _turns(candidates: dict[str, Any], rounds: int) -> tuple[dict[str, list[float]], Iterator[tuple[Any, list[float]]]]:
    """Each candidate's list of times per call, and the turns of ``rounds`` rounds:
    (candidate, the list its time goes to), in :func:`order`."""
    names = list(candidates)
    times: dict[str, list[float]] = {name: [] for name in names}
    turns = ((candidates[name], times[name]) for round_index in range(rounds) for name in order(names, round_index))
    return times, turns


def interleaved(
    candidates: dict[str, Callable[[], object]], number: int, rounds: int, *, collect: bool = False
) -> dict[str, list[float]]:
    """Seconds per call of each candidate, one value per round: each round times
    ``number`` calls of every candidate, one candidate after the other.

    ``collect`` leaves the garbage collector on while timing, as a server has it;
    by default it is off, as ``timeit`` has it.
    """
    times, turns = _turns(candidates, rounds)
    for func, record in turns:
        with _collector(collect):
            start = time.perf_counter()
            for _ in range(number):
                func()
            record.append((time.perf_counter() - start) / number)
    return times


async def interleaved_async(
    candidates: dict[str, Callable[[], Awaitable[object]]], number: int, rounds: int, *, collect: bool = False
) -> dict[str, list[float]]:
    """:func:`interleaved` for coroutine functions, awaited one after the other in the
    calling task (so whatever lives as long as a task, worker threads for one, lives
    through every round)."""
    times, turns = _turns(candidates, rounds)
    for func, record in turns:
        with _collector(collect):
            start = time.perf_counter()
            for _ in range(number):
                await func()
            record.append((time.perf_counter() - start) / number)
    return times


# -- reporting ------------------------------------------------------------------------------


def ratios(top: Sequence[float], bottom: Sequence[float]) -> list[float]:
    """The per-round ratios ``top / bottom`` of two candidates timed in the same rounds."""
    return [t / b for t, b in zip(top, bottom, strict=True)]


def spread(values: Sequence[float], digits: int = 2, unit: str = "x") -> str:
    """``median [min-max]`` of ``values``: ``1.31x [1.02-1.47]``."""
    return f"{statistics.median(values):.{digits}f}{unit} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def micros(times: Sequence[float]) -> float:
    """The median of ``times`` (seconds), in microseconds."""
    return statistics.median(times) * 1e6


def judge(values: Sequence[float], target: Target) -> str:
    """Whether the median of ``values`` meets ``target``: ``<= 1.2: met`` or ``<= 1.2: MISSED``."""
    op, bound = target
    met = _OPERATORS[op](statistics.median(values), bound)
    return f"{op} {bound}: {'met' if met else 'MISSED'}"


def table(title: str, rows: Sequence[tuple[str, str, Sequence[float], Sequence[float], Target | str]]) -> None:
    """Print rows of (case, measured against, the ratio's first times, its second times, target).

    Each row's ratio is taken per round (the first time over the second, both
    timed in that round) and shown as ``median [min-max]``; the times as medians
    in microseconds. A target given as a :data:`Target` is judged on the median;
    a string is printed as it is.
    """
    rounds = "/".join(str(count) for count in sorted({len(row[2]) for row in rows}))
    print(f"\n{title}")
    print(
        f"(ratio: the row's first time over its second, per round; median [min-max] over {rounds} interleaved rounds; "
        "times: medians; targets judged on the median)"
    )
    print(f"{'case':<44} {'vs':<26} {'median µs':>21}  {'ratio':<22} target")
    for case, baseline, first, second, target in rows:
        per_round = ratios(first, second)
        times = f"{micros(first):.1f} / {micros(second):.1f}"
        verdict = target if isinstance(target, str) else judge(per_round, target)
        print(f"{case:<44} {baseline:<26} {times:>21}  {spread(per_round):<22} {verdict}".rstrip())
