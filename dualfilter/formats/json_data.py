"""The ``json`` format: JSON bodies as Python objects."""

from __future__ import annotations

import json
from typing import Any

from ..charsets import Charset
from ..errors import FilterError
from . import Format


class JSONFormat(Format):
    """JSON (``application/json`` and ``+json`` types) as ``json.loads`` gives it.

    Input is read as RFC 8259 has it, from the bytes (UTF-8, -16 or -32), whatever a
    ``charset`` parameter says. Output is compact UTF-8 (``ensure_ascii=False``; a value holding a lone
    surrogate, which UTF-8 cannot, is written all ``\\u`` escaped); a
    ``charset`` the response declared is updated to ``utf-8``.
    """

    name = "json"
    media_types = ("application/json", "*/*+json")
    output_type = "python"

    def parse(self, data: bytes, declared: str | None, media_type: str) -> tuple[Any, Charset | None]:
        # RFC 8259: UTF-8 (or -16, -32, detected from the bytes); a charset parameter "has no
        # effect on compliant recipients" (section 11), and clients read the bytes so. One the
        # response declared is named again as utf-8 when the JSON is written back.
        try:
            value = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise FilterError(f"response body is not valid JSON: {exc}") from None
        return value, (Charset("utf-8", "header", declared.strip()) if declared else None)

    def serialize(
        self, value: Any, charset: Charset | None, media_type: str, output_encoding: str
    ) -> tuple[bytes, Charset | None]:
        try:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)  # RFC 8259: no NaN
        except (TypeError, ValueError) as exc:
            raise FilterError(f"filter returned a value JSON cannot hold: {exc}") from None
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON may hold one escaped): escaped again, as it came
            data = json.dumps(value, separators=(",", ":"), allow_nan=False).encode("ascii")
        return data, (Charset("utf-8", "output") if charset else None)
