"""The request a test sends through the doubles: one small description, and the server variables IIS derives from it.

:class:`Request` is what both doubles are built from: :class:`~.ecb.FakeECB`
for an extension, and the site behind :class:`~.filter_host.FakeConnection`
for a filter. :func:`server_variable` looks a variable up as
``GetServerVariable`` does on both objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from ..constants import ERROR_INVALID_INDEX
from ..wire import str_arg

__all__ = ["Request", "READ_AHEAD", "server_bytes", "server_variable"]

#: IIS's default upload read-ahead: the most a request body has in AvailableData.
READ_AHEAD = 49152
#: Marks "no default given" in GetServerVariable-like lookups.
NO_DEFAULT: Any = object()


def server_bytes(value: str) -> bytes:
    """A variable's non-UNICODE_ form: IIS converts to its ANSI code page (latin-1 here)."""
    return value.encode("latin-1", "replace")


@dataclass(frozen=True)
class Request:
    """One HTTP request as IIS receives it.

    ``path`` is the decoded URL path and ``headers`` the request headers as
    ``str`` pairs; the request is for an extension mapped to ``*`` in the IIS
    application at ``app_path`` (``''`` for the site root) unless
    ``script_name`` names the script the URL maps to. At most ``available``
    bytes of ``body`` arrive in ``AvailableData``; ``chunked`` makes the
    body's length unknown (sent with ``Transfer-Encoding: chunked``).
    ``variables`` adds or overrides server variables.
    """

    method: str = "GET"
    path: str = "/"
    query_string: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    https: bool = False
    server_name: str = "localhost"
    server_port: int | None = None
    remote_addr: str = "127.0.0.1"
    app_path: str = ""
    script_name: str | None = None
    available: int = READ_AHEAD
    chunked: bool = False
    variables: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", tuple((str(k), str(v)) for k, v in self.headers))

    def changed(self, **changes: Any) -> Request:
        """A copy with ``changes`` (as a PREPROC_HEADERS filter makes them)."""
        return replace(self, **changes)

    @property
    def port(self) -> int:
        return self.server_port if self.server_port is not None else (443 if self.https else 80)

    def header_list(self) -> list[tuple[str, str]]:
        """The headers as the client sent them: with ``Host``, and ``Content-Length`` or
        ``Transfer-Encoding: chunked`` for a body, when the description leaves them out."""
        headers = list(self.headers)
        names = {name.lower() for name, _ in headers}
        if "host" not in names:
            default_port = self.port == (443 if self.https else 80)
            headers.insert(0, ("Host", self.server_name if default_port else f"{self.server_name}:{self.port}"))
        if self.chunked:
            if "transfer-encoding" not in names:
                headers.append(("Transfer-Encoding", "chunked"))
        elif self.body and "content-length" not in names:
            headers.append(("Content-Length", str(len(self.body))))
        return headers

    def server_variables(self) -> dict[str, str]:
        """The server variables IIS gives for this request (upper-case names)."""
        headers = self.header_list()
        content_type = next((value for name, value in headers if name.lower() == "content-type"), "")
        physical = "C:\\inetpub\\wwwroot" + self.app_path.replace("/", "\\")
        path = self.path
        script = self.script_name if self.script_name is not None else path
        variables = {
            "REQUEST_METHOD": self.method,
            "QUERY_STRING": self.query_string,
            "URL": path,
            "PATH_INFO": path,
            "SCRIPT_NAME": script,
            "PATH_TRANSLATED": physical + path[len(self.app_path) :].replace("/", "\\"),
            "APPL_MD_PATH": "/LM/W3SVC/1/ROOT" + self.app_path,
            "APPL_PHYSICAL_PATH": physical + "\\",
            "SERVER_NAME": self.server_name,
            "SERVER_PORT": str(self.port),
            "SERVER_PORT_SECURE": "1" if self.https else "0",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": "Microsoft-IIS/10.0",
            "HTTPS": "on" if self.https else "off",
            "REMOTE_ADDR": self.remote_addr,
            "REMOTE_HOST": self.remote_addr,
            "REMOTE_USER": "",
            "AUTH_TYPE": "",
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": "" if self.chunked else str(len(self.body)),
        }
        variables.update(header_variables(headers))
        for name, value in self.variables.items():
            variables[name.upper()] = value
        return variables


def header_variables(headers: list[tuple[str, str]]) -> dict[str, str]:
    """``HTTP_*``, ``HEADER_*``, ``ALL_HTTP`` and ``ALL_RAW`` for ``headers``."""
    combined: dict[str, list[str]] = {}
    names: dict[str, str] = {}
    for name, value in headers:
        combined.setdefault(name.lower(), []).append(value)
        names.setdefault(name.lower(), name)
    variables: dict[str, str] = {}
    all_http = []
    for lowered, values in combined.items():
        value = ", ".join(values)
        key = "HTTP_" + lowered.upper().replace("-", "_")
        variables[key] = value
        variables["HEADER_" + names[lowered].upper()] = value
        all_http.append(f"{key}:{value}\n")
    variables["ALL_HTTP"] = "".join(all_http)
    variables["ALL_RAW"] = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return variables


#: The most pywin32's ``GetServerVariable`` reads: IIS's size of the value, its
#: terminating NUL counted, must fit 16 KiB (8 KiB, then once 16 KiB).
VARIABLE_LIMIT = 16384


def server_variable(variables: dict[str, str], name: str, default: Any, error: type[Exception]) -> Any:
    """``GetServerVariable``: bytes (str for ``UNICODE_`` names); ``default``, or ``error`` if unknown
    (a ``UNICODE_`` form of a request header's variable is unknown to IIS).

    A longer value than :data:`VARIABLE_LIMIT` raises MemoryError, default or not, as
    pywin32 does: its second try at a bigger buffer sets the size to 0 on failure
    (``CControlBlock``/``CFilterContext::GetServerVariable``), so the third reallocates
    to nothing and it reports no memory."""
    str_arg(name, "GetServerVariable")
    # pywin32 returns a str only for a name spelled with "UNICODE_" (a case-sensitive strncmp);
    # IIS has no UNICODE_ form of a request header's variable (HTTP_*, HEADER_*).
    unicode = name.startswith("UNICODE_")
    upper = name[len("UNICODE_") :].upper() if unicode else name.upper()
    value = None if unicode and upper.startswith(("HTTP_", "HEADER_")) else variables.get(upper)
    if value is None:
        if default is NO_DEFAULT:
            raise error(ERROR_INVALID_INDEX, None, "GetServerVariable")
        return default
    result = value if unicode else server_bytes(value)
    size = len(value.encode("utf-16-le", "surrogatepass")) + 2 if unicode else len(result) + 1
    if size > VARIABLE_LIMIT:
        raise MemoryError()
    return result
