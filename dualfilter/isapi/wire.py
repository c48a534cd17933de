"""The shapes ISAPI calls take on the wire: argument conversion, header blocks, responses.

pywin32 parses ``WriteClient`` data and ``SendResponseHeaders`` strings with
the ``s#`` format (``str`` becomes UTF-8, read-only bytes-like objects pass as
they are) and names such as server variables with ``s`` (``str`` only). The
header string is ``Name: value\\r\\n`` lines ending with a blank line; anything
after the blank line is the start of the body. :func:`send_response` writes
the core's response events to an ECB, the one way every ISAPI adapter does it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ..events import Body, Event, ResponseStart
from ..http1 import header_block, parse_header_lines
from ..responses import status_line
from .constants import HSE_IO_SYNC

__all__ = [
    "send_response",
    "buffer_arg",
    "str_arg",
    "int_arg",
    "split_header_block",
    "parse_header_lines",
    "header_block",
    "status_text",
    "fit_description",
]


def buffer_arg(value: object, call: str) -> bytes:
    """``value`` as pywin32's ``s#`` sees it: str is UTF-8, read-only buffers are bytes."""
    if type(value) is bytes:
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return bytes(value)
    if isinstance(value, memoryview) and value.readonly:
        return value.tobytes()
    raise TypeError(f"{call}() argument must be str or read-only bytes-like object, not {type(value).__name__}")


def str_arg(value: object, call: str) -> str:
    """``value`` as pywin32's ``s`` format takes it: a str with no NUL character."""
    if not isinstance(value, str):
        raise TypeError(f"{call}() argument must be str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError("embedded null character")
    return value


def int_arg(value: object, call: str) -> int:
    """``value`` as pywin32's ``i`` / ``l`` formats take it: an int (bool included)."""
    if not isinstance(value, int):
        raise TypeError(f"{call}() argument must be int, not {type(value).__name__}")
    return value


def split_header_block(block: bytes) -> tuple[bytes, bytes]:
    """``(headers, body)``: the header lines, and what follows the blank line that ends them."""
    if block.startswith(b"\r\n"):
        return b"", block[2:]
    if block.startswith(b"\n"):
        return b"", block[1:]
    crlf, lf = block.find(b"\r\n\r\n"), block.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf < lf):
        return block[: crlf + 2], block[crlf + 4 :]
    if lf >= 0:
        return block[: lf + 1], block[lf + 2 :]
    return block, b""


def status_text(status: bytes) -> str:
    """A ``SendResponseHeaders`` status (``b'200 OK'``) as the str the core takes; ValueError if
    it does not start with a three-digit code."""
    text = status.decode("latin-1").strip()
    code = text.partition(" ")[0]
    if len(code) != 3 or not code.isdigit():
        raise ValueError(f"not an HTTP status: {text!r}")
    if _CONTROL.search(text):
        # IIS writes the status as it is: a CR or LF in it would start header lines of its own.
        raise ValueError(f"an HTTP status holds no control character: {text!r}")
    return text


#: What a status line's reason phrase may not hold (RFC 9112 section 4): controls but HTAB, and DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def fit_description(text: str, limit: int) -> bytes:
    """``text`` as UTF-8, cut to at most ``limit`` bytes, never inside a character, without NULs.

    pywin32 refuses an ``ExtensionDesc`` / ``FilterDesc`` too long for IIS's buffer
    (ValueError, and IIS then does not load the DLL). It is given as bytes: for a
    str, pywin32's ``PyISAPIString_AsBytes`` returns a pointer into the UTF-8 copy it
    has just freed, and copies the description from there.
    """
    data = text.replace("\0", "").encode("utf-8", "replace")[:limit]
    return data.decode("utf-8", "ignore").encode("utf-8")


def send_response(ecb: Any, events: Iterable[Event], keep_alive: bool = False) -> None:
    """Write response ``events`` to ``ecb``: the start with ``SendResponseHeaders`` (asking IIS
    to keep the connection with ``keep_alive``), body data with synchronous ``WriteClient``
    calls. Other events (``End``, the machine's markers) write nothing; the caller reads them."""
    for event in events:
        if type(event) is Body:
            ecb.WriteClient(event.data, HSE_IO_SYNC)
        elif type(event) is ResponseStart:
            status = status_line(event.status, event.reason).encode("latin-1")
            ecb.SendResponseHeaders(status, header_block(event.headers), keep_alive)
