"""``ExtensionError`` and ``FilterError``: pywin32's own classes when importable, else ones with their shape.

pywin32 raises ``isapi.ExtensionError(errno, strerror, funcname)`` when an ECB
call fails (an unknown server variable, a client that went away, headers sent
twice), and ``isapi.FilterError`` when an HTTP_FILTER_CONTEXT call does; code
that catches them works the same against the test double.
"""

from __future__ import annotations

from typing import Any


class ISAPIError(Exception):
    """A failed ISAPI call: ``errno`` is the Win32 error code, ``funcname`` the call."""

    def __init__(self, errno: int, strerror: str | None = None, funcname: str | None = None) -> None:
        self.errno = errno
        self.strerror = strerror
        self.funcname = funcname
        super().__init__(errno, strerror, funcname)

    def __str__(self) -> str:
        return str((self.errno, self.strerror or "no error message is available", self.funcname))


class _ExtensionError(ISAPIError):
    """An EXTENSION_CONTROL_BLOCK call failed."""


_ExtensionError.__name__ = _ExtensionError.__qualname__ = "ExtensionError"


class _FilterError(ISAPIError):
    """An HTTP_FILTER_CONTEXT call failed."""


_FilterError.__name__ = _FilterError.__qualname__ = "FilterError"


def _extension_error() -> Any:
    try:  # pragma: no cover - pywin32 is Windows-only
        from isapi import ExtensionError as pywin32_error
    except ImportError:
        return _ExtensionError
    return pywin32_error


def _filter_error() -> Any:
    try:  # pragma: no cover - pywin32 is Windows-only
        from isapi import FilterError as pywin32_error
    except ImportError:
        return _FilterError
    return pywin32_error


#: The exception an ECB call raises when it fails.
ExtensionError: Any = _extension_error()
#: The exception an HTTP_FILTER_CONTEXT call raises when it fails.
FilterError: Any = _filter_error()

__all__ = ["ExtensionError", "FilterError", "ISAPIError"]
