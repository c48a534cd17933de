"""What dualfilter costs on real servers: server CPU time per request, as ratios to a
hand-written minimal middleware doing the same work, measured side by side in one run.

Each row is a server and a body: uvicorn (ASGI), granian (ASGI and WSGI), gunicorn
(WSGI, ``sync`` and ``gthread`` workers), each with one worker process, on
127.0.0.1 at a free port; 20 KB of HTML that every filter takes (a small edit
before ``</body>``) and a 20 KB PNG that every filter passes through. Each row
runs four servers at once, one per variant (``_served.py``): no middleware, a
hand-written minimal middleware, dualfilter, and for context the same filter
as a WebOb ``wsgify`` middleware (WSGI) or a Starlette ``BaseHTTPMiddleware``
(ASGI). A load generator drives each in turn, interleaved over several rounds,
and the CPU time the server's processes used (user + system, from
``/proc/<pid>/stat``, or psutil elsewhere; the server and all its children) is
divided by the requests answered. On a shared machine this is steadier than
requests per second, and the client's own CPU does not count. Ratios are
medians over the rounds, with min–max.

``--in-app`` measures instead the CPU time each request spends inside the app
(the thread time of the app call, added up by ``_served.py`` in every server
process): the middleware's work and the server's ``send`` for ASGI, the
middleware's work for WSGI, without the rest of the server's, so differences
of a few microseconds stand out of the noise that threads and I/O add to the
whole server's CPU time.

``--workers`` measures instead what a second worker process adds:
``dualfilter serve --workers N`` for N = 1, 2, filtering the 20 KB page,
requests per second with as many client connections as it takes to keep the
workers busy. On a 2-core machine the load generator needs a core too.

The load generator is wrk, a compiled one (Debian/Ubuntu: ``apt-get install
wrk``; macOS: ``brew install wrk``). Without it a Python client is used, with a
warning: it is much slower, so servers idle more and share the cores with it.
The servers come with the ``bench`` extra: ``pip install -e '.[bench]'``;
servers that are not installed are left out with a note.

    python benchmarks/servers.py            # every row, 8 rounds of 1 s (about 7 minutes)
    python benchmarks/servers.py --quick    # a smoke run: 2 rounds
    python benchmarks/servers.py --in-app   # CPU time inside the app per request
    python benchmarks/servers.py --workers  # 1 and 2 worker processes
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _served import BODIES  # noqa: E402

VARIANTS = ("none", "hand", "dualfilter", "context")
CONTEXT = {"wsgi": "WebOb wsgify", "asgi": "BaseHTTPMiddleware"}
#: Target: dualfilter's server CPU per request over the hand-written middleware's, filtered and passthrough.
TARGET = 1.03
#: Seconds a server may take to answer its first request.
STARTUP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Server:
    """A server, the interface it serves, the module it needs, and how to start it on a port."""

    name: str
    interface: str
    module: str
    argv: Callable[[int, str], list[str]]

    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


def _python(*args: str) -> list[str]:
    return [sys.executable, *args]


SERVERS = (
    Server(
        "uvicorn",
        "asgi",
        "uvicorn",
        lambda port, app: _python(
            "-m", "uvicorn", f"_served:{app}", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning", "--no-access-log",
        ),
    ),
    Server(
        "granian",
        "asgi",
        "granian",
        lambda port, app: _python(
            "-m", "granian", "--interface", "asgi", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--log-level", "warning", "--no-ws", f"_served:{app}",
        ),
    ),
    Server(
        "granian",
        "wsgi",
        "granian",
        lambda port, app: _python(
            "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--log-level", "warning", "--no-ws", f"_served:{app}",
        ),
    ),
    Server(
        "gunicorn sync",
        "wsgi",
        "gunicorn",
        lambda port, app: _python(
            "-m", "gunicorn", f"_served:{app}", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "sync",
            "--log-level", "warning",
        ),
    ),
    Server(
        "gunicorn gthread",
        "wsgi",
        "gunicorn",
        lambda port, app: _python(
            "-m", "gunicorn", f"_served:{app}", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "gthread",
            "--threads", "4", "--log-level", "warning",
        ),
    ),
)  # fmt: skip


# -- processes and their CPU time ---------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _proc_children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    return children


def client_cpu_seconds() -> float:
    """User + system CPU seconds used so far by this script and the load generators it ran to completion."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` and its living descendants."""
    if Path("/proc/self/stat").exists():
        tick = os.sysconf("SC_CLK_TCK")
        children = _proc_children()
        total, todo = 0, [pid]
        while todo:
            current = todo.pop()
            try:
                fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
            todo.extend(children.get(current, ()))
        return total / tick
    import psutil  # no /proc: psutil knows the platform's way

    process = psutil.Process(pid)
    times = [p.cpu_times() for p in (process, *process.children(recursive=True))]
    return sum(t.user + t.system for t in times)


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    url: str


def get(url: str, timeout: float = 10.0) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@contextlib.contextmanager
def started(argv: list[str], port: int, env: dict[str, str]) -> Iterator[Running]:
    """Run a server that listens on 127.0.0.1:``port`` until it answers; stop it afterwards.
    It imports this checkout's dualfilter and ``_served``, whatever is installed."""
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **env, "PYTHONPATH": os.pathsep.join([str(ROOT), str(HERE)])}
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(argv, cwd=HERE, env=env, stdout=subprocess.DEVNULL, stderr=errors, start_new_session=True)

        def failed(why: str) -> RuntimeError:
            errors.seek(0)
            return RuntimeError(f"{' '.join(argv[1:4])} {why}: {errors.read().decode(errors='replace')[-1500:]}")

        try:
            deadline = time.monotonic() + STARTUP_TIMEOUT
            while True:
                if process.poll() is not None:
                    raise failed("exited")
                try:
                    get(url, timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise failed(f"did not answer within {STARTUP_TIMEOUT:g} s") from None
                    time.sleep(0.1)
            yield Running(process, url)
        finally:
            if process.poll() is None:
                process.terminate()  # gunicorn, granian and uvicorn stop their workers on SIGTERM
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, 9)
                    process.wait(timeout=15)


# -- load ---------------------------------------------------------------------------------


def wrk(url: str, seconds: float, connections: int, threads: int = 1) -> int:
    """Requests answered in ``seconds`` by wrk; any non-2xx answer or socket error is a failure."""
    result = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", url + "/"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    out = result.stdout
    if "Non-2xx" in out or re.search(r"Socket errors: connect \d+, read \d+, write \d+, timeout [1-9]", out):
        raise RuntimeError(f"wrk saw errors from {url}:\n{out}")
    return int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]


def python_client(url: str, seconds: float, connections: int, threads: int = 1) -> int:
    """Requests answered in ``seconds`` by ``connections`` keep-alive connections in Python threads."""
    host, port = url.removeprefix("http://").split(":")
    deadline = time.monotonic() + seconds
    counts = [0] * connections
    failures: list[str] = []

    def run(index: int) -> None:
        connection = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            while time.monotonic() < deadline and not failures:
                connection.request("GET", "/")
                response = connection.getresponse()
                response.read()
                if response.status != 200:
                    failures.append(f"status {response.status}")
                counts[index] += 1
        except OSError as exc:
            failures.append(repr(exc))
        finally:
            connection.close()

    workers = [threading.Thread(target=run, args=(i,)) for i in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(seconds + 30)
    if failures:
        raise RuntimeError(f"the Python client failed on {url}: {failures[0]}")
    return sum(counts)


def load_generator(choice: str) -> Callable[..., int]:
    if choice == "python":
        return python_client
    if shutil.which("wrk"):
        return wrk
    if choice == "wrk":
        raise SystemExit("wrk not found (Debian/Ubuntu: apt-get install wrk)")
    print(
        "WARNING: wrk not found (Debian/Ubuntu: apt-get install wrk): using a Python client, which is much slower, "
        "shares the cores with the servers and keeps them less busy; ratios are rougher.",
        file=sys.stderr,
    )
    return python_client


def check(url: str, body: str, variant: str) -> None:
    """Before timing: the variant answers with the whole body, filtered exactly when it should be."""
    status, data = get(url)
    original = BODIES[body][1]
    if body == "png" or variant == "none":
        expected = original
    else:
        expected = original.replace(b"</body>", b"<!-- filtered --></body>", 1)
    if status != 200 or data != expected:
        raise RuntimeError(f"{url} ({body}, {variant}) answered {status} with {len(data)} bytes, not the expected body")


# -- the comparison -----------------------------------------------------------------------


def app_cpu(prefix: str) -> tuple[int, float]:
    """Requests recorded so far under ``prefix`` by ``_served.CpuRecord`` (every
    process of one server), and the thread CPU seconds they spent inside the app."""
    requests, nanoseconds = 0, 0
    for path in Path(prefix).parent.glob(Path(prefix).name + ".*"):
        if path.suffix != ".tmp":
            count, total = path.read_text().split()
            requests, nanoseconds = requests + int(count), nanoseconds + int(total)
    return requests, nanoseconds / 1e9


def measure_row(
    server: Server, body: str, rounds: int, seconds: float, load: Callable[..., int], in_app: bool = False
) -> dict[str, list[float]]:
    """Server CPU seconds per request for each variant, one value per round; with
    ``in_app``, the CPU seconds per request spent inside the app instead."""
    app = f"{server.interface}_app"
    per_request: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    with contextlib.ExitStack() as stack:
        records = stack.enter_context(tempfile.TemporaryDirectory())
        running = {}
        for variant in VARIANTS:
            port = free_port()
            env = {"BENCH_BODY": body, "BENCH_VARIANT": variant}
            if in_app:
                env["BENCH_APP_CPU"] = str(Path(records) / variant)
            running[variant] = stack.enter_context(started(server.argv(port, app), port, env))
        for variant, server_process in running.items():
            check(server_process.url, body, variant)
            load(server_process.url, min(seconds, 1.0), 8)  # warm up
        for _ in range(rounds):
            for variant, server_process in running.items():  # interleaved: drift hits every variant alike
                if in_app:
                    prefix = str(Path(records) / variant)
                    before_requests, before = app_cpu(prefix)
                    load(server_process.url, seconds, 8)
                    after_requests, after = app_cpu(prefix)
                    if after_requests == before_requests:
                        raise RuntimeError(f"{server.name} ({variant}) recorded no requests in {seconds:g} s")
                    per_request[variant].append((after - before) / (after_requests - before_requests))
                else:
                    before = cpu_seconds(server_process.process.pid)
                    requests = load(server_process.url, seconds, 8)
                    per_request[variant].append((cpu_seconds(server_process.process.pid) - before) / requests)
    return per_request


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}x [{min(values):.2f}-{max(values):.2f}]"


def report(rows: list[tuple[Server, str, dict[str, list[float]]]], in_app: bool = False) -> bool:
    """Print the table; whether every target was met."""
    print()
    if in_app:
        print("CPU time per request inside the app (thread time of each call), ratios per round: median [min-max]")
    else:
        print("Server CPU time per request (server process and its children), ratios per round: median [min-max]")
    print(
        f"targets (on the medians): dualfilter <= {TARGET:.2f}x the hand-written middleware; "
        "WebOb / BaseHTTPMiddleware > 1x dualfilter"
    )
    header = (
        f"{'server':<22} {'body':<17} {'bare us':>8} {'hand us':>8}  {'dualfilter / hand':<22} {'met':<4}"
        f"{'context':<19} {'context / dualfilter':<22} {'met':<4}"
    )
    print(header)
    print("-" * len(header))
    all_met = True
    for server, body, per_request in rows:
        hand, dual, context = per_request["hand"], per_request["dualfilter"], per_request["context"]
        ratio = [d / h for d, h in zip(dual, hand, strict=True)]
        slower = [c / d for c, d in zip(context, dual, strict=True)]
        met_target = statistics.median(ratio) <= TARGET
        all_met &= met_target
        if in_app and server.interface == "asgi":
            # BaseHTTPMiddleware runs the app in a task of its own: while its call waits,
            # the loop serves other requests, whose time its call's thread time counts.
            versus = f"{'-':<22} {'-':<4}"
        else:
            met_context = statistics.median(slower) > 1.0
            all_met &= met_context
            versus = f"{spread(slower):<22} {'yes' if met_context else 'NO':<4}"
        label = "HTML, filtered" if body == "html" else "PNG, passthrough"
        print(
            f"{server.name + ' ' + server.interface.upper():<22} {label:<17} "
            f"{statistics.median(per_request['none']) * 1e6:>8.1f} {statistics.median(hand) * 1e6:>8.1f}  "
            f"{spread(ratio):<22} {'yes' if met_target else 'NO':<4}"
            f"{CONTEXT[server.interface]:<19} {versus}"
        )
    where = "inside the app" if in_app else "of server CPU"
    print(f"(bare us, hand us: microseconds {where} per request with no middleware / the hand-written one)")
    if in_app:
        print("(- : BaseHTTPMiddleware waits on tasks of its own, so the time inside its call is not its own alone)")
    return all_met


def compare(args: argparse.Namespace, load: Callable[..., int]) -> None:
    servers = [server for server in SERVERS if server.available() and (args.only or "") in server.name]
    for server in SERVERS:
        if not server.available():
            print(f"note: {server.name} is not installed (pip install -e '.[bench]'): its rows are left out", file=sys.stderr)
    rows = []
    for server in servers:
        for body in BODIES:
            started_at = time.monotonic()
            rows.append((server, body, measure_row(server, body, args.rounds, args.seconds, load, args.in_app)))
            print(
                f"measured {server.name} {server.interface.upper()}, {body}: {time.monotonic() - started_at:.0f} s",
                file=sys.stderr,
            )
    report(rows, args.in_app)


# -- scaling out ---------------------------------------------------------------------------


def workers(args: argparse.Namespace, load: Callable[..., int]) -> None:
    """Requests per second of ``dualfilter serve --workers N`` filtering the 20 KB page, N = 1 and 2,
    and how many cores its processes kept busy meanwhile."""
    counts = (1, 2)
    rates: dict[int, list[float]] = {count: [] for count in counts}
    cores: dict[int, list[float]] = {count: [] for count in counts}
    client: dict[int, list[float]] = {count: [] for count in counts}
    env = {"BENCH_BODY": "html", "BENCH_VARIANT": "none"}
    spec = "_served:EditFilter?filter_content_types=text/html"
    with contextlib.ExitStack() as stack:
        running = {}
        for count in counts:
            port = free_port()
            argv = _python(
                "-m", "dualfilter", "serve", "_served:asgi_app", "-f", spec, "--port", str(port), "--workers", str(count)
            )
            running[count] = stack.enter_context(started(argv, port, env))
            check(running[count].url, "html", "dualfilter")
            load(running[count].url, 2.0, 32, 2)  # warm up every worker
        for _ in range(args.rounds):
            for count, server_process in running.items():  # interleaved: drift hits both alike
                before, before_client, start = cpu_seconds(server_process.process.pid), client_cpu_seconds(), time.monotonic()
                requests = load(server_process.url, args.seconds, 32, 2)
                elapsed = time.monotonic() - start
                rates[count].append(requests / elapsed)
                cores[count].append((cpu_seconds(server_process.process.pid) - before) / elapsed)
                client[count].append((client_cpu_seconds() - before_client) / elapsed)
    print()
    print(f"dualfilter serve --workers N, 20 KB HTML filtered, {os.cpu_count()} cores, 32 connections, 2 client threads")
    print(f"{'':<11} {'requests/s: median [min-max]':<32} {'cores busy: server':<20} client")
    for count in counts:
        values = rates[count]
        label = f"{count} worker{'s' if count > 1 else ''}"
        measured = f"{statistics.median(values):>8.0f} [{min(values):.0f}-{max(values):.0f}]"
        print(f"{label:<11} {measured:<32} {statistics.median(cores[count]):<20.2f} {statistics.median(client[count]):.2f}")
    ratio = [two / one for one, two in zip(rates[1], rates[2], strict=True)]
    print(f"2 workers / 1 worker: {spread(ratio)} (the load generator needs cores too; other load on the machine shows here)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run: 2 rounds")
    parser.add_argument("--rounds", type=int, default=8, help="interleaved rounds per variant (default 8)")
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="seconds of load per variant and round, whole seconds with wrk (default 1)"
    )
    parser.add_argument("--workers", action="store_true", help="measure dualfilter serve with 1 and 2 worker processes instead")
    parser.add_argument(
        "--in-app", action="store_true", help="measure the CPU time each request spends inside the app instead of the server's"
    )
    parser.add_argument(
        "--client", choices=("auto", "wrk", "python"), default="auto", help="the load generator (default: wrk when installed)"
    )
    parser.add_argument("--only", metavar="NAME", help="only the servers whose name contains NAME (e.g. uvicorn)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 2, 1.0
    load = load_generator(args.client)
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} cores, load: {'wrk' if load is wrk else 'Python client'}")
    if args.workers:
        workers(args, load)
    else:
        compare(args, load)


if __name__ == "__main__":
    main()
