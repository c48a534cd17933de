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
    """Convert every ini string in ``options`` to its attribute's type; ``none``
    (or nothing) is None for an option whose annotation allows it
    (``thread_threshold = none``)."""
    check_options(cls, options)
    converted: dict[str, Any] = {}
    for name, value in options.items():
        if isinstance(value, str) and value.strip().lower() in ("", "none") and _may_be_none(cls, name):
            converted[name] = None
            continue
        try:
            converted[name] = convert(getattr(cls, name), value)
        except ValueError as exc:
            raise ValueError(f"option {name!r}: {exc}") from None
    return converted


def _may_be_none(cls: type, name: str) -> bool:
    """Whether the annotation of option ``name`` (on the class that declares it) allows None."""
    for klass in cls.__mro__:
        annotation = vars(klass).get("__annotations__", {}).get(name)
        if annotation is not None:
            text = annotation if isinstance(annotation, str) else repr(annotation)
            return bool(re.search(r"\bNone\b|Optional\[", text))
    return getattr(cls, name, None) is None
