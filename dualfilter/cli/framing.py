"""What ``serve`` and ``proxy`` refuse of a request before any app or upstream sees it.

uvicorn reads requests with h11 or with httptools, whichever is installed,
and each lets through something RFC 9112 has a server refuse: h11 reads a
request with both ``Transfer-Encoding`` and ``Content-Length`` by its chunks
and keeps the connection for the next request (the bytes a front server
counted as this body), httptools passes ``Transfer-Encoding: gzip, chunked``
with the body still gzip-coded, a second ``Host`` or none at all. ``Guard``
answers such a request itself and closes the connection, whichever parser
read it.
"""

from __future__ import annotations

import re
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..asgi.types import Receive, Scope, Send

#: ``uri-host [ ":" port ]`` (RFC 9110 section 7.2, RFC 3986 section 3.2.2): an IP literal or a
#: reg-name (which an IPv4 address also reads as), then an optional port.
_HOST = re.compile(rb"(?:\[[0-9A-Za-z._~!$&'()*+,;=:%-]*\]|[0-9A-Za-z._~!$&'()*+,;=%-]*)(?::[0-9]*)?")


def valid_host(value: bytes) -> bool:
    """Whether ``value`` is a Host field's value: ``uri-host [ ":" port ]``."""
    return _HOST.fullmatch(value) is not None


def refusal(scope: Scope) -> tuple[int, str] | None:
    """The status and reason a server must answer ``scope`` with itself, or None to pass it on."""
    codings: list[bytes] = []
    coded = lengthed = False
    hosts: list[bytes] = []
    for name, value in scope.get("headers", ()):
        lowered = name.lower()
        if lowered == b"transfer-encoding":
            coded = True
            codings += (coding.strip().lower() for coding in bytes(value).split(b",") if coding.strip())
        elif lowered == b"content-length":
            lengthed = True
        elif lowered == b"host":
            hosts.append(bytes(value))
    if coded and scope.get("http_version") == "1.0":
        return 400, "an HTTP/1.0 request has no Transfer-Encoding (RFC 9112 section 6.1)"
    if coded and lengthed:
        return 400, "the request has both Transfer-Encoding and Content-Length (RFC 9112 section 6.1)"
    if coded and codings != [b"chunked"]:
        shown = ", ".join(coding.decode("latin-1") for coding in codings)
        return 501, f"the transfer coding {shown!r} is not supported, only chunked (RFC 9112 section 6.1)"
    if len(hosts) > 1:
        return 400, "the request has more than one Host field (RFC 9112 section 3.2)"
    if not hosts and scope.get("http_version") == "1.1":
        return 400, "an HTTP/1.1 request needs a Host field (RFC 9112 section 3.2)"
    if hosts and not valid_host(hosts[0]):
        return 400, f"the Host field {hosts[0].decode('latin-1')!r} is not a host and port (RFC 9112 section 3.2)"
    return None


async def respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    """Send a whole response that the command itself makes."""
    headers = [*headers, (b"content-length", str(len(body)).encode("ascii"))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def error_page(
    send: Send, status: int, message: str, *, close: bool = False, headers: tuple[tuple[bytes, bytes], ...] = ()
) -> None:
    """The command's one-line error page, ``<status> <reason>: <message>``, with ``headers``;
    with ``close``, the connection closes after it (nothing more is read from it)."""
    body = f"{status} {HTTPStatus(status).phrase}: {message}\n".encode()
    headers = ((b"content-type", b"text/plain; charset=utf-8"), *headers)
    if close:
        headers = (*headers, (b"connection", b"close"))
    await respond(send, status, list(headers), body)


class Guard:
    """An ASGI app that answers the requests ``refusal`` names itself, closing their
    connections, and hands every other request (and every other scope) to ``app``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            refused = refusal(scope)
            if refused is not None:
                await error_page(send, *refused, close=True)
                return
        await self.app(scope, receive, send)
