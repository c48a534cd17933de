"""What filtering a page costs on top of the bare app, by body size: dualfilter, a
hand-written minimal middleware, WebOb's ``wsgify`` (WSGI) and Starlette's
``BaseHTTPMiddleware`` (ASGI), measured in-process side by side.

Each variant serves one HTML page of 1 KB, 20 KB, 200 KB and 1 MB (in one
chunk) through the same filter (``transform``: a small edit before
``</body>``), driven in-process as ``bench_wsgi.py`` and ``bench_asgi.py`` do.
Every round times each variant once, the variants interleaved; a variant's
time per request minus the bare app's in the same round is that round's
overhead, and the overhead shown is the median over the rounds (the table
adds the [min-max] of the rounds); then dualfilter's whole request over the
hand-written middleware's, per round, against the targets (1 KB: at most
1.5x, 20 KB: at most 1.1x). dualfilter runs with its defaults: under
ASGI, a body over ``thread_threshold`` is filtered in a worker thread. Prints
the table, and with matplotlib installed draws the medians to
``docs/img/overhead.png`` (otherwise says so in one line).

    python benchmarks/chart.py [--rounds N] [--output PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _served import bare_asgi, bare_wsgi, html  # noqa: E402
from _timing import Target, interleaved, judge, ratios, spread  # noqa: E402
from bench_asgi import EditFilter, EditMiddleware, HandWrittenFilter  # noqa: E402
from bench_asgi import one_request as asgi_request  # noqa: E402
from bench_wsgi import hand_written, webob_middleware  # noqa: E402
from bench_wsgi import one_request as wsgi_request  # noqa: E402

OUTPUT = HERE.parent / "docs" / "img" / "overhead.png"
SIZES = {"1 KB": 1024, "20 KB": 20 * 1024, "200 KB": 200 * 1024, "1 MB": 1024 * 1024}
CONTENT_TYPE = "text/html; charset=utf-8"
TYPES = ("text/html",)
#: The targets on dualfilter's whole request over the hand-written middleware's, by size.
TARGETS: dict[str, Target] = {"1 KB": ("<=", 1.5), "20 KB": ("<=", 1.1)}
#: Requests per timed run for a 1 KB page; fewer for bigger ones, so each run takes about as long.
REQUESTS = 2000

WSGI: dict[str, Callable[[Any], Any]] = {
    "bare": lambda app: app,
    "hand-written": lambda app: hand_written(app, TYPES),
    "dualfilter": lambda app: EditFilter.wsgi(app, filter_content_types=TYPES),
    "WebOb wsgify": lambda app: webob_middleware(app, TYPES),
}
ASGI: dict[str, Callable[[Any], Any]] = {
    "bare": lambda app: app,
    "hand-written": lambda app: HandWrittenFilter(app, tuple(t.encode() for t in TYPES)),
    "dualfilter": lambda app: EditFilter.asgi(app, filter_content_types=TYPES),
    "BaseHTTPMiddleware": lambda app: EditMiddleware(app, tuple(t.encode() for t in TYPES)),
}


def requests_for(size: int) -> int:
    return max(100, REQUESTS * 1024 // size)


def asgi_calls(loop: asyncio.AbstractEventLoop, app: Any, count: int) -> Callable[[], None]:
    """``count`` requests through the ASGI ``app``, one after the other in one task on ``loop``,
    as a server runs them (worker threads, for one, live as long as the task)."""

    async def requests() -> None:
        for _ in range(count):
            await asgi_request(app, "/")

    return lambda: loop.run_until_complete(requests())


def measure(rounds: int) -> tuple[dict[tuple[str, str, str], list[float]], dict[tuple[str, str, str], list[float]]]:
    """Seconds per request, one value per round, by (interface, variant, size): the
    overhead over the bare app, and the whole request."""
    overhead: dict[tuple[str, str, str], list[float]] = {}
    whole: dict[tuple[str, str, str], list[float]] = {}
    loop = asyncio.new_event_loop()
    try:
        for label, size in SIZES.items():
            page = html(size)
            wsgi_apps = {name: wrap(bare_wsgi(CONTENT_TYPE, page)) for name, wrap in WSGI.items()}
            asgi_apps = {name: wrap(bare_asgi(CONTENT_TYPE, page)) for name, wrap in ASGI.items()}
            for name, app in wsgi_apps.items():  # every variant sends the whole, filtered page
                assert wsgi_request(app) >= size, name
            for name, app in asgi_apps.items():
                assert loop.run_until_complete(asgi_request(app, "/")) >= size, name
            count = requests_for(size)
            times = interleaved({name: functools.partial(wsgi_request, app) for name, app in wsgi_apps.items()}, count, rounds)
            for name in WSGI:
                whole["WSGI", name, label] = times[name]
                overhead["WSGI", name, label] = [t - bare for t, bare in zip(times[name], times["bare"], strict=True)]
            times = interleaved({name: asgi_calls(loop, app, count) for name, app in asgi_apps.items()}, 1, rounds)
            for name in ASGI:
                whole["ASGI", name, label] = [t / count for t in times[name]]
                overhead["ASGI", name, label] = [(t - bare) / count for t, bare in zip(times[name], times["bare"], strict=True)]
    finally:
        loop.close()
    return overhead, whole


def report(overhead: dict[tuple[str, str, str], list[float]], whole: dict[tuple[str, str, str], list[float]]) -> None:
    rounds = len(next(iter(overhead.values())))
    print(
        "Overhead over the bare app, microseconds per request (in-process; per round, minus the bare app's time "
        f"in that round): median [min-max] over {rounds} interleaved rounds"
    )
    print(f"{'':<26}" + "".join(f"{label:>24}" for label in SIZES))
    for interface, variants in (("WSGI", WSGI), ("ASGI", ASGI)):
        for name in variants:
            if name != "bare":
                cells = [spread([value * 1e6 for value in overhead[interface, name, label]], 1, "") for label in SIZES]
                print(f"{interface + ' ' + name:<26}" + "".join(f"{cell:>24}" for cell in cells))
    print()
    print("dualfilter's whole request over the hand-written middleware's, per round: median [min-max]; targets on the median")
    print(f"{'':<26}" + "".join(f"{label:>29}" for label in SIZES))
    for interface in ("WSGI", "ASGI"):
        cells = []
        for label in SIZES:
            per_round = ratios(whole[interface, "dualfilter", label], whole[interface, "hand-written", label])
            target = TARGETS.get(label)
            cells.append(spread(per_round) + (f" ({judge(per_round, target).split(': ')[1]})" if target else ""))
        print(f"{interface + ' dualfilter':<26}" + "".join(f"{cell:>29}" for cell in cells))
    print("targets: " + ", ".join(f"{label} {op} {bound}x" for label, (op, bound) in TARGETS.items()))


def draw(overhead: dict[tuple[str, str, str], list[float]], output: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("no chart: matplotlib is not installed (pip install matplotlib, or the bench extra)")
        return
    styles = {
        "hand-written": ("tab:gray", "s"),
        "dualfilter": ("tab:blue", "o"),
        "WebOb wsgify": ("tab:red", "^"),
        "BaseHTTPMiddleware": ("tab:orange", "v"),
    }
    figure, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharey=True)
    sizes = list(SIZES.values())
    for axis, (interface, variants) in zip(axes, (("WSGI", WSGI), ("ASGI", ASGI)), strict=True):
        for name in variants:
            if name == "bare":
                continue
            color, marker = styles[name]
            values = [max(statistics.median(overhead[interface, name, label]) * 1e6, 0.1) for label in SIZES]
            axis.plot(sizes, values, marker=marker, color=color, label=name)
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xticks(sizes, list(SIZES))
        axis.minorticks_off()
        axis.set_title(f"{interface}: filtering one HTML page")
        axis.set_xlabel("body size")
        axis.grid(True, which="major", alpha=0.3)
        axis.legend()
    axes[0].set_ylabel("overhead over the bare app (µs per request)")
    figure.text(
        0.5,
        0.01,
        "in-process, median over interleaved rounds; every variant does the same work: one edit before </body> "
        "(python benchmarks/chart.py)",
        ha="center",
        fontsize=8,
        color="dimgray",
    )
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=100)
    print(f"chart written to {output}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds, each timing every variant once (default 15)")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where to draw the chart (default: docs/img/overhead.png)")
    args = parser.parse_args()
    overhead, whole = measure(args.rounds)
    report(overhead, whole)
    draw(overhead, args.output)


if __name__ == "__main__":
    main()
