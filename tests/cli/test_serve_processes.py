"""``serve --workers N``, ``proxy --workers N`` and ``serve --reload``: uvicorn's process
manager and reloader, with the app built again in each worker process.

Every server here is a real ``python -m dualfilter`` subprocess on 127.0.0.1 at a
free port, stopped with Ctrl+C; every wait is bounded in count and time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from dualfilter.cli import main
from tests.support.cli_servers import command, uvicorn_thread

#: An ASGI app that says which process answered; it holds its process for a moment,
#: so that requests sent together are taken by different workers.
PID_SITE = """\
import os
import time

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    time.sleep(0.02)
    body = f"<html><body><p>pid {os.getpid()}</p></body></html>".encode()
    headers = [(b"content-type", b"text/html"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
"""

VERSIONED_SITE = """\
def app(environ, start_response):
    body = b"<html><body><p>version VERSION</p></body></html>"
    start_response("200 OK", [("Content-Type", "text/html"), ("Content-Length", str(len(body)))])
    return [body]
"""

INJECT = "inject?html=<hr>"
#: Bounds on the loops that wait for something to happen.
ATTEMPTS = 300
SECONDS = 30.0


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "pid_site.py").write_text(PID_SITE)
    return tmp_path


def pids_answering(url: str) -> tuple[set[int], list[str]]:
    """The processes that answer requests sent four at a time, on new connections,
    until two different ones did (bounded); and the bodies received."""
    pids: set[int] = set()
    bodies: list[str] = []
    deadline = time.monotonic() + SECONDS

    def one(_: int) -> str:
        return httpx.get(url + "/", timeout=10).text

    with ThreadPoolExecutor(4) as pool:
        for _ in range(ATTEMPTS // 4):
            for body in pool.map(one, range(4)):
                bodies.append(body)
                pids.add(int(body.split("pid ")[1].split("<")[0]))
            if len(pids) >= 2 or time.monotonic() > deadline:
                break
    return pids, bodies


def gone(pid: int) -> bool:
    """Whether process ``pid`` has ended, waiting for it a bounded time."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_two_workers_are_two_processes_serving_filtered_responses(site):
    with command("serve", "pid_site:app", "-f", INJECT, "--workers", "2", cwd=site) as server:
        pids, bodies = pids_answering(server.url)
    assert len(pids) == 2
    assert server.process.pid not in pids
    assert all(body.endswith("</p><hr></body></html>") for body in bodies)


def test_the_startup_line_says_how_many_workers(site):
    with command("serve", "pid_site:app", "-f", INJECT, "--workers", "2", cwd=site) as server:
        assert server.line == (
            f"dualfilter: serving pid_site:app (ASGI) with inject on {server.url} (2 worker processes; press Ctrl+C to stop)\n"
        )


def test_ctrl_c_stops_the_command_and_its_workers(site):
    with command("serve", "pid_site:app", "-f", INJECT, "--workers", "2", cwd=site) as server:
        pids, _ = pids_answering(server.url)
        server.process.send_signal(signal.SIGINT)
        server.process.wait(timeout=20)
        assert server.process.stderr is not None
        assert (server.process.returncode, server.process.stderr.read()) == (0, b"")
    assert all(gone(pid) for pid in pids)


def test_a_filter_failing_in_a_worker_is_logged_and_the_client_gets_a_500(site):
    (site / "failing_filters.py").write_text(
        "from dualfilter import Filter\n\n"
        "class Broken(Filter):\n    def filter(self, environ, headers, data):\n        return 1 / 0\n"
    )
    with command("serve", "pid_site:app", "-f", "failing_filters:Broken", "--workers", "2", cwd=site) as server:
        response = httpx.get(server.url + "/", timeout=10)
        server.process.send_signal(signal.SIGINT)
        server.process.wait(timeout=20)
        assert server.process.stderr is not None
        stderr = server.process.stderr.read().decode()
    assert response.status_code == 500
    assert "dualfilter: error: " in stderr
    assert "ZeroDivisionError: division by zero" in stderr


def test_proxy_with_two_workers_filters_what_the_upstream_sends(tmp_path):
    async def upstream(scope, receive, send):
        if scope["type"] != "http":
            return
        body = b"<html><body><p>from upstream</p></body></html>"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
        await send({"type": "http.response.body", "body": body})

    with uvicorn_thread(upstream) as upstream_url, command("proxy", upstream_url, "-f", INJECT, "--workers", "2") as proxy:
        assert "(2 worker processes; press Ctrl+C to stop)" in proxy.line
        bodies = {httpx.get(proxy.url + "/", timeout=10).text for _ in range(4)}
    assert bodies == {"<html><body><p>from upstream</p><hr></body></html>"}


def test_reload_serves_the_changed_module(tmp_path):
    module = tmp_path / "versioned_site.py"
    module.write_text(VERSIONED_SITE.replace("VERSION", "one"))
    with command("serve", "versioned_site:app", "-f", INJECT, "--reload", cwd=tmp_path) as server:
        assert "(reloading on changes; press Ctrl+C to stop)" in server.line
        first = httpx.get(server.url + "/", timeout=10).text
        module.write_text(VERSIONED_SITE.replace("VERSION", "two"))
        deadline = time.monotonic() + SECONDS
        served = first
        for attempt in range(ATTEMPTS):
            # The reloader notes the files' times when it first looks, which may be after the change:
            # a newer time, set again while the old version is served, is a change it sees.
            later = time.time() + attempt + 1
            os.utime(module, (later, later))
            served = httpx.get(server.url + "/", timeout=10).text
            if "two" in served or time.monotonic() > deadline:
                break
            time.sleep(0.3)
    assert first == "<html><body><p>version one</p><hr></body></html>"
    assert served == "<html><body><p>version two</p><hr></body></html>"


def test_workers_whose_app_fails_at_startup_are_one_line_and_exit_1(tmp_path):
    (tmp_path / "failing_site.py").write_text(
        "async def app(scope, receive, send):\n"
        "    await receive()\n"
        "    await send({'type': 'lifespan.startup.failed', 'message': 'no database'})\n"
    )
    argv = ["serve", "failing_site:app", "-f", INJECT, "--workers", "2", "--port", "0", "--log-level", "critical"]
    result = subprocess.run(
        [sys.executable, "-m", "dualfilter", *argv], cwd=tmp_path, capture_output=True, timeout=SECONDS * 2, check=False
    )
    assert (result.returncode, result.stderr) == (1, b"dualfilter: error: the app failed to start (see the messages above)\n")


def test_workers_that_cannot_build_the_app_are_one_line_each_and_exit_1(tmp_path):
    # The module imports in the command's process and fails in each worker's: uvicorn's
    # manager must be told to stop, not start the worker again and again.
    (tmp_path / "worker_only_failure.py").write_text(
        "import multiprocessing\n"
        "if multiprocessing.parent_process() is not None:\n"
        "    raise RuntimeError('no database in a worker')\n"
        "async def app(scope, receive, send):\n"
        "    pass\n"
    )
    argv = ["serve", "worker_only_failure:app", "-f", INJECT, "--workers", "2", "--port", "0", "--log-level", "critical"]
    result = subprocess.run(
        [sys.executable, "-m", "dualfilter", *argv], cwd=tmp_path, capture_output=True, timeout=SECONDS * 2, check=False
    )
    lines = result.stderr.decode().splitlines()
    assert result.returncode == 1 and lines[-1] == "dualfilter: error: the app failed to start (see the messages above)"
    assert 1 <= sum("cannot import module 'worker_only_failure'" in line for line in lines) <= 2  # one a worker
    assert "Traceback" not in result.stderr.decode()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--workers", "0"], "--workers 0 is not a number of processes (1 or more)"),
        (["--workers", "2", "--reload"], "give --workers or --reload, not both"),
    ],
)
def test_a_bad_process_count_is_one_line_and_exit_2(capsys, argv, message):
    assert main(["serve", "--demo", *argv]) == 2
    assert capsys.readouterr().err == f"dualfilter: error: {message}\n"


def test_proxy_takes_workers_but_not_reload(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["proxy", "http://127.0.0.1:9", "-f", INJECT, "--reload"])
    assert exc.value.code == 2
    assert capsys.readouterr().err == "dualfilter: error: unrecognized arguments: --reload (see dualfilter proxy --help)\n"
