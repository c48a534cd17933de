"""Filter options: which class attributes a keyword may override, and ini conversion.

Every public, non-callable class attribute of a Filter subclass is an option,
so ``UpperFilter(app, filter_all_status=True)`` works for the built-in ones and
for a subclass's own. Paste Deploy and SPECs hand options over as strings;
they are converted to the type the option's annotation names, else to the
type of its default.
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from functools import cache
from typing import Any

_TRUE = frozenset({"true", "yes", "on", "1", "y", "t"})
_FALSE = frozenset({"false", "no", "off", "0", "n", "f", ""})


def option_names(cls: type) -> frozenset[str]:
    """The names of the options of ``cls``: its public data class attributes."""
    return _option_names(cls)


@cache
def _option_names(cls: type) -> frozenset[str]:
    names = set()
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, value in vars(klass).items():
            if name.startswith("_"):
                continue
            if inspect.isroutine(value) or hasattr(type(value), "__get__"):  # methods and descriptors
                continue
            names.add(name)
    return frozenset(names)


def built_option_names(cls: type) -> frozenset[str]:
    """The options of ``cls`` that dualfilter's own classes read when a filter is
    built (``Filter``'s, a built-in filter's): a built filter has taken them in, so
    they may not change on it. A subclass's own options stay plain attributes."""
    return _built_option_names(cls)


@cache
def _built_option_names(cls: type) -> frozenset[str]:
    return frozenset(
        name
        for klass in cls.__mro__
        if klass.__module__.startswith("dualfilter.")
        for name in option_names(klass)
        if name in vars(klass)
    )


def check_options(cls: type, options: dict[str, Any]) -> None:
    """Raise TypeError naming the first keyword that is not an option of ``cls``."""
    known = option_names(cls)
    for name in options:
        if name not in known:
            raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}")


def to_bool(value: str) -> bool:
    """An ini boolean: true/yes/on/1 or false/no/off/0 (case-insensitive)."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"not a boolean: {value!r}")


def convert(current: Any, value: Any) -> Any:
    """Convert an ini string ``value`` to the type of ``current``, the class default
    (``none`` or nothing is None where the default is None)."""
    if not isinstance(value, str):
        return value
    if current is None:
        stripped = value.strip()
        return None if stripped.lower() in ("", "none") else stripped
    return _convert_as(type(current).__name__, value)


def convert_options(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """Convert every ini string in ``options`` to its option's type: the type its
    annotation names (``limit: int | None = None``), else its default's; ``none``
    (or nothing) is None where the annotation allows it (``thread_threshold = none``)."""
    check_options(cls, options)
    converted: dict[str, Any] = {}
    for name, value in options.items():
        annotation = _annotation(cls, name)
        try:
            base = _base_type(annotation) if annotation is not None else ""
            if not isinstance(value, str) or base not in _KNOWN:
                converted[name] = convert(getattr(cls, name), value)
            elif value.strip().lower() in ("", "none") and re.search(r"\bNone\b|Optional\[", annotation or ""):
                converted[name] = None
            else:
                converted[name] = _convert_as(base, value, _item_type(annotation or ""))
        except ValueError as exc:
            raise ValueError(f"option {name!r}: {exc}") from None
    return converted


def _annotation(cls: type, name: str) -> str | None:
    """The annotation of option ``name`` as text, from the class that declares it."""
    for klass in cls.__mro__:
        annotation = vars(klass).get("__annotations__", {}).get(name)
        if annotation is not None:
            return _text(annotation)
    return None


def _text(annotation: Any) -> str:
    """An annotation object as it would be written: ``Optional[int]`` -> ``'int | None'``."""
    if isinstance(annotation, str):
        return annotation
    if annotation is type(None):
        return "None"
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return " | ".join(_text(argument) for argument in typing.get_args(annotation))
    if origin is not None:  # tuple[str, ...]: its collection, and its items' first type
        arguments = typing.get_args(annotation)
        return f"{_text(origin)}[{_text(arguments[0])}]" if arguments else _text(origin)
    return getattr(annotation, "__name__", repr(annotation))


def _base_type(annotation: str) -> str:
    """The first type an annotation names other than None: ``'int | None'`` -> ``'int'``."""
    text = _union_text(annotation)
    for part in text.split("|"):
        base = part.strip().split("[", 1)[0].rsplit(".", 1)[-1]
        if base != "None":
            return base
    return ""


def _union_text(annotation: str) -> str:
    """An annotation's text with ``Optional[X]`` / ``Union[X, Y]`` (``typing.`` or not) as ``X | None`` / ``X | Y``."""
    text = annotation.strip()
    found = re.fullmatch(r"(?:typing\.)?(Optional|Union)\[(.*)\]", text)
    if found is None:
        return text
    parts = [part.strip() for part in found.group(2).split(",")]
    return " | ".join(parts + (["None"] if found.group(1) == "Optional" else []))


def check_types(obj: Any) -> None:
    """TypeError for an option of ``obj`` whose value is not of the one simple type its
    annotation names (``str``, ``bool``, ``int``, ``float``; ``| None`` allows None):
    ``regex='false'`` would be true, ``pattern=b'...'`` a 500 on every response."""
    cls = type(obj)
    for name in option_names(cls):
        annotation = _annotation(cls, name)
        if annotation is None:
            continue
        parts = [part.strip() for part in _union_text(annotation).split("|")]
        named = [part for part in parts if part != "None"]
        if len(named) != 1 or named[0] not in _SIMPLE:
            continue
        value = getattr(obj, name)
        if value is None and "None" in parts:
            continue
        kind = _SIMPLE[named[0]]
        # An int of any kind (re.IGNORECASE, HTTPStatus.OK), a str subclass; never a bool for a number.
        if kind is bool:
            fits = type(value) is bool
        else:
            fits = isinstance(value, (int, float) if kind is float else kind) and type(value) is not bool
        if not fits:
            article = "an" if named[0] == "int" else "a"
            what = "True or False" if kind is bool else f"{article} {named[0]}" + (" or None" if "None" in parts else "")
            raise TypeError(f"{name} must be {what}, not {value!r}")


#: The annotations :func:`check_types` holds a value to.
_SIMPLE: dict[str, type] = {"str": str, "bool": bool, "int": int, "float": float}
#: The types an option's annotation converts an ini string to (others: as the default's type).
_KNOWN = frozenset({"bool", "int", "float", "str", "tuple", "list", "frozenset", "set"})
#: The collections an ini list (items split on commas and white space) becomes.
_COLLECTIONS: dict[str, type] = {"tuple": tuple, "list": list, "frozenset": frozenset, "set": set}


def _item_type(annotation: str) -> str:
    """The simple type a collection's annotation names for its items: ``tuple[int, ...]`` -> ``'int'``."""
    for part in _union_text(annotation).split("|"):
        found = re.match(r"\s*[\w.]+\[\s*(\w+)\s*[,\]]", part)
        if found is not None:
            return found.group(1) if found.group(1) in _SIMPLE else ""
    return ""


def _convert_as(base: str, value: str, item: str = "") -> Any:
    """An ini string as the type ``base`` names (a collection's items as ``item`` names);
    as it is for any other type."""
    if base == "bool":
        return to_bool(value)
    if base == "int":
        return int(value.strip())
    if base == "float":
        return float(value.strip())
    if base in _COLLECTIONS:
        items = [piece for piece in value.replace(",", " ").split() if piece]
        return _COLLECTIONS[base](_convert_as(item, piece) for piece in items) if item else _COLLECTIONS[base](items)
    return value
