"""``dualfilter proxy``: a filtering reverse proxy in front of any HTTP server.

``ReverseProxy`` is an ASGI app that forwards each request to the upstream
with httpx and streams the answer back raw: bodies are neither decoded nor
held, so Content-Encoding and Content-Length stay true. The filters wrap it
as they wrap any ASGI app (the core decodes the compressed bodies it filters).
"""

from __future__ import annotations

import argparse
import logging
import socket
from collections.abc import AsyncIterator, Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit, urlunsplit

import anyio

from .. import hosts
from .common import USAGE, CommandError, add_filter_option, load_filters
from .serve import add_server_options, check_processes, multiprocess, require, run_processes, run_server

if TYPE_CHECKING:
    import httpx

    from ..asgi.types import Receive, Scope, Send

log = logging.getLogger("dualfilter.proxy")

#: Headers that concern one connection only (RFC 9110 section 7.6.1), never forwarded.
HOP_BY_HOP = frozenset(
    b"connection keep-alive proxy-authenticate proxy-authorization proxy-connection te trailer transfer-encoding upgrade".split()
)
#: Request headers the proxy sets itself, or that were answered on the client's connection.
REPLACED = frozenset((b"host", b"expect", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"))
DEFAULT_PORTS = {"http": 80, "https": 443}
#: Seconds to wait for the upstream between two reads (and to connect: at most 10).
DEFAULT_TIMEOUT = 60.0


def hop_by_hop(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """The hop-by-hop header names of a message: the standard ones and those its Connection header lists."""
    listed = {token.strip().lower() for name, value in headers if name.lower() == b"connection" for token in value.split(b",")}
    return HOP_BY_HOP | (listed - {b""})


class Upstream:
    """The server behind the proxy: its origin, and the path prefix the proxy's paths map under."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        if parts.username is not None or parts.query or parts.fragment:
            raise ValueError(f"{url!r}: give the upstream as scheme://host[:port][/path], without credentials or query")
        try:
            port = parts.port
        except ValueError:
            raise ValueError(f"{url!r} has an invalid port") from None
        self.scheme = parts.scheme.lower()
        self.host = parts.hostname
        self.port = port or DEFAULT_PORTS[self.scheme]
        #: The Host header requests carry upstream.
        self.netloc = parts.netloc.lower()
        #: The upstream path the proxy's ``/`` stands for, without a trailing slash.
        self.prefix = parts.path.rstrip("/")
        self.url = f"{self.scheme}://{self.netloc}{self.prefix}"

    def target(self, raw_path: str, query: str) -> str:
        """The upstream URL for a request to the proxy's ``raw_path?query``."""
        return f"{self.url}{raw_path}" + (f"?{query}" if query else "")

    def unprefix(self, path: str) -> str | None:
        """The proxy's path for an upstream path, or None when it lies outside the prefix."""
        if not self.prefix:
            return path
        if path == self.prefix or path.startswith(self.prefix + "/"):
            return path[len(self.prefix) :] or "/"
        return None

    def owns(self, parts: SplitResult) -> bool:
        """Whether a split absolute URL is on the upstream's origin."""
        scheme = (parts.scheme or self.scheme).lower()
        try:
            port = parts.port or DEFAULT_PORTS.get(scheme)
        except ValueError:
            return False
        return scheme == self.scheme and parts.hostname == self.host and port == self.port

    def relocate(self, location: str, origin: str) -> str:
        """A Location (or Content-Location) header as the client of the proxy at ``origin`` must see it."""
        parts = urlsplit(location)
        if parts.netloc:
            if not self.owns(parts):
                return location
        elif parts.scheme or not parts.path.startswith("/"):
            return location  # another scheme, or a relative path that resolves alike on both sides
        path = self.unprefix(parts.path)
        if path is None:
            return location
        return (origin if parts.netloc else "") + urlunsplit(("", "", path, parts.query, parts.fragment))

    def domain_matches(self, domain: str) -> bool:
        """Whether a cookie's Domain attribute covers the upstream's host."""
        domain = domain.strip().lstrip(".").lower()
        return bool(domain) and (self.host == domain or self.host.endswith("." + domain))

    def rewrite_cookie(self, set_cookie: str) -> str:
        """A Set-Cookie value with the upstream's Domain dropped (the cookie then belongs to the
        proxy's host) and its Path mapped out of the upstream prefix."""
        pair, *attributes = set_cookie.split(";")
        kept = []
        for attribute in attributes:
            key, _, value = attribute.partition("=")
            name = key.strip().lower()
            if name == "domain" and self.domain_matches(value):
                continue
            if name == "path":
                path = self.unprefix(value.strip())
                if path is not None:
                    attribute = f" {key.strip()}={path}"
            kept.append(attribute)
        return ";".join([pair, *kept])


class ClientDisconnected(Exception):
    """The client went away while its request body was being forwarded."""


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header in an ASGI scope."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def client_origin(scope: Scope) -> str:
    """``scheme://host[:port]`` as the client addressed the proxy."""
    host = header(scope, b"host")
    if host is None:
        server_host, server_port = scope.get("server") or ("localhost", 80)
        return f"{scope.get('scheme', 'http')}://{server_host}:{server_port}"
    return f"{scope.get('scheme', 'http')}://{host.decode('latin-1')}"


async def request_body(receive: Receive) -> AsyncIterator[bytes]:
    """The request body, chunk by chunk as the client sends it."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected
        body = message.get("body", b"")
        if body:
            yield body
        if not message.get("more_body", False):
            return


class ReverseProxy:
    """An ASGI app that forwards HTTP requests to ``upstream`` and streams the responses back.

    Hop-by-hop headers are dropped both ways, Host is the upstream's,
    X-Forwarded-For/-Proto/-Host are added; Location and Set-Cookie that name
    the upstream are rewritten to the proxy. An unreachable upstream is a 502,
    one that does not answer within ``timeout`` a 504. WebSockets are refused.
    """

    def __init__(self, upstream: str | Upstream, *, timeout: float = DEFAULT_TIMEOUT, client: httpx.AsyncClient | None = None):
        import httpx

        self.upstream = upstream if isinstance(upstream, Upstream) else Upstream(upstream)
        self.timeout = timeout
        if client is None:
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                follow_redirects=False,
                trust_env=False,
                # Cookies belong to the proxy's clients: keep none of them here.
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            )
        self.client = client

    async def aclose(self) -> None:
        """Close the connections to the upstream."""
        await self.client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await self.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    def request_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """The headers to send upstream for a request to the proxy."""
        pairs = scope.get("headers", ())
        dropped = hop_by_hop(pairs) | REPLACED
        headers = [(bytes(name), bytes(value)) for name, value in pairs if name.lower() not in dropped]
        forwarded = [bytes(value) for name, value in pairs if name.lower() == b"x-forwarded-for"]
        client = scope.get("client")
        if client:
            forwarded.append(str(client[0]).encode("latin-1"))
        headers.append((b"host", self.upstream.netloc.encode("latin-1")))
        if forwarded:
            headers.append((b"x-forwarded-for", b", ".join(forwarded)))
        headers.append((b"x-forwarded-proto", str(scope.get("scheme", "http")).encode("latin-1")))
        host = header(scope, b"host")
        if host is not None:
            headers.append((b"x-forwarded-host", host))
        return headers

    def response_headers(self, scope: Scope, raw: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
        """The upstream's response headers as the client of the proxy must get them."""
        dropped = hop_by_hop(raw)
        headers = []
        for raw_name, value in raw:
            name = raw_name.lower()
            if name in dropped:
                continue
            if name in (b"location", b"content-location"):
                value = self.upstream.relocate(value.decode("latin-1"), client_origin(scope)).encode("latin-1")
            elif name == b"set-cookie":
                value = self.upstream.rewrite_cookie(value.decode("latin-1")).encode("latin-1")
            headers.append((name, value))
        return headers

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        import httpx

        path = scope.get("raw_path") or scope["path"].encode("utf-8")
        query = scope.get("query_string", b"").decode("latin-1")
        what = f"{scope['method']} {path.decode('latin-1')}"
        has_body = any(name in (b"content-length", b"transfer-encoding") for name, _ in scope.get("headers", ()))
        try:
            request = httpx.Request(
                scope["method"],
                self.upstream.target(path.decode("latin-1"), query),
                headers=self.request_headers(scope),
                content=request_body(receive) if has_body else None,
            )
            response = await self.client.send(request, stream=True, follow_redirects=False)
        except ClientDisconnected:
            return
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            await self._fail(send, 502, f"cannot reach {self.upstream.url} for {what}: {_reason(exc)}")
            return
        except httpx.TimeoutException:
            await self._fail(send, 504, f"{self.upstream.url} did not answer {what} within {self.timeout:g} s")
            return
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            await self._fail(send, 502, f"{self.upstream.url} failed on {what}: {_reason(exc)}")
            return
        try:
            # The request body has gone upstream: what receive() says now is whether the client left.
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_cancel_on_disconnect, receive, tasks.cancel_scope)
                await self._relay(scope, response, send, what)
                tasks.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()

    async def _relay(self, scope: Scope, response: httpx.Response, send: Send, what: str) -> None:
        """Send the upstream's response on, its body chunk by chunk as it comes, undecoded."""
        import httpx

        headers = self.response_headers(scope, response.headers.raw)
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        try:
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.TransportError as exc:
            # The status line is out: all that is left is to end the response early.
            log.warning("%s broke off its answer to %s: %s", self.upstream.url, what, _reason(exc))
            return
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _fail(self, send: Send, status: int, message: str) -> None:
        log.warning("%s", message)
        reason = "Gateway Timeout" if status == 504 else "Bad Gateway"
        body = f"{status} {reason}: {message}\n".encode()
        headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    """Cancel ``scope`` when the client goes away, so an endless upstream stream is not read for nobody."""
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


def unreachable(upstream: Upstream, timeout: float = 5.0) -> str | None:
    """Why a TCP connection to the upstream fails, or None when it succeeds."""
    try:
        with socket.create_connection((upstream.host, upstream.port), timeout=timeout):
            return None
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Add ``proxy`` to the ``dualfilter`` parser."""
    parser = subparsers.add_parser(
        "proxy",
        parents=parents,
        help="a filtering reverse proxy in front of any HTTP server",
        description="Serve a reverse proxy to URL whose responses go through the filters. "
        "The first --filter is innermost: it filters first, and each next one filters its output.",
    )
    parser.add_argument("url", metavar="URL", help="the upstream server, http[s]://host[:port][/path]")
    add_filter_option(parser, required=True)
    add_server_options(parser)
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help=f"how long to wait for the upstream to send something (default: {DEFAULT_TIMEOUT:g}); then 504",
    )
    parser.add_argument(
        "--no-check", action="store_true", help="start even if the upstream cannot be reached yet (requests get 502 until it can)"
    )
    parser.set_defaults(run=run)


#: How uvicorn serves the proxy.
SERVER_CONFIG: dict[str, Any] = {
    "lifespan": "on",
    # The upstream's Server and Date headers go through; uvicorn adds none of its own.
    "server_header": False,
    "date_header": False,
    # X-Forwarded-* from clients are passed on, not taken as the client's address.
    "proxy_headers": False,
}


def build_app(args: argparse.Namespace) -> tuple[Any, str]:
    """The filtered reverse proxy for ``args``, and what to call it in the line ``proxy`` prints."""
    try:
        upstream = Upstream(args.url)
    except ValueError as exc:
        raise CommandError(str(exc), USAGE) from None
    filters = load_filters(args.filters)
    require("httpx", "proxy")
    app: Any = ReverseProxy(upstream, timeout=args.timeout)
    for _, flt in filters:
        app = hosts.wrap(flt, app, "asgi")
    labels = ", ".join(label for label, _ in filters)
    return app, f"proxying {upstream.url} with {labels}"


def run(args: argparse.Namespace) -> int:
    """Run ``dualfilter proxy``."""
    try:
        upstream = Upstream(args.url)
    except ValueError as exc:
        raise CommandError(str(exc), USAGE) from None
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port {args.port} is not a port number", USAGE)
    if not args.timeout > 0:
        raise CommandError(f"--timeout {args.timeout:g} is not a positive number of seconds", USAGE)
    check_processes(args)
    app, describe = build_app(args)
    if not args.no_check:
        reason = unreachable(upstream)
        if reason is not None:
            raise CommandError(f"cannot reach {upstream.url}: {reason} (start it first, or pass --no-check)")
    if multiprocess(args):
        return run_processes("proxy", args, describe, **SERVER_CONFIG)
    return run_server(app, args.host, args.port, describe, log_level=args.log_level, **SERVER_CONFIG)
