"""ISAPI filter mode: a Filter as an IIS site-wide filter over the raw bytes of every response.

``isapi_filter(target, **options)`` builds the filter object a script's
``__FilterFactory__`` returns (``Filter.isapi_filter`` calls it).
"""

from __future__ import annotations

from .mode import ISAPIFilter, isapi_filter

__all__ = ["ISAPIFilter", "isapi_filter"]
