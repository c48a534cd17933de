"""The core alone: the response machine against hand-written minimal equivalents.

Run: python benchmarks/bench_core.py
Prints ratios (dualfilter time / hand-written time) measured side by side: the
candidates are timed interleaved, once each per round, and each ratio is taken
per round between the two timed in that round, shown as the median over the
rounds with [min-max], beside the median times per call in microseconds; the
target is judged on the median.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _timing import interleaved, table  # noqa: E402

from dualfilter import Filter  # noqa: E402
from dualfilter.drivers import drive  # noqa: E402
from dualfilter.events import FilterCall  # noqa: E402
from dualfilter.machine import ResponseMachine  # noqa: E402
from dualfilter.testing import make_environ  # noqa: E402

HTML_CHUNKS = [b"<p>hello world, this is a page</p>\n" * 150] * 4  # ~20 KB in 4 chunks
BIN_CHUNKS = [bytes(64 * 1024)] * 16  # 1 MB in 64 KB chunks
HTML_HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(sum(map(len, HTML_CHUNKS))))]
BIN_HEADERS = [("Content-Type", "application/octet-stream"), ("Content-Length", str(sum(map(len, BIN_CHUNKS))))]
ENVIRON = make_environ()


class Upper(Filter):
    def filter(self, environ, headers, data):
        return data.upper()


class UpperText(Filter):
    decode_unicode = True

    def filter(self, environ, headers, data):
        return data.upper()


def is_html(headers):
    for name, value in headers:
        if name.lower() == "content-type":
            return value.split(";", 1)[0].strip().lower() == "text/html"
    return False


def hand_filtered(chunks=HTML_CHUNKS, headers=HTML_HEADERS):
    """The least a correct filter must do: decide, join, transform, fix the length."""
    if not is_html(headers):
        return headers, chunks
    body = b"".join(chunks).upper()
    fixed = [(k, v) for k, v in headers if k.lower() != "content-length"]
    fixed.append(("Content-Length", str(len(body))))
    return fixed, [body]


def hand_filtered_text(chunks=HTML_CHUNKS, headers=HTML_HEADERS):
    if not is_html(headers):
        return headers, chunks
    body = b"".join(chunks).decode("utf-8").upper().encode("utf-8")
    fixed = [(k, v) for k, v in headers if k.lower() != "content-length"]
    fixed.append(("Content-Length", str(len(body))))
    return fixed, [body]


def hand_passthrough(chunks=BIN_CHUNKS, headers=BIN_HEADERS):
    if is_html(headers):
        raise AssertionError
    out = []
    for chunk in chunks:
        out.append(chunk)
    return headers, out


def machine_run(flt, chunks, headers):
    """One response through the machine, fed as the adapters feed it: the
    driver is called only for a batch that ends with a FilterCall."""
    machine = ResponseMachine(flt, ENVIRON)
    out = machine.start(200, list(headers))
    if out and type(out[-1]) is FilterCall:
        out = drive(machine, out)
    for chunk in chunks:
        events = machine.body(chunk)
        if events:
            out += drive(machine, events) if type(events[-1]) is FilterCall else events
    events = machine.end()
    out += drive(machine, events) if events and type(events[-1]) is FilterCall else events
    return out


UPPER, UPPER_TEXT = Upper(), UpperText()
#: Interleaved rounds: each times every candidate once.
ROUNDS = 9


def main() -> None:
    filtered = interleaved(
        {
            "hand": hand_filtered,
            "dualfilter": lambda: machine_run(UPPER, HTML_CHUNKS, HTML_HEADERS),
            "hand_text": hand_filtered_text,
            "dualfilter_text": lambda: machine_run(UPPER_TEXT, HTML_CHUNKS, HTML_HEADERS),
        },
        number=2000,
        rounds=ROUNDS,
    )
    passthrough = interleaved(
        {"hand": hand_passthrough, "dualfilter": lambda: machine_run(UPPER, BIN_CHUNKS, BIN_HEADERS)},
        number=20000,
        rounds=ROUNDS,
    )
    table(
        "core: response machine vs hand-written minimum (lower is better; 1.00x = no overhead)",
        [
            (
                "filtered 20 KB HTML, 4 chunks, bytes upper()",
                "join + upper + len",
                filtered["dualfilter"],
                filtered["hand"],
                ("<=", 1.2),
            ),
            (
                "filtered 20 KB HTML, decode_unicode upper()",
                "join + decode/upper/encode",
                filtered["dualfilter_text"],
                filtered["hand_text"],
                "",
            ),
            ("passthrough 1 MB in 64 KB chunks", "iterate", passthrough["dualfilter"], passthrough["hand"], "(see note)"),
        ],
    )
    print(
        "\nnote: the passthrough row times the bookkeeping of 16 tiny loop iterations (one event object per chunk);\n"
        "the chunk itself is never copied or joined, and the adapters forward passthrough chunks without calling\n"
        "the machine at all (see bench_wsgi.py and bench_asgi.py for passthrough through a whole middleware)."
    )


if __name__ == "__main__":
    main()
