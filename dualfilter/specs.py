"""Filter SPECs: one string naming a filter and its options, as the command line takes them.

A SPEC is a built-in name (``inject``, ``replace``, ``rewrite-links``,
``xslt``) or ``module:Class``, optionally followed by ``?key=value&key=value``.
Values are percent-decoded (``%26`` is ``&``; ``+`` stays ``+``) and then
converted to each option's type the way Paste Deploy options are.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .filter import Filter
from .options import convert_options, option_names

#: The built-in filters by SPEC name.
BUILTINS = {
    "inject": "dualfilter.filters.inject:Inject",
    "replace": "dualfilter.filters.replace:Replace",
    "rewrite-links": "dualfilter.filters.rewrite_links:RewriteLinks",
    "xslt": "dualfilter.filters.xslt:XSLT",
}


class SpecError(ValueError):
    """A SPEC that names no filter, or gives options its filter cannot take."""


@dataclass(frozen=True)
class Spec:
    """A parsed SPEC: the filter class and its options, already converted."""

    name: str
    cls: type[Filter]
    options: dict[str, Any]

    def build(self) -> Filter:
        """A configured filter instance; SpecError if the options are rejected."""
        try:
            return self.cls(**self.options)
        except Exception as exc:
            raise SpecError(f"{self.name}: {exc}") from exc  # the cause: for --traceback


def import_object(target: str) -> Any:
    """The object ``'module:attribute'`` names (the attribute may be dotted)."""
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise ValueError(f"{target!r} is not module:attribute")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r}: {exc}") from exc
    except Exception as exc:  # the module itself is broken: say how, in one line (the cause has the rest)
        raise ValueError(f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}") from exc
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{module_name!r} has no attribute {attribute!r}") from None
    return obj


def filter_class(name: str) -> type[Filter]:
    """The Filter subclass a built-in name or ``module:Class`` stands for."""
    target = BUILTINS.get(name.lower().replace("_", "-"))
    if target is None:
        if ":" not in name:
            known = ", ".join(BUILTINS)
            raise SpecError(f"unknown filter {name!r}: use one of {known}, or module:Class")
        target = name
    try:
        cls = import_object(target)
    except ValueError as exc:
        raise SpecError(str(exc)) from exc.__cause__
    if not (isinstance(cls, type) and issubclass(cls, Filter)):
        raise SpecError(f"{name} is not a dualfilter.Filter subclass")
    return cls


def split_query(name: str, query: str, cls: type[Filter]) -> dict[str, str]:
    """``'a=1&b=x%26y'`` -> ``{'a': '1', 'b': 'x&y'}``, each key checked against ``cls``.

    A key without ``=`` sets a boolean option to true; ``-`` in keys reads as ``_``.
    """
    klass: type = cls
    known = option_names(klass)
    options: dict[str, str] = {}
    for part in query.split("&"):
        if not part:
            continue
        raw_key, sep, raw_value = part.partition("=")
        key = unquote(raw_key).strip().replace("-", "_")
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise SpecError(f"{name}: unknown option {key!r}{hint}")
        if key in options:
            raise SpecError(f"{name}: option {key!r} given twice")
        if not sep:
            if not isinstance(getattr(cls, key), bool):
                raise SpecError(f"{name}: option {key!r} needs a value ({key}=VALUE)")
            raw_value = "true"
        options[key] = unquote(raw_value)
    return options


def parse(spec: str) -> Spec:
    """Parse a SPEC into its filter class and converted options."""
    spec = spec.strip()
    name, _, query = spec.partition("?")
    name = name.strip()
    if not name:
        raise SpecError(f"empty filter name in SPEC {spec!r}")
    cls = filter_class(name)
    options = split_query(name, query, cls)
    try:
        converted = convert_options(cls, options)
    except (TypeError, ValueError) as exc:
        raise SpecError(f"{name}: {exc}") from None
    return Spec(name, cls, converted)


def load(spec: str) -> Filter:
    """The configured filter a SPEC describes; SpecError for anything wrong with it."""
    return parse(spec).build()
