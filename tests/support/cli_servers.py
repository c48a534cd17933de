"""Real servers for the ``serve`` and ``proxy`` tests: the command in a subprocess, an app on uvicorn in a thread.

Both listen on 127.0.0.1 at a free port and are always stopped, within bounded time.
"""

from __future__ import annotations

import contextlib
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

#: Seconds a command may take to say it listens.
STARTUP_TIMEOUT = 20
URL = re.compile(rb" on (http://\S+) ")


@dataclass
class Command:
    """A running ``python -m dualfilter`` server: its process, the line it printed, its URL."""

    process: subprocess.Popen[bytes]
    line: str
    url: str


def interruptible() -> None:
    """In the child before it runs: Ctrl+C (SIGINT) as a terminal gives it. A shell
    runs background jobs with SIGINT ignored, and a child inherits that; then
    Python would ignore the interrupt these tests send."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def read_line(process: subprocess.Popen[bytes]) -> bytes:
    """The first line of the process's stdout; b'' if it exits or stays silent too long."""
    lines: queue.Queue[bytes] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=STARTUP_TIMEOUT)
    except queue.Empty:
        return b""


def stop(process: subprocess.Popen[bytes]) -> None:
    """Interrupt the process as Ctrl+C does; kill it if it does not end in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def command(*args: str, cwd: Any = None) -> Iterator[Command]:
    """Run ``python -m dualfilter ARGS --port 0`` until it says where it listens; stop it afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "dualfilter", *args, "--port", "0"],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=interruptible,
    )
    try:
        line = read_line(process)
        found = URL.search(line)
        if found is None:
            stop(process)
            assert process.stderr is not None
            raise AssertionError(f"the command did not start: {line!r} {process.stderr.read()!r}")
        yield Command(process, line.decode(), found.group(1).decode())
    finally:
        stop(process)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def listening_socket() -> socket.socket:
    """A socket on a free 127.0.0.1 port, already listening: clients wait in its backlog
    until the server accepts, so nobody has to wait for the server to start."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock


def dead_port() -> int:
    """A 127.0.0.1 port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def uvicorn_thread(app: Any, **config: Any) -> Iterator[str]:
    """Serve the ASGI ``app`` on uvicorn in a thread (``config``: more of uvicorn's settings,
    such as ``ssl_certfile``); yields its ``http://127.0.0.1:PORT`` (``https`` with TLS)."""
    import uvicorn

    sock = listening_socket()
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_config=None, **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    scheme = "https" if config.get("ssl_certfile") else "http"
    try:
        yield f"{scheme}://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
