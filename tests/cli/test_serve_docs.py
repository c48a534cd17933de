"""The server sessions of docs/cli.md (``shell-session`` blocks) run as the page shows them.

Those blocks start servers and fetch from them, in page order, in a scratch
directory holding the page's ``file=`` blocks. ``$ dualfilter serve|proxy``
and ``$ python -m http.server`` start a server in the background (stopped at
the end, or when a later one takes its port) and must print the line shown;
``$ curl -s URL`` must print the body shown. Each documented port is served
on a free port instead, and mapped back in what is compared.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import httpx

from tests.cli.test_cli_docs import FENCE, PAGE
from tests.support.cli_servers import interruptible, read_line, stop

LOCAL_URL = re.compile(r"(?<=127\.0\.0\.1:)(\d+)")


def sessions(text: str) -> list[tuple[str, str]]:
    """``(command, expected output)`` for every ``$ command`` of the shell-session blocks, in page order."""
    found: list[tuple[str, list[str]]] = []
    for match in FENCE.finditer(text):
        if match["lang"] != "shell-session":
            continue
        for line in match["code"].splitlines():
            if line.startswith("$ "):
                found.append((line[2:], []))
            else:
                found[-1][1].append(line)
    return [(command, "\n".join(lines)) for command, lines in found]


class Session:
    """The background servers of the page, by documented port, and the port each really has."""

    def __init__(self, cwd: Path) -> None:
        self.cwd = cwd
        self.ports: dict[str, str] = {}
        self.servers: dict[str, subprocess.Popen[bytes]] = {}

    def to_real(self, text: str) -> str:
        return LOCAL_URL.sub(lambda m: self.ports.get(m.group(1), m.group(1)), text)

    def to_documented(self, text: str) -> str:
        for documented, real in self.ports.items():
            text = re.sub(rf"\b{real}\b", documented, text)
        return text

    def start(self, argv: list[str], documented_port: str, listens: str, env: dict[str, str] | None = None) -> str:
        """Start a server in the background; its first line, where ``listens`` finds its port, with ports as documented."""
        if documented_port in self.servers:
            stop(self.servers.pop(documented_port))
        process = subprocess.Popen(
            argv, cwd=self.cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=interruptible
        )
        self.servers[documented_port] = process
        line = read_line(process).decode()
        real = re.search(listens, line)
        assert real is not None, f"{argv} did not start: {line!r}"
        self.ports[documented_port] = real.group(1)
        return self.to_documented(line.rstrip("\n"))

    def run(self, command: str) -> str:
        """Run one documented command; what it prints, as the page would show it."""
        args = shlex.split(self.to_real(command))
        if args[:2] in (["dualfilter", "serve"], ["dualfilter", "proxy"]):
            port = args[args.index("--port") + 1] if "--port" in args else "8000"
            if "--port" in args:
                del args[args.index("--port") : args.index("--port") + 2]
            return self.start(
                [sys.executable, "-m", "dualfilter", *args[1:], "--port", "0"], port, r" on http://127\.0\.0\.1:(\d+) "
            )
        if args[:3] == ["python", "-m", "http.server"]:
            port = args[3]
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            return self.start([sys.executable, "-m", "http.server", "0", *args[4:]], port, r" port (\d+) ", env)
        if args[:2] == ["curl", "-s"] and len(args) == 3:
            return httpx.get(args[2], timeout=10).text.rstrip("\n")
        raise AssertionError(f"the server sessions cannot run {command!r}")

    def close(self) -> None:
        for process in self.servers.values():
            stop(process)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()


def test_server_sessions_print_what_the_page_shows(tmp_path):
    text = PAGE.read_text(encoding="utf-8")
    for match in FENCE.finditer(text):
        name = re.search(r"\bfile=(\S+)", match["info"])
        if name:
            (tmp_path / name.group(1)).write_text(match["code"], encoding="utf-8")
    cases = sessions(text)
    assert len(cases) >= 6
    session = Session(tmp_path)
    with contextlib.closing(session):
        for command, expected in cases:
            assert session.run(command) == expected, command
