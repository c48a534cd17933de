"""The format registry: how a body becomes a Python object for a filter, and back.

Built in: ``lxml_html`` (HTML as an lxml tree), ``lxml_xml`` (XML as an lxml
tree) and ``json`` (JSON as Python objects). Other packages add formats through
the ``dualfilter.formats`` entry-point group; each entry point names a
:class:`Format` instance or class.
"""

from __future__ import annotations

import importlib.metadata
import logging
from typing import Any

from ..charsets import Charset
from ..extras import require
from ..mediatypes import matches

log = logging.getLogger("dualfilter")

ENTRY_POINT_GROUP = "dualfilter.formats"


class Format:
    """How one kind of body is parsed for a filter and serialized afterwards.

    ``parse`` returns the object and the charset it found (or None), or raises
    :class:`~dualfilter.body.NothingToParse` for a body with no document in it
    (which then passes unchanged, as an empty one does); ``errors`` is the
    filter's ``unicode_errors``, the codec error handler for bytes not in the
    body's charset (a ``parse`` that takes no ``errors`` reads strictly).
    ``serialize`` gets that charset back and returns the bytes and the charset
    the Content-Type should declare (None leaves the header alone).
    """

    #: The registry key, as used in ``Filter.format``.
    name: str = ""
    #: Media-type patterns this format can parse (as in ``filter_content_types``).
    media_types: tuple[str, ...] = ()
    #: What ``format_output`` names to pick this format, e.g. ``'lxml.etree'``.
    output_type: str = ""
    #: What ``serialize`` takes, for error messages (``'an lxml element or tree'``).
    expects: str = "an object it can write"
    #: ``(extra, module)``: the optional package this format needs, if any.
    requires: tuple[str, str] | None = None

    def parse(self, data: bytes, declared: str | None, media_type: str, errors: str = "strict") -> tuple[Any, Charset | None]:
        raise NotImplementedError

    def serialize(
        self, value: Any, charset: Charset | None, media_type: str, output_encoding: str
    ) -> tuple[bytes, Charset | None]:
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is something ``serialize`` can write."""
        return True

    def check_available(self) -> None:
        """Raise :class:`~dualfilter.extras.MissingExtra` if the package this format needs is missing."""
        if self.requires is not None:
            require(*self.requires, purpose=f"the {self.name} format")

    def __repr__(self) -> str:
        return f"<format {self.name}>"


_registry: dict[str, Format] = {}
_entry_points_loaded = False


def register(fmt: Format | type[Format], name: str | None = None) -> Format:
    """Add a format (an instance, or a class to instantiate) under ``name``,
    by default its own ``name``; a format without a name of its own takes it."""
    instance = fmt() if isinstance(fmt, type) else fmt
    name = name or instance.name
    if not name:
        raise ValueError(f"{instance!r} has no name")
    if not instance.name:
        instance.name = name
    _registry[name] = instance
    return instance


def _load_entry_points() -> None:
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    for entry_point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in _registry:
            continue  # a built-in (or registered) format keeps its name
        try:
            register(entry_point.load(), entry_point.name)  # format="<entry point name>"
        except Exception:
            log.exception("could not load format entry point %r", entry_point.value)


def registered() -> dict[str, Format]:
    """Every known format by name (built-in and entry points)."""
    _load_entry_points()
    return dict(_registry)


def get(fmt: str | Format) -> Format:
    """The format called ``fmt`` (a name or a Format, returned as is), ready to use:
    MissingExtra if it needs a package that is not installed."""
    if not isinstance(fmt, Format):
        if fmt not in _registry:
            _load_entry_points()
        try:
            fmt = _registry[fmt]
        except KeyError:
            raise LookupError(f"no format named {fmt!r}; known: {', '.join(sorted(_registry))}") from None
    fmt.check_available()
    return fmt


def for_output(output_type: str, media_type: str) -> Format | None:
    """The format giving ``output_type`` objects for bodies of ``media_type``."""
    _load_entry_points()
    for fmt in _registry.values():
        if fmt.output_type == output_type and matches(media_type, fmt.media_types):
            return fmt
    return None


def media_types_for(output_type: str) -> tuple[str, ...]:
    """The media-type patterns of every format giving ``output_type`` objects."""
    _load_entry_points()
    return tuple(t for fmt in _registry.values() if fmt.output_type == output_type for t in fmt.media_types)


def output_types() -> set[str]:
    """Every ``format_output`` value some registered format provides."""
    _load_entry_points()
    return {fmt.output_type for fmt in _registry.values()}


def check_output(output_type: str) -> None:
    """Check that ``format_output=output_type`` can work: ValueError if no format gives
    it, MissingExtra if the formats giving it need a package that is not installed."""
    if output_type not in output_types():
        raise ValueError(f"no format gives format_output={output_type!r}")
    for fmt in list(_registry.values()):
        if fmt.output_type == output_type:
            fmt.check_available()


from .json_data import JSONFormat  # noqa: E402
from .lxml_trees import LxmlHTMLFormat, LxmlXMLFormat  # noqa: E402

register(LxmlHTMLFormat)
register(LxmlXMLFormat)
register(JSONFormat)

__all__ = [
    "Format",
    "register",
    "get",
    "for_output",
    "registered",
    "output_types",
    "check_output",
    "media_types_for",
    "ENTRY_POINT_GROUP",
]
