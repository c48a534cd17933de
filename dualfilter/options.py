"""Filter options: which class attributes a keyword may override, and ini conversion.

Every public, non-callable class attribute of a Filter subclass is an option,
so ``UpperFilter(app, filter_all_status=True)`` works for the built-in ones and
for a subclass's own. Paste Deploy hands options over as strings; they are
converted to the type of the attribute they set.
"""

from __future__ import annotations

import inspect
import re
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
    """Convert an ini string ``value`` to the type of ``current``, the class default."""
    if not isinstance(value, str) or isinstance(current, str):
        return value
    if isinstance(current, bool):
        return to_bool(value)
    if isinstance(current, int):
        return int(value.strip())
    if isinstance(current, float):
        return float(value.strip())
    if isinstance(current, (tuple, list, frozenset, set)):
        items = [item for item in value.replace(",", " ").split() if item]
        return type(current)(items)
    if current is None:
        stripped = value.strip()
        return None if stripped.lower() in ("", "none") else stripped
    return value


def convert_options(cls: type, options: dict[str, Any]) -> dict[str, Any]:
    """Convert every ini string in ``options`` to its option's type: the type its
    annotation names (``limit: int | None = None``), else its default's; ``none``
    (or nothing) is None where the annotation allows it (``thread_threshold = none``)."""
    check_options(cls, options)
    converted: dict[str, Any] = {}
    for name, value in options.items():
        annotation = _annotation(cls, name)
        try:
            if not isinstance(value, str) or annotation is None:
                converted[name] = convert(getattr(cls, name), value)
            elif value.strip().lower() in ("", "none") and re.search(r"\bNone\b|Optional\[", annotation):
                converted[name] = None
            else:
                converted[name] = _convert_as(_base_type(annotation), getattr(cls, name), value)
        except ValueError as exc:
            raise ValueError(f"option {name!r}: {exc}") from None
    return converted


def _annotation(cls: type, name: str) -> str | None:
    """The annotation of option ``name`` as text, from the class that declares it."""
    for klass in cls.__mro__:
        annotation = vars(klass).get("__annotations__", {}).get(name)
        if annotation is not None:
            return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", repr(annotation))
    return None


def _base_type(annotation: str) -> str:
    """The first type an annotation names other than None: ``'int | None'`` -> ``'int'``."""
    text = re.sub(r"^\s*Optional\[(.*)\]\s*$", r"\1", annotation)
    for part in text.split("|"):
        base = part.strip().split("[", 1)[0].rsplit(".", 1)[-1]
        if base != "None":
            return base
    return ""


def _convert_as(base: str, default: Any, value: str) -> Any:
    """An ini string as the type ``base`` names; others as the default's type."""
    if base == "bool":
        return to_bool(value)
    if base == "int":
        return int(value.strip())
    if base == "float":
        return float(value.strip())
    if base in ("tuple", "list", "frozenset", "set"):
        items = [item for item in value.replace(",", " ").split() if item]
        return {"tuple": tuple, "list": list, "frozenset": frozenset, "set": set}[base](items)
    if base == "str":
        return value
    return convert(default, value)
