"""``dualfilter proxy``: a filtering reverse proxy in front of any HTTP server.

``ReverseProxy`` is an ASGI app that forwards each request to the upstream
with httpx and streams the answer back raw: bodies are neither decoded nor
held, so Content-Encoding and Content-Length stay true. The filters wrap its
forwarding as they wrap any ASGI app (the core decodes the compressed bodies
it filters); around them, the proxy answers what is its own to answer: a
request whose framing a server must refuse (``framing``), CONNECT, a target
it will not forward, a TRACE or OPTIONS whose Max-Forwards ends here, and an
upstream failure while nothing of the response has gone out.
"""

from __future__ import annotations

import argparse
import email.utils
import logging
import os
import socket
import ssl
from collections.abc import AsyncIterator, Iterable, MutableMapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import anyio

from .. import hosts
from .common import USAGE, CommandError, add_filter_option, load_filters
from .framing import error_page, refusal, respond
from .serve import add_server_options, check_processes, multiprocess, require, run_processes, run_server
from .upstream import PATH_CHARACTERS, BadTarget, Upstream, target_authority

if TYPE_CHECKING:
    import httpx

    from ..asgi.types import Message, Receive, Scope, Send
    from ..filter import Filter

log = logging.getLogger("dualfilter.proxy")

#: Headers that concern one connection only (RFC 9110 section 7.6.1), never forwarded.
HOP_BY_HOP = frozenset(
    b"connection keep-alive proxy-authenticate proxy-authorization proxy-connection te trailer transfer-encoding upgrade".split()
)
#: Request headers the proxy sets itself, or that were answered on the client's connection.
REPLACED = frozenset((b"host", b"expect", b"via", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host"))
#: Request headers that would tell the upstream of the client what the proxy does not vouch
#: for (RFC 7239 section 8): dropped, the proxy's own X-Forwarded-* say it.
UNVOUCHED = frozenset((b"forwarded", b"x-real-ip", b"x-forwarded-port", b"x-forwarded-prefix"))
#: Seconds to wait for the upstream between two reads (and to connect: at most 10).
DEFAULT_TIMEOUT = 60.0
#: The proxy's name in the Via it adds to requests: a pseudonym, not its address (RFC 9110 section 7.6.3).
VIA_NAME = "dualfilter"
#: The methods an OPTIONS answered by the proxy itself lists: those it forwards (it forwards any other
#: method too, CONNECT aside, but Allow cannot say "any").
ALLOW = b"GET, HEAD, POST, PUT, DELETE, OPTIONS, TRACE, PATCH"
#: Request headers a TRACE answered by the proxy leaves out: they carry credentials (RFC 9110 section 9.3.8).
SENSITIVE = frozenset((b"authorization", b"proxy-authorization", b"cookie"))


def hop_by_hop(headers: Iterable[tuple[bytes, bytes]]) -> frozenset[bytes]:
    """The hop-by-hop header names of a message: the standard ones and those its Connection header lists."""
    listed = {token.strip().lower() for name, value in headers if name.lower() == b"connection" for token in value.split(b",")}
    return HOP_BY_HOP | (listed - {b""})


class ClientDisconnected(Exception):
    """The client went away while its request body was being forwarded."""


class UpstreamFailed(Exception):
    """The upstream could not be reached, or failed or stalled before its answer was all in.

    Raised through the filters to the proxy around them, which answers with
    ``status`` (502, or 504 for a stall) while nothing has gone to the client.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def header(scope: Scope, name: bytes) -> bytes | None:
    """The first value of a request header in an ASGI scope."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value)
    return None


def raw_path(scope: Scope) -> bytes:
    """The request's path as the client sent it; from a server that gives no
    ``raw_path``, the decoded path escaped again."""
    raw = scope.get("raw_path")
    if raw:
        return bytes(raw)
    return quote(scope["path"], safe=PATH_CHARACTERS).encode("ascii")


def max_forwards(scope: Scope) -> int | None:
    """The Max-Forwards of a TRACE or OPTIONS request; None for other methods (RFC 9110
    section 7.6.2 concerns these two only), or when there is none or it is no number."""
    if scope["method"] not in ("TRACE", "OPTIONS"):
        return None
    value = header(scope, b"max-forwards")
    if value is None or not value.strip().isdigit():
        return None
    return int(value)


def request_host(scope: Scope) -> bytes | None:
    """The host (and port) the client asked the proxy for: the authority of a target in
    absolute-form, which stands for the Host field (RFC 9112 section 3.2.2), else the Host field."""
    authority = target_authority(raw_path(scope))
    return authority if authority is not None else header(scope, b"host")


def client_origin(scope: Scope) -> str:
    """``scheme://host[:port]`` as the client addressed the proxy."""
    host = request_host(scope)
    if not host:
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


def _dated(send: Send) -> Send:
    """``send`` giving each response a Date when it has none: the upstream's goes through,
    and the proxy has a clock (RFC 9110 section 6.6.1: a recipient forwarding a response
    without one appends it; the proxy's own answers and the filters' have one too)."""

    async def dated(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", ()))
            if not any(bytes(name).lower() == b"date" for name, _ in headers):
                now = email.utils.formatdate(usegmt=True).encode("ascii")
                message = {**message, "headers": [*headers, (b"date", now)]}
        await send(message)

    return dated


class ReverseProxy:
    """An ASGI app that forwards HTTP requests to ``upstream`` through ``filters``
    (the first innermost) and streams the responses back.

    The path and query go upstream as the client sent them, under the
    upstream's path; hop-by-hop headers are dropped both ways, Host is the
    upstream's, Via and X-Forwarded-For/-Proto/-Host are added; Location and
    Set-Cookie that name the upstream are rewritten to the proxy. An
    unreachable upstream is a 502, one that does not answer within ``timeout``
    a 504, as long as nothing of the response has gone out. WebSockets are refused.
    """

    def __init__(
        self,
        upstream: str | Upstream,
        *,
        filters: Iterable[Filter] = (),
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.AsyncClient | None = None,
    ):
        import httpx

        self.upstream = upstream if isinstance(upstream, Upstream) else Upstream(upstream)
        self.timeout = timeout
        if client is None:
            client = httpx.AsyncClient(
                timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                # As many upstream connections as requests: a pool's cap would make requests
                # wait behind long streams, and read as a silent upstream (a false 504). None
                # kept for another request: bytes an upstream sent past a response's end (a
                # HEAD's or 304's body) would be read as the next client's response.
                limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
                follow_redirects=False,
                trust_env=False,
                # The certificates the OpenSSL variables name are trusted (an upstream behind a
                # private authority), though trust_env keeps the HTTP_PROXY-style ones ignored.
                verify=upstream_trust(),
                # Cookies belong to the proxy's clients: keep none of them here.
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            )
        self.client = client
        app: Any = self._forward
        for flt in filters:
            app = hosts.wrap(flt, app, "asgi")
        #: The forwarding, wrapped in the filters.
        self.app = app

    async def aclose(self) -> None:
        """Close the connections to the upstream."""
        await self.client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, _dated(send))
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

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a request the proxy does not forward; forward the others through the filters.

        An upstream failure becomes the proxy's error page while nothing has
        gone to the client (a page the filters hold is not out yet); once the
        response has started, all that is left is to end it early.
        """
        refused = refusal(scope)
        if refused is None and _head_size(scope) > MAX_HEAD:
            # h11 measures a head only while it is incomplete: one that came whole in one read is measured here.
            refused = 400, f"the request's head is longer than {MAX_HEAD // 1024} KiB"
        if refused is not None:
            await error_page(send, *refused, close=True)
            return
        if scope["method"] == "CONNECT":
            message = "the proxy opens no tunnels: CONNECT is not forwarded (RFC 9110 section 9.3.6)"
            await error_page(send, 405, message, headers=((b"allow", ALLOW),))
            return
        try:
            self.upstream.target(scope["method"], raw_path(scope), scope.get("query_string", b""))
        except BadTarget as exc:
            await error_page(send, 400, str(exc))
            return
        if max_forwards(scope) == 0:
            await self._answer_as_final_recipient(scope, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        scope[_UNFILTERED_SEND] = watched  # for a response the filters must not see (_relay)
        try:
            await self.app(scope, receive, watched)
        except UpstreamFailed as exc:
            log.warning("%s", exc)
            if not started:
                await error_page(send, exc.status, str(exc))

    async def _answer_as_final_recipient(self, scope: Scope, send: Send) -> None:
        """Answer a TRACE or OPTIONS whose Max-Forwards is 0, as RFC 9110 section 7.6.2 has an
        intermediary do: OPTIONS with the methods the proxy forwards, TRACE with the request
        as received (section 9.3.8), less the fields that carry credentials."""
        if scope["method"] == "OPTIONS":
            await respond(send, 200, [(b"allow", ALLOW)], b"")
            return
        query = scope.get("query_string", b"")
        target = raw_path(scope) + (b"?" + query if query else b"")
        lines = [b"TRACE " + target + b" HTTP/" + str(scope.get("http_version", "1.1")).encode("latin-1")]
        lines += [bytes(name) + b": " + bytes(value) for name, value in scope.get("headers", ()) if name.lower() not in SENSITIVE]
        await respond(send, 200, [(b"content-type", b"message/http")], b"\r\n".join(lines) + b"\r\n\r\n")

    def request_headers(self, scope: Scope) -> list[tuple[bytes, bytes]]:
        """The headers to send upstream for a request to the proxy."""
        pairs = scope.get("headers", ())
        hops = max_forwards(scope)
        connection = hop_by_hop(pairs)
        dropped = connection | REPLACED | UNVOUCHED | (frozenset() if hops is None else {b"max-forwards"})
        if any(name.lower() == b"transfer-encoding" for name, _ in pairs):
            dropped |= {b"content-length"}  # RFC 9112 section 6.1: the chunks say the length

        def received(field: bytes) -> list[bytes]:
            """The values of a field the proxy adds to, unless Connection names it (then it is this hop's only)."""
            return [] if field in connection else [bytes(value) for name, value in pairs if name.lower() == field]

        headers = [(bytes(name), bytes(value)) for name, value in pairs if name.lower() not in dropped]
        forwarded = received(b"x-forwarded-for")
        client = scope.get("client")
        if client:
            forwarded.append(str(client[0]).encode("latin-1"))
        headers.append((b"host", self.upstream.netloc.encode("latin-1")))
        # RFC 9110 section 7.6.3: a gateway MUST send Via in each inbound request, naming
        # the protocol the request came in with; section 7.6.2: one hop less to go.
        via = received(b"via")
        via.append(f"{scope.get('http_version', '1.1')} {VIA_NAME}".encode("latin-1"))
        headers.append((b"via", b", ".join(via)))
        if hops is not None:
            headers.append((b"max-forwards", str(hops - 1).encode("ascii")))
        if forwarded:
            headers.append((b"x-forwarded-for", b", ".join(forwarded)))
        headers.append((b"x-forwarded-proto", str(scope.get("scheme", "http")).encode("latin-1")))
        host = request_host(scope)
        if host:
            headers.append((b"x-forwarded-host", host))
        return headers

    def response_headers(self, scope: Scope, raw: list[tuple[bytes, bytes]], status: int = 200) -> list[tuple[bytes, bytes]]:
        """The upstream's response headers as the client of the proxy must get them."""
        dropped = hop_by_hop(raw)
        if status in (204, 304) or any(name.lower() == b"transfer-encoding" for name, _ in raw):
            # RFC 9112 section 6.3: the body's length is its chunks', whatever a Content-Length
            # says; a 204 or 304 has none (servers refuse to send one with a length of more).
            dropped |= {b"content-length"}
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

    async def _forward(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send the request upstream and its answer on (the app the filters wrap);
        UpstreamFailed when the upstream cannot be reached, fails or stalls."""
        import httpx

        path = raw_path(scope)
        target = self.upstream.target(scope["method"], path, scope.get("query_string", b""))
        what = f"{scope['method']} {path.decode('latin-1')}"
        has_body = any(name in (b"content-length", b"transfer-encoding") for name, _ in scope.get("headers", ()))
        try:
            request = httpx.Request(
                scope["method"],
                self.upstream.origin,
                headers=self.request_headers(scope),
                content=request_body(receive) if has_body else None,
                # httpcore sends this target as it is, where httpx would normalise the URL's path.
                extensions={"target": target},
            )
            response = await self.client.send(request, stream=True, follow_redirects=False)
        except ClientDisconnected:
            return
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if isinstance(exc.__context__, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
                reason = f"TLS with {self.upstream.url} failed for {what}: {_reason(exc)} (see SSL_CERT_FILE in docs/cli.md)"
                raise UpstreamFailed(502, reason) from exc
            raise UpstreamFailed(502, f"cannot reach {self.upstream.url} for {what}: {_reason(exc)}") from exc
        except httpx.TimeoutException as exc:
            raise UpstreamFailed(504, f"{self.upstream.url} did not answer {what} within {self.timeout:g} s") from exc
        except (httpx.TransportError, httpx.InvalidURL) as exc:
            raise UpstreamFailed(502, f"{self.upstream.url} failed on {what}: {_reason(exc)}") from exc
        failure = None
        try:
            # The request body has gone upstream: what receive() says now is whether the client left.
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_cancel_on_disconnect, receive, tasks.cancel_scope)
                failure = await self._relay(scope, response, send, what)
                tasks.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
        if failure is not None:
            raise failure  # out of the task group, which would wrap it in an exception group

    async def _relay(self, scope: Scope, response: httpx.Response, send: Send, what: str) -> UpstreamFailed | None:
        """Send the upstream's response on, its body chunk by chunk as it comes, undecoded;
        how the upstream failed if it stalled or broke off before the end."""
        import httpx

        headers = self.response_headers(scope, response.headers.raw, response.status_code)
        if _no_transform(headers):
            # An intermediary must not transform such content (RFC 9111 section 5.2.2.6):
            # it goes to the client past the filters, as the upstream sent it.
            send = scope.get(_UNFILTERED_SEND, send)
        await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
        try:
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except httpx.TimeoutException:
            return UpstreamFailed(504, f"{self.upstream.url} stalled for {self.timeout:g} s in its answer to {what}")
        except httpx.TransportError as exc:
            return UpstreamFailed(502, f"{self.upstream.url} broke off its answer to {what}: {_reason(exc)}")
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return None


#: The scope key of the proxy's own ``send``, past the filters (the filters hand the app the
#: server's scope, and a copy of it when they ask again).
_UNFILTERED_SEND = "dualfilter.proxy.unfiltered_send"


def _no_transform(headers: Iterable[tuple[bytes, bytes]]) -> bool:
    """Whether Cache-Control holds the ``no-transform`` directive."""
    for name, value in headers:
        if name.lower() == b"cache-control" and any(
            directive.split(b"=", 1)[0].strip().lower() == b"no-transform" for directive in value.split(b",")
        ):
            return True
    return False


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


async def _cancel_on_disconnect(receive: Receive, scope: anyio.CancelScope) -> None:
    """Cancel ``scope`` when the client goes away, so an endless upstream stream is not read for nobody."""
    while (await receive())["type"] != "http.disconnect":
        pass
    scope.cancel()


def upstream_trust() -> ssl.SSLContext:
    """The TLS context for the upstream: the system's certificates, and those the
    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` environment variables name, as OpenSSL reads them."""
    context = ssl.create_default_context()
    cafile, capath = os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR")
    if cafile or capath:
        context.load_verify_locations(cafile=cafile or None, capath=capath or None)
    return context


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


#: The most a request's head (request line and header fields) may grow to, in bytes, before it is whole.
MAX_HEAD = 64 * 1024


def _head_size(scope: Scope) -> int:
    """About the bytes of a request's head: its request line and header field lines."""
    size = len(scope["method"]) + len(raw_path(scope)) + len(scope.get("query_string", b"")) + 12
    for name, value in scope.get("headers", ()):
        size += len(name) + len(value) + 4
    return size


#: How uvicorn serves the proxy.
SERVER_CONFIG: dict[str, Any] = {
    "lifespan": "on",
    # Requests are read with h11, whatever else is installed: it bounds a request's head
    # (httptools holds one of any size) and frames responses to HTTP/1.0 clients by closing
    # the connection (httptools sends them chunks, which HTTP/1.0 does not have).
    "http": "h11",
    "h11_max_incomplete_event_size": MAX_HEAD,
    # The upstream's Server and Date headers go through; uvicorn adds none of its own
    # (the proxy adds a Date where the upstream sent none).
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
    app = ReverseProxy(upstream, filters=[flt for _, flt in filters], timeout=args.timeout)
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
