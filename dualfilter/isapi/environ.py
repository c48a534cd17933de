"""A WSGI-style environ built from an ECB's server variables.

The filter's ``environ`` under ISAPI (a :class:`ServerEnviron`, built on first
use so a response that passes through never pays for it) and the request
``WSGIExtension`` hands a WSGI app both come from here. Paths (SCRIPT_NAME,
PATH_INFO, and APPL_MD_PATH, which names the application) come from the
``UNICODE_`` variables (IIS decodes the URL as UTF-8), are split as text and
re-encoded the PEP 3333 way; headers come from ``ALL_HTTP`` (but those whose
names hold an underscore, which ``ALL_RAW`` tells), or, when it is longer than
pywin32 reads of a server variable, one by one (see :func:`request_headers`). For a ``*``
script map IIS reports the whole path as both SCRIPT_NAME and PATH_INFO, so
the application root (from APPL_MD_PATH) becomes SCRIPT_NAME and the rest
PATH_INFO; IIS finds the application whatever the case of the URL, so the
root is matched without regard to case and SCRIPT_NAME spelt as the request
spells it.
"""

from __future__ import annotations

import logging
from typing import Any

from ..environ import LazyEnviron
from ..request_policy import environ_key
from .constants import UNKNOWN_TOTAL_BYTES

log = logging.getLogger("dualfilter")

#: CGI variables copied as they are when the server has them.
PLAIN_VARIABLES = ("SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SOFTWARE", "REMOTE_ADDR", "REMOTE_HOST")
#: CGI variables copied only when not empty.
OPTIONAL_VARIABLES = ("REMOTE_USER", "AUTH_TYPE")
#: ``ALL_HTTP`` entries that are CONTENT_TYPE / CONTENT_LENGTH in a WSGI environ.
BODY_HTTP_KEYS = frozenset({"HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"})
#: The request headers read one by one when ``ALL_HTTP`` is too long for pywin32: those the
#: HTTP rules read (ranges, conditions, Host) and those filters commonly read.
KNOWN_HEADER_KEYS = tuple(
    environ_key(name)
    for name in (
        "Host", "Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since",
        "Accept", "Accept-Charset", "Accept-Encoding", "Accept-Language", "Authorization", "Cache-Control",
        "Connection", "Cookie", "Forwarded", "Origin", "Pragma", "Referer", "TE", "Upgrade", "User-Agent", "Via",
        "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Requested-With",
        "Sec-Fetch-Dest", "Sec-Fetch-Mode", "Sec-Fetch-Site",
    )
)  # fmt: skip


class HeadersTooLong(Exception):
    """The request's headers are longer than pywin32 reads of a server variable."""


def total_bytes(ecb: Any) -> int | None:
    """The request body's length from ``ecb.TotalBytes``, or None if it is unknown (a chunked
    upload). pywin32 reads the DWORD as a signed 32-bit int, so IIS's 0xFFFFFFFF arrives as -1
    (and a body over 2 GiB as a negative number): the value is taken modulo 2**32."""
    total = ecb.TotalBytes & UNKNOWN_TOTAL_BYTES
    return None if total == UNKNOWN_TOTAL_BYTES else total


def _variable(ecb: Any, name: str, default: str = "") -> str:
    value = ecb.GetServerVariable(name, None)
    return default if value is None else value.decode("latin-1")


def _path_text(ecb: Any, name: str) -> str:
    """A path variable as text: its ``UNICODE_`` form (a str); where IIS has none (IIS 5), its
    bytes read as UTF-8, any byte that is not escaped, so :func:`wsgi_string` gives it back as sent."""
    value = ecb.GetServerVariable("UNICODE_" + name, None)
    if value is None:
        raw = ecb.GetServerVariable(name, None)
        return "" if raw is None else bytes(raw).decode("utf-8", "surrogateescape")
    return str(value)


def wsgi_string(text: str) -> str:
    """``text`` as a PEP 3333 native string: its UTF-8 bytes read as latin-1."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def application_root(appl_md_path: str) -> str:
    """``'/LM/W3SVC/1/ROOT/app'`` -> ``'/app'``; ``''`` for an application at the site root."""
    at = appl_md_path.upper().find("/ROOT")
    return appl_md_path[at + len("/ROOT") :].rstrip("/") if at >= 0 else ""


def split_path(script_name: str, path_info: str, root: str, *, wildcard: bool = True) -> tuple[str, str]:
    """SCRIPT_NAME and PATH_INFO such that they add up to the request path.

    IIS gives the whole path as PATH_INFO, and as SCRIPT_NAME the script the URL maps to:
    the whole path too under a ``*`` map (``wildcard``), where the application ``root``
    is SCRIPT_NAME instead. IIS matches paths without regard to case, so the prefix is
    compared so and SCRIPT_NAME is taken from the request's own spelling of it.
    """
    if wildcard and script_name == path_info:  # the extension serves its whole application
        script_name = root
    size = len(script_name)
    if size and path_info[:size].lower() == script_name.lower() and path_info[size : size + 1] in ("", "/"):
        return path_info[:size], path_info[size:]
    return script_name, path_info


def parse_all_http(all_http: str) -> dict[str, str]:
    """``'HTTP_HOST:example.org\\nHTTP_ACCEPT:*/*\\n'`` as environ entries."""
    entries: dict[str, str] = {}
    for line in all_http.split("\n"):
        key, colon, value = line.rstrip("\r").partition(":")
        if colon and key.startswith("HTTP_") and key not in BODY_HTTP_KEYS:
            entries[key] = value.strip()
    return entries


def server_environ(ecb: Any, *, wildcard: bool = True, whole: bool = False) -> dict[str, Any]:
    """The CGI part of a WSGI environ for the request ``ecb`` carries, plus ``isapi.ecb``
    (``wildcard``: the extension is mapped to ``*``, see :func:`split_path`; ``whole``:
    see :func:`request_headers`)."""
    script_name, path_info = split_path(
        _path_text(ecb, "SCRIPT_NAME"),
        _path_text(ecb, "PATH_INFO"),
        application_root(_path_text(ecb, "APPL_MD_PATH")),
        wildcard=wildcard,
    )
    https = _variable(ecb, "HTTPS", "off").lower() == "on"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": ecb.Method.decode("latin-1"),
        "SCRIPT_NAME": wsgi_string(script_name),
        "PATH_INFO": wsgi_string(path_info),
        "QUERY_STRING": ecb.QueryString.decode("latin-1"),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTPS": "on" if https else "off",
        "wsgi.url_scheme": "https" if https else "http",
        "isapi.ecb": ecb,
    }
    for name in PLAIN_VARIABLES:
        value = ecb.GetServerVariable(name, None)
        if value is not None:
            environ[name] = value.decode("latin-1")
    for name in OPTIONAL_VARIABLES:
        value = _variable(ecb, name)
        if value:
            environ[name] = value
    content_type = ecb.ContentType.decode("latin-1")
    if content_type:
        environ["CONTENT_TYPE"] = content_type
    total = total_bytes(ecb)
    if total:
        environ["CONTENT_LENGTH"] = str(total)
    environ.update(request_headers(ecb, whole=whole))
    return environ


def request_headers(ecb: Any, *, whole: bool = False) -> dict[str, str]:
    """The request's headers as environ entries, from ``ALL_HTTP``.

    pywin32 reads at most 16 KiB of a server variable, its terminating NUL counted, and
    raises MemoryError for a longer one, default or not (``GetServerVariable`` grows its
    buffer once to 16 KiB; the failed try sets the size to 0, and the next reallocation
    to nothing reports no memory). IIS lets a site take longer headers (large cookies,
    Kerberos tokens). Then, with ``whole``, :class:`HeadersTooLong` is raised (an app
    must not be shown a request without some of its headers); else the headers of
    :data:`KNOWN_HEADER_KEYS` are read one by one, each that pywin32 can read, and a
    warning says so.
    """
    try:
        return _dashed_only(parse_all_http(_variable(ecb, "ALL_HTTP")), ecb)
    except MemoryError:
        if whole:
            raise HeadersTooLong("the request's headers are longer than pywin32 reads (16 KiB)") from None
    log.warning("the request's headers are longer than pywin32 reads (16 KiB): only those read one by one are seen")
    entries: dict[str, str] = {}
    for key in KNOWN_HEADER_KEYS:
        try:
            value = ecb.GetServerVariable(key, None)
        except MemoryError:  # this header alone is too long to read
            continue
        if value is not None:
            entries[key] = value.decode("latin-1")
    return entries


def _dashed_only(entries: dict[str, str], ecb: Any) -> dict[str, str]:
    """``entries`` without the headers whose names hold an underscore. ``ALL_HTTP`` names
    ``X_User`` and ``X-User`` alike (``HTTP_X_USER``), so a client could set the header a
    front end vouches for by spelling it with underscores: such headers are dropped, as
    gunicorn, Apache and nginx drop them, and a key both spellings share gets the dashed
    one's value. The names as the client sent them are in ``ALL_RAW``."""
    try:
        raw = ecb.GetServerVariable("ALL_RAW", None)
    except MemoryError:  # a little longer than ALL_HTTP, past what pywin32 reads: names not told
        return entries
    if not raw or b"_" not in raw:
        return entries
    dashed: dict[str, list[str]] = {}
    underscored: set[str] = set()
    for line in bytes(raw).decode("latin-1").split("\n"):
        name, colon, value = line.rstrip("\r").partition(":")
        if not colon or name[:1] in (" ", "\t"):  # no field, or a folded line's rest
            continue
        key = environ_key(name.strip())
        if key in BODY_HTTP_KEYS:  # CONTENT_TYPE and CONTENT_LENGTH come from the ECB itself
            continue
        if "_" in name:
            underscored.add(key)
        else:
            dashed.setdefault(key, []).append(value.strip())
    for key in underscored:
        if key in dashed:
            entries[key] = ", ".join(dashed[key])
        else:
            entries.pop(key, None)
    return entries


class ServerEnviron(LazyEnviron):
    """The environ of an ISAPI request: :func:`server_environ` of ``ecb``, built when first read."""

    __slots__ = ("ecb",)

    def __init__(self, ecb: Any) -> None:
        super().__init__(ecb.Method.decode("latin-1"))
        self.ecb = ecb

    def build(self) -> dict[str, Any]:
        return server_environ(self.ecb)
