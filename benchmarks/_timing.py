"""Shared timing helpers for the benchmark scripts: side-by-side, best-of-N."""

from __future__ import annotations

import timeit
from collections.abc import Callable


def best(func: Callable[[], object], number: int, repeat: int = 7) -> float:
    """The fastest per-call time of ``func`` over ``repeat`` runs of ``number`` calls."""
    return min(timeit.repeat(func, number=number, repeat=repeat)) / number


def compare(candidates: dict[str, Callable[[], object]], number: int, rounds: int = 3) -> dict[str, float]:
    """Best per-call time of each candidate, measured in interleaved rounds so
    machine noise hits all of them alike."""
    times = {name: float("inf") for name in candidates}
    for _ in range(rounds):
        for name, func in candidates.items():
            times[name] = min(times[name], best(func, number, repeat=3))
    return times


def table(title: str, rows: list[tuple[str, str, float, str]]) -> None:
    """Print rows of (case, measured against, ratio, target)."""
    print(f"\n{title}")
    print(f"{'case':<44} {'vs':<26} {'ratio':>7}  target")
    for case, baseline, ratio, target in rows:
        print(f"{case:<44} {baseline:<26} {ratio:>6.2f}x  {target}")
