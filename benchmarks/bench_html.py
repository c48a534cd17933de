"""Streaming HTML rewriting: dualfilter.html.Rewriter against lxml, side by side.

Every variant adds ``rel="nofollow"`` to the external links of the same page,
served by a WSGI app in 64 KiB chunks:

- ``rewriter``: a ``Rewriter`` (lol-html) wrapping the app, streaming;
- ``lxml filter``: a ``Filter`` with ``format = "lxml_html"`` wrapping the app;
- ``lxml by hand``: the app's body joined, parsed with ``lxml.html`` and serialized.

Throughput is page size / time to the last byte; time to first byte is when
the first non-empty piece of output is there (for lxml, the end). Variants are
interleaved in each round; medians with min-max over the rounds. Peak memory
is the growth of the process's maximum RSS, each variant and size in a fresh
process, with the page produced chunk by chunk (nothing holds it but the
variant itself).

    python benchmarks/bench_html.py            # all sizes
    python benchmarks/bench_html.py --quick    # 20 KB and 2 MB only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator

import lxml.html

from dualfilter import Filter
from dualfilter.html import Rewriter, on
from dualfilter.testing import make_environ

CHUNK = 64 * 1024
SIZES = {"20 KB": 20_000, "2 MB": 2_000_000, "50 MB": 50_000_000}
ROUNDS = {"20 KB": 7, "2 MB": 5, "50 MB": 3}
NUMBER = {"20 KB": 20, "2 MB": 1, "50 MB": 1}

BLOCK = b"".join(
    b"<p class=c%d>Some text here, <a href='http://ext.example/%d'>external</a> and "
    b"<a href='/in/%d'>internal</a>. More words &amp; such.</p>\n" % (i, i, i)
    for i in range(300)
)
HEAD = b"<!DOCTYPE html><html><head><title>bench</title></head><body>"
TAIL = b"</body></html>"


def page_chunks(size: int) -> Iterator[bytes]:
    """A page of about ``size`` bytes (the blocks repeated), in CHUNK pieces, made as it is read."""
    left = max(size - len(HEAD) - len(TAIL), 0)
    pos = 0  # where in BLOCK the body goes on
    pending = HEAD
    while True:
        take = min(left, CHUNK - len(pending))
        pending += (BLOCK * ((pos + take) // len(BLOCK) + 1))[pos : pos + take]
        pos, left = (pos + take) % len(BLOCK), left - take
        if not left:
            yield pending + TAIL
            return
        yield pending
        pending = b""


class NoFollowRewriter(Rewriter):
    @on("a[href^='http']")
    def external(self, element, environ):
        element.set_attribute("rel", "nofollow")


class NoFollowLxml(Filter):
    format = "lxml_html"
    max_buffer_size = 256 * 1024 * 1024  # let it take the 50 MB page

    def filter(self, environ, headers, data):
        for link in data.iter("a"):
            if link.get("href", "").startswith("http"):
                link.set("rel", "nofollow")
        return data


def app_for(chunks: Callable[[], Iterable[bytes]]):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return chunks()

    return app


def through_wsgi(flt: type[Filter], chunks: Callable[[], Iterable[bytes]]) -> tuple[float, float, int]:
    """(time to first byte, time to last byte, bytes out) for one request."""
    wrapped = flt.wsgi(app_for(chunks))
    start = time.perf_counter()
    first = None
    size = 0
    result = wrapped(make_environ(), lambda status, headers, exc_info=None: None)
    try:
        for piece in result:
            if piece and first is None:
                first = time.perf_counter() - start
            size += len(piece)
    finally:
        getattr(result, "close", lambda: None)()
    total = time.perf_counter() - start
    return first if first is not None else total, total, size


def by_hand(chunks: Callable[[], Iterable[bytes]]) -> tuple[float, float, int]:
    start = time.perf_counter()
    doc = lxml.html.document_fromstring(b"".join(chunks()))
    for link in doc.iter("a"):
        if link.get("href", "").startswith("http"):
            link.set("rel", "nofollow")
    out = lxml.html.tostring(doc, doctype="<!DOCTYPE html>")
    total = time.perf_counter() - start
    return total, total, len(out)


VARIANTS: dict[str, Callable[[Callable[[], Iterable[bytes]]], tuple[float, float, int]]] = {
    "rewriter": lambda chunks: through_wsgi(NoFollowRewriter, chunks),
    "lxml filter": lambda chunks: through_wsgi(NoFollowLxml, chunks),
    "lxml by hand": by_hand,
}


def measure(label: str) -> dict[str, tuple[list[float], list[float]]]:
    """Per variant: (throughputs in MB/s, times to first byte in ms), one per round."""
    size = SIZES[label]
    pieces = list(page_chunks(size))
    actual = sum(map(len, pieces))
    results: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in VARIANTS}
    for run in VARIANTS.values():  # warm up
        run(lambda: pieces)
    for _ in range(ROUNDS[label]):
        for name, run in VARIANTS.items():
            firsts, totals = [], []
            for _ in range(NUMBER[label]):
                first, total, _out = run(lambda: pieces)
                firsts.append(first)
                totals.append(total)
            results[name][0].append(actual / 1e6 / statistics.median(totals))
            results[name][1].append(statistics.median(firsts) * 1000)
    return results


def peak_memory(variant: str, label: str) -> float:
    """MB of maximum-RSS growth while ``variant`` runs a ``label`` page, in a fresh process."""
    command = [sys.executable, __file__, "--memory", variant, label]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(command, capture_output=True, text=True, check=True, env=env, timeout=600)
    return float(json.loads(result.stdout)["mb"])


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise LookupError(field)


def _memory_child(variant: str, label: str) -> None:
    run = VARIANTS[variant]
    run(lambda: page_chunks(20_000))  # imports, first engine, worker thread: not counted
    try:  # Linux: reset the peak (VmHWM) to the current RSS, then read the new peak
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        before = _status_kb("VmRSS")
        run(lambda: page_chunks(SIZES[label]))
        after = _status_kb("VmHWM")
    except OSError:  # elsewhere: the process's maximum RSS, which includes start-up
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        run(lambda: page_chunks(SIZES[label]))
        after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"mb": (after - before) / 1024}))


def spread(values: list[float], digits: int = 1) -> str:
    return f"{statistics.median(values):9.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 KB and 2 MB only")
    parser.add_argument("--memory", nargs=2, metavar=("VARIANT", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory:
        _memory_child(*args.memory)
        return
    labels = [label for label in SIZES if not (args.quick and label == "50 MB")]
    print(f"page chunks of {CHUNK // 1024} KiB; median (min-max) over interleaved rounds")
    for label in labels:
        results = measure(label)
        print(f"\n{label} page")
        print(f"{'variant':<14} {'MB/s':>26} {'first byte, ms':>30} {'peak RSS growth, MB':>20}")
        memory = {name: peak_memory(name, label) for name in VARIANTS}
        for name, (throughputs, firsts) in results.items():
            print(f"{name:<14} {spread(throughputs):>26} {spread(firsts, 2):>30} {memory[name]:>20.1f}")
        ours = statistics.median(results["rewriter"][0])
        ours_first = statistics.median(results["rewriter"][1])
        for baseline in ("lxml filter", "lxml by hand"):
            theirs = statistics.median(results[baseline][0])
            theirs_first = statistics.median(results[baseline][1])
            print(
                f"  rewriter vs {baseline}: throughput {ours / theirs:.2f}x (target >= 1.5x), "
                f"first byte {theirs_first / ours_first:.1f}x sooner"
            )
        chunk_ms = CHUNK / 1e6 / ours * 1000
        print(f"  rewriter first byte: {ours_first / chunk_ms:.2f} of the time one {CHUNK // 1024} KiB chunk takes (target <= 1)")


if __name__ == "__main__":
    main()
