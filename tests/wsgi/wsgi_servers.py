"""Every real WSGI server the wire tests use, each serving ``wire_site`` on 127.0.0.1 port 0.

In this process, in a thread: wsgiref, waitress, werkzeug (the server ``run_simple``
runs, made by ``werkzeug.serving.make_server``) and cheroot. In a process of their own:
gunicorn (a sync worker, and a gthread one) and granian (WSGI). Each yields its port and
stops by itself, within bounded time; one missing is skipped (cheroot comes with no extra
of the package; granian and psutil, which finds the port granian took, with ``bench``).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pathlib
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.http_servers import listening_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
HERE = pathlib.Path(__file__).resolve().parent
#: Seconds a server may take to start or to stop.
TIMEOUT = 10.0

IN_PROCESS = ("wsgiref", "waitress", "werkzeug", "cheroot")
SUBPROCESS = ("gunicorn-sync", "gunicorn-gthread", "granian")
ALL = IN_PROCESS + SUBPROCESS


def _listening() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


@contextlib.contextmanager
def _wsgiref(app: Any) -> Iterator[int]:
    import socketserver
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Threading(socketserver.ThreadingMixIn, WSGIServer):
        """wsgiref's server, a thread a request (wsgiref's own handler, as in the standard library)."""

        daemon_threads = True

    server = make_server("127.0.0.1", 0, app, server_class=Threading, handler_class=Quiet)
    yield from _serving_forever(server)


def _serving_forever(server: Any) -> Iterator[int]:
    """A ``socketserver`` server's port while it serves in a thread of its own, then stopped."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(TIMEOUT)


@contextlib.contextmanager
def _waitress(app: Any) -> Iterator[int]:
    import waitress.server

    server = waitress.server.create_server(app, host="127.0.0.1", port=0, threads=4, clear_untrusted_proxy_headers=True)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        yield server.effective_port  # type: ignore[union-attr]
    finally:
        server.close()
        thread.join(TIMEOUT)


@contextlib.contextmanager
def _werkzeug(app: Any) -> Iterator[int]:
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    yield from _serving_forever(server)


@contextlib.contextmanager
def _cheroot(app: Any) -> Iterator[int]:
    wsgi = pytest.importorskip("cheroot.wsgi")
    server = wsgi.Server(("127.0.0.1", 0), app, numthreads=4, shutdown_timeout=1)
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server.bind_addr[1]
    finally:
        server.stop()
        thread.join(TIMEOUT)


def _environment(journal: str, page: str) -> dict[str, str]:
    path = os.pathsep.join([str(ROOT), str(HERE), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "WIRE_JOURNAL": journal, "WIRE_PAGE": page, "PYTHONPATH": path}


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=TIMEOUT)


def _ready(port: int, process: subprocess.Popen[bytes]) -> None:
    """Wait until ``port`` answers (bounded), or fail with what the process said."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                if sock.recv(16):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    _stop(process)
    raise AssertionError(f"the server did not start: {process.stderr.read() if process.stderr else b''!r}")


@contextlib.contextmanager
def _gunicorn(worker: str, journal: str, page: str) -> Iterator[int]:
    pytest.importorskip("gunicorn")
    sock = _listening()
    sock.set_inheritable(True)
    threads = ["--threads", "4"] if worker == "gthread" else []
    command = [sys.executable, "-m", "gunicorn", "--bind", f"fd://{sock.fileno()}", "--workers", "1"]
    command += ["--worker-class", worker, *threads, "--log-level", "critical", "--timeout", "30", "wire_site:site_from_env()"]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=_environment(journal, page),
        pass_fds=[sock.fileno()],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        port = sock.getsockname()[1]
        _ready(port, process)
        yield port
    finally:
        _stop(process)
        assert process.stderr is not None
        process.stderr.close()
        sock.close()


@contextlib.contextmanager
def _granian(journal: str, page: str) -> Iterator[int]:
    command = [sys.executable, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", "0"]
    command += ["--workers", "1", "--blocking-threads", "4", "--log-level", "critical", "--no-access-log"]
    command += ["--factory", "wire_site:site_from_env"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=_environment(journal, page), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        port = listening_port(process, TIMEOUT)
        _ready(port, process)
        yield port
    finally:
        _stop(process)
        assert process.stderr is not None
        process.stderr.close()


@contextlib.contextmanager
def serving(server: str, journal: str, page: str) -> Iterator[int]:
    """``server`` serving ``wire_site`` (its journal and page file as named); yields the port."""
    if server in IN_PROCESS:
        from wire_site import make_site

        site = make_site(journal, page)
        with {"wsgiref": _wsgiref, "waitress": _waitress, "werkzeug": _werkzeug, "cheroot": _cheroot}[server](site) as port:
            yield port
    elif server.startswith("gunicorn-"):
        with _gunicorn(server.split("-", 1)[1], journal, page) as port:
            yield port
    elif server == "granian":
        with _granian(journal, page) as port:
            yield port
    else:
        raise ValueError(server)


class Reply:
    """One HTTP/1.1 response as the client got it: whether its framing says it is whole."""

    def __init__(self, raw: bytes, method: str, ended: str) -> None:
        self.raw, self.ended = raw, ended  # ended: "closed", "reset" or "timeout"
        head, separator, rest = raw.partition(b"\r\n\r\n")
        self.has_head = bool(separator)
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        parts = self.status_line.split(" ", 2)
        self.status = int(parts[1]) if self.has_head and len(parts) > 1 and parts[1].isdigit() else None
        self.headers: dict[str, str] = {}
        for line in lines[1:] if self.has_head else []:
            name, _, value = line.partition(":")
            key = name.strip().lower()
            self.headers[key] = f"{self.headers[key]}, {value.strip()}" if key in self.headers else value.strip()
        self.wire = rest
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        bodiless = method == "HEAD" or self.status is not None and (self.status < 200 or self.status in (204, 304))
        length = self.headers.get("content-length")
        if not self.has_head:
            self.body, self.complete = b"", False
        elif bodiless:
            self.body, self.complete = b"", True
        elif self.chunked:
            self.body, self.complete = _dechunk(rest)
        elif length is not None and length.isdigit():
            self.body, self.complete = rest[: int(length)], len(rest) >= int(length)
        else:  # delimited by the close: whole only if the server closed it cleanly
            self.body, self.complete = rest, ended == "closed"

    def __repr__(self) -> str:
        return f"<Reply {self.status_line!r} {self.headers} body={len(self.body)} complete={self.complete} ended={self.ended}>"


def _dechunk(data: bytes) -> tuple[bytes, bool]:
    body = bytearray()
    while True:
        size_line, separator, data = data.partition(b"\r\n")
        if not separator:
            return bytes(body), False
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            return bytes(body), False
        if size == 0:
            return bytes(body), data.startswith(b"\r\n") or b"\r\n\r\n" in data
        if len(data) < size + 2:
            return bytes(body + data[:size]), False
        body += data[:size]
        data = data[size + 2 :]


def wire_request(
    port: int, path: str, method: str = "GET", headers: dict[str, str] | None = None, content: bytes = b"", timeout: float = 5.0
) -> Reply:
    """One request on a fresh connection with ``Connection: close``, read until the server
    closes it (or ``timeout`` seconds pass without a byte)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    if content:
        lines.append(f"Content-Length: {len(content)}")
    received = bytearray()
    ended = "closed"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + content)
        deadline = time.monotonic() + 30
        try:
            while time.monotonic() < deadline:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
            else:
                ended = "timeout"
        except ConnectionResetError:
            ended = "reset"
        except TimeoutError:
            ended = "timeout"
    return Reply(bytes(received), method, ended)


def hang_up_after(port: int, path: str, size: int, timeout: float = 5.0) -> int:
    """GET ``path``, read at least ``size`` bytes of the response, then drop the connection
    (a reset: unread bytes and SO_LINGER 0); returns how many bytes were read."""
    import struct

    received = 0
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        deadline = time.monotonic() + 30
        while received < size and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += len(chunk)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    return received


class Served:
    """A server serving ``wire_site``: requests whose traces in the journal are told apart
    by a token each carries in its query string."""

    def __init__(self, name: str, port: int, journal: str) -> None:
        self.name, self.port, self.journal = name, port, journal
        self._tokens = itertools.count()

    def tagged(self, path: str) -> tuple[str, str]:
        """``path`` with a token of its own; the token."""
        token = f"t={next(self._tokens)}"
        return f"{path}{'&' if '?' in path else '?'}{token}", token

    def request(
        self, path: str, method: str = "GET", headers: dict[str, str] | None = None, content: bytes = b""
    ) -> tuple[Reply, list[str]]:
        """The reply to one request, and what the app's iterables lived through for it."""
        tagged, token = self.tagged(path)
        reply = wire_request(self.port, tagged, method, headers, content)
        return reply, self.events(token)

    def hang_up(self, path: str, size: int) -> list[str]:
        """Drop the connection after ``size`` bytes of the reply; what the app's iterables lived through."""
        tagged, token = self.tagged(path)
        hang_up_after(self.port, tagged, size)
        return self.events(token)

    def events(self, token: str, timeout: float = TIMEOUT) -> list[str]:
        """The kinds of event (``call``, ``chunk``, ``close``, ``read``, ``stream-close``)
        journaled for ``token``, once its app's iterable is closed (waited for, bounded),
        and a moment after, so that a second close would show too."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and "close" not in self._kinds(token):
            time.sleep(0.02)
        time.sleep(0.1)
        return self._kinds(token)

    def _kinds(self, token: str) -> list[str]:
        try:
            with open(self.journal, encoding="utf-8") as handle:
                lines = handle.read().splitlines()
        except FileNotFoundError:
            return []
        suffix = ("?" + token, "&" + token)
        return [line.split(" ", 1)[0] for line in lines if line.endswith(suffix)]
