"""ISAPI constants: pywin32's ``isapi.isapicon`` when it is importable, else the same values.

pywin32 exists only on Windows; the fallback keeps ``dualfilter.isapi`` (and its
test double) importable everywhere. Older ``isapicon`` versions lack the
``HSE_IO_*`` flags, so each name falls back on its own.
"""

from __future__ import annotations

from typing import Any

try:  # pragma: no cover - pywin32 is Windows-only
    from isapi import isapicon as _isapicon
except ImportError:
    _isapicon = None


def _value(name: str, default: int) -> int:
    value: Any = getattr(_isapicon, name, default)
    return int(value)


#: HttpExtensionProc results.
HSE_STATUS_SUCCESS = _value("HSE_STATUS_SUCCESS", 1)
HSE_STATUS_SUCCESS_AND_KEEP_CONN = _value("HSE_STATUS_SUCCESS_AND_KEEP_CONN", 2)
HSE_STATUS_PENDING = _value("HSE_STATUS_PENDING", 3)
HSE_STATUS_ERROR = _value("HSE_STATUS_ERROR", 4)

#: WriteClient / TransmitFile flags.
HSE_IO_SYNC = _value("HSE_IO_SYNC", 0x1)
HSE_IO_ASYNC = _value("HSE_IO_ASYNC", 0x2)
HSE_IO_DISCONNECT_AFTER_SEND = _value("HSE_IO_DISCONNECT_AFTER_SEND", 0x4)
HSE_IO_SEND_HEADERS = _value("HSE_IO_SEND_HEADERS", 0x8)

#: The ``TotalBytes`` of a request whose body length is unknown (chunked upload).
UNKNOWN_TOTAL_BYTES = 0xFFFFFFFF

#: Win32 error codes carried by ``ExtensionError``.
ERROR_INVALID_PARAMETER = 87
ERROR_NOT_SUPPORTED = 50
ERROR_INVALID_INDEX = 1413

__all__ = [
    "HSE_STATUS_SUCCESS",
    "HSE_STATUS_SUCCESS_AND_KEEP_CONN",
    "HSE_STATUS_PENDING",
    "HSE_STATUS_ERROR",
    "HSE_IO_SYNC",
    "HSE_IO_ASYNC",
    "HSE_IO_DISCONNECT_AFTER_SEND",
    "HSE_IO_SEND_HEADERS",
    "UNKNOWN_TOTAL_BYTES",
    "ERROR_INVALID_PARAMETER",
    "ERROR_NOT_SUPPORTED",
    "ERROR_INVALID_INDEX",
]
