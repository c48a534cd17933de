"""The ``json`` format: JSON bodies as Python objects, numbers written back as they came."""

from __future__ import annotations

import json
import re
import secrets
import weakref
from typing import Any

from ..body import NothingToParse
from ..charsets import Charset
from ..errors import FilterError
from . import Format


class JSONFormat(Format):
    """JSON (``application/json`` and ``+json`` types) as ``json.loads`` gives it.

    Input is read as RFC 8259 has it, from the bytes (UTF-8, -16 or -32), whatever a
    ``charset`` parameter says; bytes not valid in it go to ``unicode_errors``.
    Output is compact UTF-8 (``ensure_ascii=False``; a value holding a lone
    surrogate, which UTF-8 cannot, is written all ``\\u`` escaped); a
    ``charset`` the response declared is updated to ``utf-8``. A number Python
    would write otherwise (``1.10``, ``1E2``, ``1e-400``, ``1e400``, more digits
    than a float holds, ``-0``) is a :class:`KeptFloat` or :class:`KeptInt`, a
    float or int that is written back as it came while the filter leaves it in
    place; an integer with more digits than Python converts is a :class:`LongInteger`.
    """

    name = "json"
    media_types = ("application/json", "*/*+json")
    output_type = "python"

    def parse(self, data: bytes, declared: str | None, media_type: str, errors: str = "strict") -> tuple[Any, Charset | None]:
        # RFC 8259: UTF-8 (or -16, -32, detected from the bytes); a charset parameter "has no
        # effect on compliant recipients" (section 11), and clients read the bytes so. One the
        # response declared is named again as utf-8 when the JSON is written back.
        try:
            text = _decoded(data, errors)
            if not text.strip(" \t\n\r"):
                raise NothingToParse  # white space only: nothing to filter, it passes as it is
            value = _loads(text)
        except (ValueError, RecursionError) as exc:
            raise FilterError(f"response body is not valid JSON: {exc}") from None
        return value, (Charset("utf-8", "header", declared.strip()) if declared else None)

    def serialize(
        self, value: Any, charset: Charset | None, media_type: str, output_encoding: str
    ) -> tuple[bytes, Charset | None]:
        try:
            text = _dumps(value, ensure_ascii=False)
        except (TypeError, ValueError, RecursionError) as exc:  # RecursionError: too deep, or a cycle
            raise FilterError(f"filter returned a value JSON cannot hold: {exc}") from None
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate (JSON may hold one escaped): escaped again, as it came
            data = _dumps(value, ensure_ascii=True).encode("ascii")
        return data, (Charset("utf-8", "output") if charset else None)


def _decoded(data: bytes, errors: str) -> str:
    """JSON bytes as text, read as ``json.loads`` reads them (UTF-8, -16 or -32; an encoded
    lone surrogate kept); bytes not valid in their charset go to ``errors`` (``unicode_errors``)."""
    encoding = json.detect_encoding(data)
    try:
        return data.decode(encoding, "surrogatepass")
    except UnicodeDecodeError:
        if errors == "strict":
            raise
        return data.decode(encoding, errors)


class KeptFloat(float):
    """A float read from a JSON number Python would write otherwise; ``text`` is how it came.

    Arithmetic on it gives plain floats, written as Python writes them."""

    __slots__ = ("text", "__weakref__")
    text: str

    def __new__(cls, text: str) -> KeptFloat:
        number = super().__new__(cls, text)
        number.text = text
        _alive.add(number)
        return number

    def __reduce__(self) -> tuple[Any, ...]:
        return (KeptFloat, (self.text,))  # a copy is made as the original was


class KeptInt(int):
    """An int read from a JSON number Python would write otherwise (``-0``); ``text`` is how it came.

    Arithmetic on it gives plain ints."""

    text: str

    def __new__(cls, text: str) -> KeptInt:
        number = super().__new__(cls, text)
        number.text = text
        number.__dict__["_alive"] = _Alive()  # an int takes no weak reference: this dies with it
        return number

    def __reduce__(self) -> tuple[Any, ...]:
        return (KeptInt, (self.text,))


class LongInteger:
    """A JSON integer with more digits than Python converts to an int
    (``sys.get_int_max_str_digits()``), kept as its ``text`` and written back as it came."""

    __slots__ = ("text", "__weakref__")

    def __init__(self, text: str) -> None:
        self.text = text
        _alive.add(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (LongInteger, (self.text,))

    def __repr__(self) -> str:
        return f"LongInteger({len(self.text)} digits)"


class _Alive:
    """Stands in ``_alive`` for a kept number that takes no weak reference."""

    __slots__ = ("__weakref__",)

    def __init__(self) -> None:
        _alive.add(self)


#: Every kept number that exists (or what stands for it): while there is none, no
#: value holds one, and JSON is written without looking for them.
_alive: weakref.WeakSet[Any] = weakref.WeakSet()
_KEPT = frozenset({KeptFloat, KeptInt, LongInteger})
_CONTAINERS = (dict, list, tuple)  # for isinstance: their subclasses too
#: ``-0`` in JSON text (or in a string: then integers are read more slowly, nothing else).
_MINUS_ZERO = re.compile(r"-0(?![\d.eE])")


def _loads(text: str) -> Any:
    """The value of JSON ``text``; numbers Python would write otherwise are kept with their text."""
    if _MINUS_ZERO.search(text) is None:
        try:
            return json.loads(text, parse_float=_float)  # integers as Python reads them
        except json.JSONDecodeError:
            raise
        except ValueError:
            pass  # an integer with more digits than Python converts
    return json.loads(text, parse_float=_float, parse_int=_int)


def _float(text: str) -> float:
    """A float for a JSON number with a fraction or an exponent, kept when Python writes it otherwise."""
    value = float(text)
    if len(text) < 16 and (text[-1] != "0" or text[-2] == ".") and "e" not in text and "E" not in text:
        if "0.0000" not in text:
            # 15 digits at most, no exponent, no trailing zero but in ".0", at least 1e-4:
            # Python writes the float just so.
            return value
    return value if repr(value) == text else KeptFloat(text)


def _int(text: str) -> int | LongInteger:
    """An int for a JSON integer, kept when Python writes it otherwise (``-0``) or cannot convert it."""
    if text == "-0":
        return KeptInt(text)
    try:
        return int(text)
    except ValueError:
        return LongInteger(text)


def _dumps(value: Any, *, ensure_ascii: bool) -> str:
    """``value`` as compact JSON (no NaN or Infinity), kept numbers written as they came."""
    options: dict[str, Any] = {"ensure_ascii": ensure_ascii, "separators": (",", ":"), "allow_nan": False}
    if not _alive or not _holds_kept(value):
        return json.dumps(value, **options)
    texts: list[str] = []
    marker = f"{secrets.token_hex(8)}:"  # a string no document holds
    text = json.dumps(_marked(value, texts, marker), **options)
    return re.sub(re.escape(f'"{marker}') + r'(\d+)"', lambda match: texts[int(match[1])], text)


def _holds_kept(value: Any) -> bool:
    """Whether ``value`` is or holds a kept number (False when too deep to look, or a cycle)."""
    kind = type(value)
    if kind in _KEPT:
        return True
    if not isinstance(value, _CONTAINERS):  # a subclass too (an OrderedDict, a defaultdict)
        return False
    try:
        return _contains_kept(value)
    except RecursionError:
        return False  # json.dumps says what is wrong


def _contains_kept(container: Any) -> bool:
    """Whether a kept number is in ``container`` (a dict, list or tuple), at any depth."""
    for item in container.values() if isinstance(container, dict) else container:
        if type(item) in _KEPT:
            return True
        if isinstance(item, _CONTAINERS) and _contains_kept(item):
            return True
    return False


def _marked(value: Any, texts: list[str], marker: str) -> Any:
    """A copy of ``value`` with each kept number replaced by ``marker`` and the index of its text in ``texts``."""
    kind = type(value)
    if kind in _KEPT:
        texts.append(value.text)
        return f"{marker}{len(texts) - 1}"
    if isinstance(value, dict):
        return {key: _marked(item, texts, marker) for key, item in value.items()}
    if isinstance(value, _CONTAINERS):
        return [_marked(item, texts, marker) for item in value]
    return value
