"""``dualfilter serve``: serve a WSGI or ASGI app, or the built-in demo site, wrapped in filters on uvicorn.

WSGI apps are wrapped with the WSGI adapter and then bridged to ASGI with
a2wsgi; ASGI apps are wrapped with the ASGI adapter. The first ``--filter``
is the innermost middleware, so it filters first, as in ``dualfilter apply``.

With ``--workers N`` (and ``--reload``) uvicorn's own process manager (and
reloader) runs the server: the command binds the socket, stores its parsed
options in the ``DUALFILTER_SERVE_CONFIG`` environment variable and hands
uvicorn the import string of ``app_from_environment``, a factory that builds
the same app again in each worker process.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import json
import logging
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any

from .. import hosts
from ..filter import Filter
from ..specs import import_object
from .common import USAGE, CommandError, add_filter_option, load_filters
from .framing import Guard

#: What ``pip install`` adds the packages ``serve`` and ``proxy`` need.
SERVE_EXTRA = "pip install 'dualfilter[serve]'"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
#: The environment variable that hands a command's options to its worker processes.
CONFIG_ENV = "DUALFILTER_SERVE_CONFIG"
#: The factory uvicorn imports in each worker process.
FACTORY = f"{__name__}:app_from_environment"
#: The error when the app does not start (uvicorn has logged why, at the --log-level given).
FAILED_TO_START = "the app failed to start (see the messages above)"


def require(module: str, purpose: str) -> ModuleType:
    """Import an optional dependency, or end the command saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise CommandError(f"{purpose} needs the {module} package: {SERVE_EXTRA}") from None


def load_app(target: str) -> tuple[Any, str]:
    """The app ``module:attribute`` names and its host, ``'wsgi'`` or ``'asgi'``."""
    if ":" not in target:
        raise CommandError(f"APP {target!r} is not module:attribute (for example myproject.wsgi:application)", USAGE)
    try:
        app = import_object(target)
    except ValueError as exc:
        raise CommandError(str(exc), USAGE) from None
    try:
        host = hosts.detect(app)
    except TypeError:
        raise CommandError(f"{target} is not a WSGI or ASGI app: it is {type(app).__name__} {app!r:.60}", USAGE) from None
    if host == "isapi":
        raise CommandError(f"{target} is an ISAPI extension; serve runs WSGI and ASGI apps", USAGE)
    return app, host


def wrap(app: Any, host: str, filters: Sequence[tuple[str, Filter]]) -> Any:
    """``app`` inside ``filters`` (the first innermost), as one ASGI app, behind the
    ``Guard`` that refuses what a server must (whichever parser uvicorn uses)."""
    for _, flt in filters:
        app = hosts.wrap(flt, app, host)
    if host == "wsgi":
        a2wsgi = require("a2wsgi", "serving a WSGI app")
        app = a2wsgi.WSGIMiddleware(app)
    return Guard(app)


def url_of(sock: socket.socket) -> str:
    """``http://host:port`` for a listening socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` and listening (port 0: any free port); a CommandError if that fails."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        reason = "address already in use" if exc.errno == errno.EADDRINUSE else (exc.strerror or str(exc))
        raise CommandError(f"cannot listen on {where}: {reason}") from exc
    return sock


@contextlib.contextmanager
def _log_errors_to_stderr() -> Iterator[None]:
    """While serving, show the core's error records (a failing filter) on stderr, traceback included."""
    logger = logging.getLogger("dualfilter")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.ERROR)
    handler.setFormatter(logging.Formatter("dualfilter: error: %(message)s"))
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


#: Seconds a stop (Ctrl+C, SIGTERM) waits for responses under way, a stream that never
#: ends included, before closing their connections (uvicorn waits for ever by default).
GRACE = 5


def run_server(app: Any, host: str, port: int, describe: str, *, log_level: str = "warning", **config: Any) -> int:
    """Serve the ASGI ``app`` on uvicorn until interrupted; prints one line,
    ``dualfilter: <describe> on <url> ...``, once it accepts requests."""
    require("uvicorn", "serving")
    import uvicorn

    sock = listen(host, port)
    url = url_of(sock)

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                print(f"dualfilter: {describe} on {url} (press Ctrl+C to stop)", flush=True)

    settings = {"interface": "asgi3", "log_level": log_level, "timeout_graceful_shutdown": GRACE, **config}
    server = Server(uvicorn.Config(app, **settings))
    try:
        with _log_errors_to_stderr():
            server.run(sockets=[sock])
    except SystemExit:
        # uvicorn exits this way when the app's lifespan startup fails; it has logged why.
        raise CommandError(FAILED_TO_START) from None
    finally:
        sock.close()
    return 0


def run_processes(command: str, args: argparse.Namespace, describe: str, **config: Any) -> int:
    """Serve the app that ``command``'s ``build_app(args)`` makes with uvicorn's process
    manager (``args.workers`` processes) or its reloader (``args.reload``), until interrupted.

    Each process builds the app again from ``args`` (see ``app_from_environment``);
    the listening socket is bound here first, so the line printed says where,
    and requests wait in its backlog until a worker takes them."""
    require("uvicorn", "serving")
    import uvicorn

    if sys.platform == "win32":
        raise CommandError("--workers and --reload need a POSIX system (uvicorn shares the socket by file descriptor)")
    reload = bool(getattr(args, "reload", False))
    options = {name: value for name, value in vars(args).items() if not callable(value)}
    os.environ[CONFIG_ENV] = json.dumps({"command": command, "args": options})
    sock = listen(args.host, args.port)
    # The reloader takes the socket back from its descriptor as an AF_UNIX one, so asyncio does not set
    # TCP_NODELAY on the connections it accepts; they inherit it from the listening socket instead.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    how = "reloading on changes" if reload else f"{args.workers} worker processes"
    print(f"dualfilter: {describe} on {url_of(sock)} ({how}; press Ctrl+C to stop)", flush=True)
    settings = {"factory": True, "interface": "asgi3", "log_level": args.log_level, "timeout_graceful_shutdown": GRACE, **config}
    try:
        if reload:
            uvicorn.run(FACTORY, fd=sock.fileno(), reload=True, **settings)
        elif not _supervise(uvicorn.Config(FACTORY, workers=args.workers, **settings), sock):
            raise CommandError(FAILED_TO_START)
    finally:
        sock.close()
    return 0


def _supervise(config: Any, sock: socket.socket) -> bool:
    """Serve from ``config.workers`` processes under uvicorn's process manager until it
    stops; whether the workers started.

    This is what ``uvicorn.run(workers=N)`` does, except that it returns alike after
    Ctrl+C and after its manager stopped everything because a worker failed to start
    (exit status STARTUP_FAILURE: the app's lifespan startup failed, or the app could
    not be built): the manager's processes tell the two apart.
    """
    from uvicorn.config import STARTUP_FAILURE
    from uvicorn.supervisors import Multiprocess

    manager = Multiprocess(config, sockets=[sock])
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: Ctrl+C before its handlers are in place
        manager.run()
    return all(process.exitcode != STARTUP_FAILURE for process in manager.processes)


_worker_logging = contextlib.ExitStack()


def app_from_environment() -> Any:
    """The ASGI app of one worker process: what the command's ``build_app`` makes of
    the options the parent process stored in ``DUALFILTER_SERVE_CONFIG``."""
    from uvicorn.config import STARTUP_FAILURE

    from . import _log_warnings_to_stderr, proxy

    saved = json.loads(os.environ[CONFIG_ENV])
    build = {"serve": build_app, "proxy": proxy.build_app}[saved["command"]]
    try:
        app, _ = build(argparse.Namespace(**saved["args"]))
    except CommandError as exc:
        # One line, and the status that has uvicorn's manager stop rather than start it again.
        print(f"dualfilter: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)
    _worker_logging.enter_context(_log_warnings_to_stderr())
    _worker_logging.enter_context(_log_errors_to_stderr())
    return app


def check_processes(args: argparse.Namespace) -> None:
    """A CommandError for ``--workers`` below 1, or with ``--reload``."""
    if args.workers < 1:
        raise CommandError(f"--workers {args.workers} is not a number of processes (1 or more)", USAGE)
    if getattr(args, "reload", False) and args.workers != 1:
        raise CommandError("give --workers or --reload, not both", USAGE)


def multiprocess(args: argparse.Namespace) -> bool:
    """Whether the server runs in worker processes rather than in this one."""
    return args.workers > 1 or bool(getattr(args, "reload", False))


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """``--host``, ``--port``, ``--log-level`` and ``--workers``, shared by ``serve`` and ``proxy``."""
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=8000, metavar="N", help="the port to listen on (default: 8000; 0 picks a free one)"
    )
    parser.add_argument(
        "--log-level",
        choices=LOG_LEVELS,
        default="warning",
        help="uvicorn's log level (default: warning; info adds a line per request)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="serve from N worker processes, run by uvicorn's process manager (default: 1, this process)",
    )


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``serve`` to the ``dualfilter`` parser."""
    parser = subparsers.add_parser(
        "serve",
        parents=parents,
        help="serve a WSGI or ASGI app (or the demo site) wrapped in filters",
        description="Serve APP, a WSGI or ASGI app given as module:attribute, wrapped in the filters, on uvicorn. "
        "With --demo and no APP, serve a small demo site with filters at work. "
        "The first --filter is innermost: it filters first, and each next one filters its output.",
    )
    parser.add_argument("app", nargs="?", metavar="APP", help="module:attribute, e.g. myproject.wsgi:application")
    parser.add_argument("--demo", action="store_true", help="serve the built-in demo site (its filters run first)")
    add_filter_option(parser)
    add_server_options(parser)
    parser.add_argument(
        "--reload",
        action="store_true",
        help="for development: restart the server when a .py file under the current directory changes (uvicorn's reloader)",
    )
    parser.set_defaults(run=run)


def build_app(args: argparse.Namespace) -> tuple[Any, str]:
    """The ASGI app ``serve`` serves for ``args``, and what to call it in the line it prints."""
    filters = load_filters(args.filters or ())
    if args.demo:
        from .. import demo

        filters = [*demo.filters(), *filters]
        app, host, what = demo.app, "asgi", "the demo site"
    else:
        app, host = load_app(args.app)
        what = f"{args.app} ({host.upper()})"
    labels = ", ".join(label for label, _ in filters)
    return wrap(app, host, filters), f"serving {what} with {labels}"


def run(args: argparse.Namespace) -> int:
    """Run ``dualfilter serve``."""
    if args.demo and args.app:
        raise CommandError("give APP or --demo, not both", USAGE)
    if not (args.demo or args.app):
        raise CommandError("give the APP to serve (module:attribute), or --demo", USAGE)
    if args.app and not args.filters:
        raise CommandError("give at least one --filter SPEC", USAGE)
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port {args.port} is not a port number", USAGE)
    check_processes(args)
    # Built here even when worker processes build their own: mistakes are one line, before anything starts.
    app, describe = build_app(args)
    if multiprocess(args):
        return run_processes("serve", args, describe)
    return run_server(app, args.host, args.port, describe, log_level=args.log_level)
