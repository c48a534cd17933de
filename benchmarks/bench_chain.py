"""Chains and streaming: three lxml filters parsing once, and a 50 MB body in constant memory.

Run: python benchmarks/bench_chain.py
Prints ratios measured side by side in one run (the candidates timed
interleaved, once each per round; each ratio taken per round between the two
timed in that round, shown as the median over the rounds with [min-max],
beside the median times per response in microseconds; targets judged on the
median):

- 3 ``lxml_html`` filters over a 100 KB page: ``chain(A, B, C)`` against the
  same three filters nested as independent middlewares (each parses and
  serializes), and against three plain lxml middlewares written by hand; on the
  core alone and through the WSGI adapter.
- a streaming filter over a 50 MB body fed in 64 KB chunks: peak memory above
  the baseline (tracemalloc), against the same filter buffered.
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import lxml.html  # noqa: E402
from _timing import interleaved, table  # noqa: E402

from dualfilter import Filter, chain  # noqa: E402
from dualfilter.drivers import drive  # noqa: E402
from dualfilter.events import Body, End, ResponseStart  # noqa: E402
from dualfilter.machine import ResponseMachine  # noqa: E402
from dualfilter.testing import collect, make_environ  # noqa: E402

ROW = '<tr><td><a href="/item/{0}">item {0}</a></td><td>caf\u00e9 \u20ac{0}</td><td><img src="/i/{0}.png"></td></tr>\n'
PAGE = (
    "<!DOCTYPE html><html><head><title>bench</title></head><body><table>\n"
    + "".join(ROW.format(i) for i in range(1000))
    + "</table></body></html>"
).encode()[: 100 * 1024]
HEADERS = [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(PAGE)))]
CHUNKS = [PAGE[i : i + 16 * 1024] for i in range(0, len(PAGE), 16 * 1024)]
ENVIRON = make_environ()
#: Interleaved rounds of the timed comparisons: each times every candidate once.
ROUNDS = 9


# -- the three tree edits, shared by every candidate -----------------------------------


def mark_body(tree):
    tree.find("body").set("class", "filtered")
    return tree


def add_meta(tree):
    tree.find("head").append(lxml.html.Element("meta", name="generator", content="dualfilter"))
    return tree


def nofollow_links(tree):
    for link in tree.iter("a"):
        link.set("rel", "nofollow")
    return tree


class MarkBody(Filter):
    format = "lxml_html"

    def filter(self, environ, headers, data):
        return mark_body(data)


class AddMeta(Filter):
    format = "lxml_html"

    def filter(self, environ, headers, data):
        return add_meta(data)


class NofollowLinks(Filter):
    format = "lxml_html"

    def filter(self, environ, headers, data):
        return nofollow_links(data)


STAGES = (MarkBody(), AddMeta(), NofollowLinks())
CHAINED = chain(*STAGES)()


# -- on the core: machines fed events ------------------------------------------------------


def feed(machine, events):
    out = []
    for event in events:
        if type(event) is ResponseStart:
            out += drive(machine, machine.start(event.status, event.headers, event.reason))
        elif type(event) is Body:
            out += drive(machine, machine.body(event.data))
        elif type(event) is End:
            out += drive(machine, machine.end(event.trailers))
    return out


def app_events():
    return [ResponseStart(200, list(HEADERS)), *(Body(chunk) for chunk in CHUNKS), End()]


def core_chain():
    return feed(ResponseMachine(CHAINED, ENVIRON), app_events())


def core_nested():
    events = app_events()
    for stage in reversed(STAGES):  # the innermost middleware gets the app's events first
        events = feed(ResponseMachine(stage, ENVIRON), events)
    return events


def hand_stage(edit, headers, chunks):
    """One plain lxml middleware's work: parse, edit, serialize, fix the length."""
    tree = lxml.html.document_fromstring(b"".join(chunks).decode("utf-8"))
    body = lxml.html.tostring(edit(tree), encoding="unicode", doctype="<!DOCTYPE html>").encode("utf-8")
    fixed = [(k, v) for k, v in headers if k.lower() != "content-length"]
    return [*fixed, ("Content-Length", str(len(body)))], [body]


def core_hand():
    headers, chunks = list(HEADERS), CHUNKS
    for edit in (nofollow_links, add_meta, mark_body):
        headers, chunks = hand_stage(edit, headers, chunks)
    return headers, chunks


# -- through WSGI -----------------------------------------------------------------------------


def wsgi_app(environ, start_response):
    start_response("200 OK", list(HEADERS))
    return CHUNKS


class HandMiddleware:
    """A plain lxml WSGI middleware written by hand (HTML only, buffered)."""

    def __init__(self, app, edit):
        self.app, self.edit = app, edit

    def __call__(self, environ, start_response):
        captured = []
        body = self.app(environ, lambda status, headers, exc_info=None: captured.append((status, headers)))
        status, headers = captured[0]
        headers, chunks = hand_stage(self.edit, headers, body)
        start_response(status, headers)
        return chunks


def foreign(app):
    """A WSGI middleware of another library between two filters: it wraps start_response."""

    def middleware(environ, start_response):
        return app(environ, lambda status, headers, exc_info=None: start_response(status, headers, exc_info))

    return middleware


WSGI_CHAIN = chain(*STAGES).wsgi(wsgi_app)
# Directly stacked dualfilter middlewares are folded into one chain when built; with anything between them each parses.
WSGI_STACKED = MarkBody.wsgi(AddMeta.wsgi(NofollowLinks.wsgi(wsgi_app)))
WSGI_SEPARATED = MarkBody.wsgi(foreign(AddMeta.wsgi(foreign(NofollowLinks.wsgi(wsgi_app)))))
WSGI_HAND = HandMiddleware(HandMiddleware(HandMiddleware(wsgi_app, nofollow_links), add_meta), mark_body)


def call_wsgi(app):
    def start_response(status, headers, exc_info=None):
        return None

    return b"".join(app(dict(ENVIRON), start_response))


# -- streaming -----------------------------------------------------------------------------------


class Replace(Filter):
    """Streams text, replacing 'cat' with 'dog' across chunk boundaries."""

    decode_unicode = True

    def stream(self, environ, headers):
        return ReplaceStream()


class ReplaceStream:
    """Holds back a trailing 'c' or 'ca', which the next chunk may complete."""

    def __init__(self) -> None:
        self.tail = ""

    def feed(self, text: str) -> str:
        text = (self.tail + text).replace("cat", "dog")
        hold = 2 if text.endswith("ca") else 1 if text.endswith("c") else 0
        self.tail = text[len(text) - hold :]
        return text[: len(text) - hold]

    def finish(self) -> str:
        return self.tail


STREAM_CHUNK = ("<p>the cat sat on the mat, caf\u00e9 \u20ac</p>\n" * 1600).encode()  # ~64 KB
STREAM_TOTAL = 50 * 1024 * 1024


def peak_memory(flt: Filter, content_type: str) -> int:
    """Bytes above the baseline at the peak while 50 MB go through ``flt``."""
    machine = ResponseMachine(flt, ENVIRON)
    out = sent = 0
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        drive(machine, machine.start(200, [("Content-Type", content_type)]))
        while sent < STREAM_TOTAL:
            for event in drive(machine, machine.body(STREAM_CHUNK)):
                out += len(getattr(event, "data", b""))
            sent += len(STREAM_CHUNK)
        for event in drive(machine, machine.end()):
            out += len(getattr(event, "data", b""))
        peak = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        tracemalloc.stop()
    assert out == sent, "every byte came out ('cat' and 'dog' are the same length)"
    return peak


def main() -> None:
    assert collect(core_chain()) == collect(core_nested())
    assert collect(core_chain())[2] == core_hand()[1][0]
    assert call_wsgi(WSGI_CHAIN) == call_wsgi(WSGI_STACKED) == call_wsgi(WSGI_SEPARATED) == call_wsgi(WSGI_HAND)
    core = interleaved({"chain": core_chain, "nested": core_nested, "hand": core_hand}, number=20, rounds=ROUNDS)
    wsgi = interleaved(
        {
            "chain": lambda: call_wsgi(WSGI_CHAIN),
            "separated": lambda: call_wsgi(WSGI_SEPARATED),
            "stacked": lambda: call_wsgi(WSGI_STACKED),
            "hand": lambda: call_wsgi(WSGI_HAND),
        },
        number=20,
        rounds=ROUNDS,
    )
    table(
        "chain: 3 lxml_html filters on a 100 KB page (time of the other / time of the chain; higher = chain faster)",
        [
            ("core: 3 machines nested / chain", "3 independent parses", core["nested"], core["chain"], (">=", 2.5)),
            ("core: hand-written / chain", "3 plain lxml stages", core["hand"], core["chain"], ""),
            (
                "WSGI: 3 filters, foreign mw between / chain",
                "3 independent parses",
                wsgi["separated"],
                wsgi["chain"],
                (">=", 2.5),
            ),
            ("WSGI: 3 filters stacked directly / chain", "folded when built", wsgi["stacked"], wsgi["chain"], "~1.00x"),
            ("WSGI: hand-written / chain", "3 plain lxml middlewares", wsgi["hand"], wsgi["chain"], ""),
        ],
    )
    streamed = peak_memory(Replace(), "text/html; charset=utf-8")
    # With no declared charset a text filter cannot stream: the same filter, buffered.
    buffered = peak_memory(Replace(max_buffer_size=2 * STREAM_TOTAL), "text/html")
    print("\nstreaming: 50 MB of HTML in 64 KB chunks through a 'cat' -> 'dog' text stream")
    print(f"{'case':<44} {'peak above baseline':>20}  target")
    print(f"{'streamed':<44} {streamed / 1024:>17.0f} KB  < 1024 KB")
    print(f"{'buffered (the same filter)':<44} {buffered / 1024:>17.0f} KB")
    print(f"{'streamed / buffered':<44} {streamed / buffered:>19.4f}x")


if __name__ == "__main__":
    main()
