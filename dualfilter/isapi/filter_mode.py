"""The entry point ``Filter.isapi_filter`` imports: :func:`isapi_filter` from :mod:`dualfilter.isapi.filter`."""

from __future__ import annotations

from .filter import ISAPIFilter, isapi_filter

__all__ = ["ISAPIFilter", "isapi_filter"]
