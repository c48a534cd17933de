"""Arguments and members as pywin32's C++ objects take and give them.

pywin32 declares every ECB and HTTP_FILTER_CONTEXT method ``METH_VARARGS``
and parses the arguments with ``PyArg_ParseTuple``: positional only (the
doubles declare them so, and a keyword raises TypeError), and each format
code accepts its own types:

- ``s``: a ``str`` without NUL characters (``bytes`` are refused);
- ``z``: the same, or ``None``;
- ``s#`` / ``z#``: a ``str`` (sent as UTF-8) or a *read-only* bytes-like
  object (``bytes``, a ``memoryview`` of bytes); ``bytearray`` is refused;
  ``z#`` also takes ``None``;
- ``i`` / ``l``: an int (or an object with ``__index__``) that fits a C
  ``int`` / Windows ``long``, both signed 32-bit; floats are refused;
- ``K``: an int, reduced modulo 2**64.

Integer members declared ``T_INT`` (``TotalBytes``, ``AvailableBytes``,
``Version``, ``HttpStatusCode``, ``NotificationType``, ...) read a C
``DWORD`` as a signed 32-bit int: 0xFFFFFFFF reads as -1 (:func:`t_int`).
Strings set through ``PyISAPIString_AsBytes`` (``ExtensionDesc``,
``FilterDesc``, ``LogData``) are ``str`` (UTF-8) or ``bytes``; anything else,
``None`` included, raises ValueError (:func:`isapi_string`).
"""

from __future__ import annotations

import operator

__all__ = ["s", "z", "s_hash", "z_hash", "i", "k", "t_int", "isapi_string"]

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


def s(value: object, call: str) -> str:
    """Format ``s``: a str with no NUL character, that UTF-8 can encode (lone surrogates cannot)."""
    if not isinstance(value, str):
        raise TypeError(f"{call}() argument must be str, not {type(value).__name__}")
    if "\0" in value:
        raise ValueError("embedded null character")
    value.encode("utf-8")  # UnicodeEncodeError, as Python's argument parsing raises
    return value


def wire(value: str) -> str:
    """What IIS gets of a str passed in format ``s`` or ``z``: its UTF-8 bytes, as the
    doubles hold bytes (one character a byte, latin-1)."""
    return value.encode("utf-8").decode("latin-1")


def z(value: object, call: str) -> str | None:
    """Format ``z``: a str with no NUL character, or None."""
    return None if value is None else s(value, call)


def s_hash(value: object, call: str) -> bytes:
    """Format ``s#``: str as UTF-8, or a read-only bytes-like object, as bytes."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, bytes):
        return bytes(value)
    try:
        view = memoryview(value)  # type: ignore[arg-type]
    except TypeError:
        view = None
    if view is None or not view.readonly:
        raise TypeError(f"{call}() argument must be str or read-only bytes-like object, not {type(value).__name__}")
    return view.tobytes()


def z_hash(value: object, call: str) -> bytes | None:
    """Format ``z#``: as ``s#``, or None."""
    return None if value is None else s_hash(value, call)


def i(value: object, call: str) -> int:
    """Formats ``i`` and ``l`` (a Windows ``long`` is 32 bits): a signed 32-bit int."""
    if isinstance(value, float):
        raise TypeError(f"{call}() argument must be int, not float")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{call}() argument must be int, not {type(value).__name__}") from None
    if number > _INT_MAX:
        raise OverflowError("signed integer is greater than maximum")
    if number < _INT_MIN:
        raise OverflowError("signed integer is less than minimum")
    return number


def k(value: object, call: str) -> int:
    """Format ``K``: an int, reduced modulo 2**64."""
    if not isinstance(value, int):
        raise TypeError(f"{call}() argument must be int, not {type(value).__name__}")
    return value & 0xFFFFFFFFFFFFFFFF


def dword(value: int) -> int:
    """``value`` stored in a C ``DWORD``."""
    return value & 0xFFFFFFFF


def t_int(value: int) -> int:
    """A ``DWORD`` read through a ``T_INT`` member: signed 32-bit."""
    value &= 0xFFFFFFFF
    return value - 2**32 if value >= 2**31 else value


def isapi_string(value: object) -> bytes:
    """``PyISAPIString_AsBytes``: str (as UTF-8, strictly: ``PyUnicode_AsUTF8String``) or
    bytes; ValueError for anything else."""
    if isinstance(value, str):
        return value.encode("utf-8")
    if not isinstance(value, bytes):
        raise ValueError(f"Expected a string object (got {type(value).__name__})")
    return bytes(value)
