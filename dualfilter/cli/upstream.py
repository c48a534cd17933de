"""The server behind ``dualfilter proxy``: its URL, and what maps onto it —
request targets (byte for byte, never above its path), Location headers and
cookies' Domain and Path."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, quote, urlsplit, urlunsplit

from .framing import valid_host

DEFAULT_PORTS = {"http": 80, "https": 443}
#: What a server behind may take for a path separator besides ``/``: an escaped slash, a backslash.
_SEPARATORS = re.compile(rb"%2f|%5c|\\", re.IGNORECASE)
#: The characters of a path (RFC 3986 pchar and ``/``) besides letters, digits and ``_.-~``.
PATH_CHARACTERS = "/!$&'()*+,;=:@"


def climbs(path: bytes) -> bool:
    """Whether the dot-segments of ``path`` take it above the root it is appended to.

    Read as leniently as any server behind the proxy might read it, so that none
    of them resolves it outside the upstream's prefix: ``%2e`` is a dot, ``%2f``
    and backslashes separate segments, ``;parameters`` are ignored (``..;``), and
    empty segments count for nothing (``//`` may be merged).
    """
    depth = 0
    for segment in _SEPARATORS.sub(b"/", path).split(b"/"):
        name = segment.split(b";", 1)[0].lower().replace(b"%2e", b".")
        if name == b"..":
            depth -= 1
            if depth < 0:
                return True
        elif name not in (b"", b"."):
            depth += 1
    return False


class BadTarget(ValueError):
    """A request target the proxy does not forward (the client gets a 400 saying why)."""


class Upstream:
    """The server behind the proxy: its origin, and the path prefix the proxy's paths map under."""

    def __init__(self, url: str) -> None:
        try:
            parts = urlsplit(url.strip())
        except ValueError as exc:  # "Invalid IPv6 URL"
            raise ValueError(f"{url!r} is not a valid URL: {exc}") from None
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
        #: The prefix as it begins request targets upstream (escapes kept, anything else escaped).
        self.raw_prefix = quote(self.prefix, safe=PATH_CHARACTERS + "%").encode("ascii")
        self.url = f"{self.scheme}://{self.netloc}{self.prefix}"
        #: The URL requests are sent to; the request target itself is given apart, byte for byte.
        self.origin = f"{self.scheme}://{self.netloc}/"

    def target(self, method: str, raw_path: bytes, query: bytes) -> bytes:
        """The request target to send upstream for a request to the proxy: its path and query
        exactly as the client sent them (RFC 9110 section 7.7), after the prefix.

        ``OPTIONS *`` (about the server as a whole) stays ``*``, or with a prefix asks
        about the prefix itself, all the proxy stands for. BadTarget for a target that
        is no path, whose absolute-form names no host, or whose dot-segments would climb
        out of the prefix: the proxy must never let a request reach the upstream outside
        the part it serves.
        """
        if raw_path == b"*" and method == "OPTIONS" and not query:
            return self.raw_prefix or b"*"
        authority = target_authority(raw_path)
        if authority is not None and not valid_host(authority):
            raise BadTarget(f"the request target's host {authority.decode('latin-1')!r} is not a host and port")
        raw_path = origin_form(raw_path)
        shown = raw_path.decode("latin-1")
        if not raw_path.startswith(b"/"):
            raise BadTarget(f"the request target {shown!r} is not a path")
        if self.prefix and climbs(raw_path):
            raise BadTarget(f"the path {shown!r} climbs above the proxy's root")
        return self.raw_prefix + raw_path + (b"?" + query if query else b"")

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
        try:
            parts = urlsplit(location)
            parts.port  # noqa: B018 - read for its ValueError: an invalid port is no URL of the upstream's
        except ValueError:
            return location  # no URL: nothing to map (left alone, as a Location elsewhere is)
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


def _absolute_form(raw_path: bytes) -> tuple[bytes, bytes] | None:
    """The authority and the rest of a request target in absolute-form (``http://host/x?q``),
    None for any other form."""
    lowered = raw_path[:8].lower()
    if not (lowered.startswith(b"http://") or lowered.startswith(b"https://")):
        return None
    rest = raw_path.split(b"://", 1)[1]
    end = min((i for i in (rest.find(b"/"), rest.find(b"?")) if i >= 0), default=len(rest))
    return rest[:end], rest[end:]


def origin_form(raw_path: bytes) -> bytes:
    """A request target in absolute-form (``http://host/x``, which a server must take,
    RFC 9112 section 3.2.2; uvicorn's h11 protocol hands it on as it came) as its path:
    the authority is the proxy's to answer for, the path and query go upstream."""
    parts = _absolute_form(raw_path)
    if parts is None:
        return raw_path
    return parts[1] if parts[1].startswith(b"/") else b"/"


def target_authority(raw_path: bytes) -> bytes | None:
    """The host (and port) a request target in absolute-form names, which stands for the
    request's Host (RFC 9112 section 3.2.2); None for a target in any other form."""
    parts = _absolute_form(raw_path)
    return None if parts is None else parts[0]
