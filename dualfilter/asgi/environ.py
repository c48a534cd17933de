"""The WSGI-style ``environ`` a filter sees under ASGI, built from the scope.

It is built on first use only: a response that passes through never pays for
it. Keys follow PEP 3333 (path and header values as latin-1 ``str`` of the
request's bytes), with the scope itself under ``'asgi.scope'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote_to_bytes

from ..environ import LazyEnviron

#: Request headers that PEP 3333 puts in the environ without an ``HTTP_`` prefix.
_UNPREFIXED = {b"content-type": "CONTENT_TYPE", b"content-length": "CONTENT_LENGTH"}
_DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def _wsgi_str(text: str) -> str:
    """A decoded path as PEP 3333 wants it: its UTF-8 bytes read as latin-1."""
    return text.encode("utf-8").decode("latin-1") if not text.isascii() else text


def build_environ(scope: Mapping[str, Any]) -> dict[str, Any]:
    """A WSGI-style environ dict for an ASGI ``http`` scope (no ``wsgi.input``)."""
    scheme = scope.get("scheme") or "http"
    root_path = scope.get("root_path", "")
    path_info = _path_info(scope, root_path)
    server = scope.get("server")
    if not server:
        server_name, server_port = "localhost", _DEFAULT_PORTS.get(scheme, "80")
    elif server[1] is not None:
        server_name, server_port = str(server[0]), str(server[1])
    else:  # a unix socket ([path, None]): the Host the client asked for, as gunicorn does
        host = next((bytes(value).decode("latin-1") for name, value in scope.get("headers", ()) if name == b"host"), "")
        host_name, _, port = host.rpartition(":") if host.rpartition(":")[2].isdigit() else (host, "", "")
        server_name, server_port = host_name or "localhost", port or _DEFAULT_PORTS.get(scheme, "80")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.get("method", "GET"),
        "SCRIPT_NAME": _wsgi_str(root_path),
        "PATH_INFO": path_info,
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": "HTTP/" + scope.get("http_version", "1.1"),
        "wsgi.url_scheme": scheme,
        "asgi.scope": scope,
    }
    client = scope.get("client")
    if client:
        environ["REMOTE_ADDR"] = str(client[0])
        environ["REMOTE_PORT"] = str(client[1])
    for raw_name, raw_value in scope.get("headers", ()):
        name = bytes(raw_name).lower()
        value = bytes(raw_value).decode("latin-1")
        key = _UNPREFIXED.get(name) or "HTTP_" + name.decode("latin-1").upper().replace("-", "_")
        if key in environ:
            # Repeated headers fold into one value, cookies with their own separator.
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ


def _path_info(scope: Mapping[str, Any], root_path: str) -> str:
    """PATH_INFO as PEP 3333 has it: the request path's bytes (escapes decoded) as
    latin-1, less SCRIPT_NAME. From ``raw_path`` when the server gives it: ``path``
    is text, where bytes that are not UTF-8 are lost."""
    raw_path = scope.get("raw_path")
    if raw_path is not None:
        path = unquote_to_bytes(bytes(raw_path).partition(b"?")[0]).decode("latin-1")
        root = _wsgi_str(root_path)
    else:
        path, root = scope.get("path", "/"), root_path
    if root and (path == root or path.startswith(root + "/")):
        path = path[len(root) :]
    return path if raw_path is not None else _wsgi_str(path)


#: The request headers the core itself reads from every filtered response's
#: environ (ranges, validators), by key, with the name each is read from (lower
#: case, ``-`` as ``_``). None holds "SS", so no non-ASCII name maps to them
#: (only "ß".upper() turns latin-1 into ASCII): a byte comparison is exact.
_READ_WITHOUT_BUILDING = {
    "HTTP_RANGE": b"range",
    "HTTP_IF_RANGE": b"if_range",
    "HTTP_IF_NONE_MATCH": b"if_none_match",
    "HTTP_IF_MATCH": b"if_match",
}


#: The length of each of those names: most others are passed over by that test alone.
_SIZES = frozenset(len(name) for name in _READ_WITHOUT_BUILDING.values())
_KEY_OF = {name: key for key, name in _READ_WITHOUT_BUILDING.items()}


def _read_headers(scope: Mapping[str, Any]) -> dict[str, str]:
    """What build_environ would put under each key of ``_READ_WITHOUT_BUILDING``: the header's values, joined."""
    read: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", ()):
        if len(raw_name) in _SIZES:
            key = _KEY_OF.get(bytes(raw_name).lower().replace(b"-", b"_"))
            if key is not None:
                text = bytes(raw_value).decode("latin-1")
                read[key] = read[key] + "," + text if key in read else text
    return read


class ScopeEnviron(LazyEnviron):
    """The environ of an ASGI request: :func:`build_environ` of ``scope``, built when first read,
    with ``handed`` under ``'asgi.scope'`` when given: the scope the app's call was
    handed, live, so that what the app writes there (a router's ``path_params``,
    Starlette's ``state``) is read too.

    The few request headers the core reads on every filtered response are
    answered from the scope's headers without building the rest.
    """

    __slots__ = ("scope", "handed", "_read")

    def __init__(self, scope: Mapping[str, Any], handed: Mapping[str, Any] | None = None) -> None:
        # LazyEnviron.__init__, inline (one per request): the method known up front, nothing built.
        self.method = scope.get("method", "GET")
        self._data = None
        self.scope = scope
        self.handed = handed
        self._read: dict[str, str] | None = None  # those headers, read in one pass when first asked

    def hand(self, handed: Mapping[str, Any]) -> None:
        """The app is called again, with ``handed``: the scope read under ``'asgi.scope'`` from now on."""
        self.handed = handed
        if self._data is not None:
            self._data["asgi.scope"] = handed

    def get(self, key: str, default: Any = None) -> Any:
        if self._data is None:
            if key == "REQUEST_METHOD":
                return self.method
            if key in _READ_WITHOUT_BUILDING:
                read = self._read
                if read is None:
                    read = self._read = _read_headers(self.scope)
                return read.get(key, default)
        return self.data.get(key, default)

    def build(self) -> dict[str, Any]:
        environ = build_environ(self.scope)
        if self.handed is not None:
            environ["asgi.scope"] = self.handed
        return environ
