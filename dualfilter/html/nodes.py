"""What handlers get: an element, a whole text node, the document's end.

Each wraps the engine's object for the duration of one handler call (after
it, using it raises RuntimeError). Content
is escaped unless ``html=True``. Edits combine as in lol-html (its
``element.rs``): ``before`` and ``append`` add after what the same method
added, ``after`` and ``prepend`` ahead of it, ``set_inner_content`` and
``replace`` overwrite their earlier content.
"""

from __future__ import annotations

from typing import Any

from . import engine


class _Gone:
    """In place of the engine's object once its handler has returned: the engine's
    object lives only as long as the call (used later, it would crash the process;
    kept, it would be freed on another thread)."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError("an element, text node or document end can only be used in the handler it was given to")


GONE: Any = _Gone()


class Replacement:
    """What ``Element.replace`` last gave for the element the handlers are on.

    lol-html writes a replaced element's content in the element's place: after
    all that ``before`` adds, even later, and ahead of what ``after`` adds. The
    binding has no ``replace``, so the element is removed at once and this is
    written by ``flush``, with ``before``, once every handler on the element has
    run: the last thing added before it is then the replacement.
    """

    __slots__ = ("content", "html")

    def __init__(self) -> None:
        self.content: str | None = None
        self.html = False

    def flush(self, raw: Any) -> None:
        """Write the replacement, if any, into the element's place (after its handlers)."""
        if self.content is not None:
            content, self.content = self.content, None
            raw.before(content, engine.kind(self.html))


class Element:
    """A start tag and, through it, the element it opens."""

    __slots__ = ("_raw", "_replacement", "_codec")

    def __init__(self, raw: Any, replacement: Replacement, codec: str = "utf-8") -> None:
        self._raw = raw
        #: Shared by every handler on the element: flushed after the last.
        self._replacement = replacement
        #: The page's charset: a name (of the tag, of an attribute) must be written in it.
        self._codec = codec

    def _writable(self, what: str, name: str) -> None:
        """ValueError unless ``name`` can be written in the page's charset: HTML reads no
        character reference in a name, so one would name another tag or attribute (lol-html's rule)."""
        if type(name) is str and not name.isascii() and self._codec != "utf-8":
            try:
                name.encode(self._codec)
            except UnicodeEncodeError:
                raise ValueError(f"{what} {name!r} cannot be written in the page's charset ({self._codec})") from None

    @property
    def tag_name(self) -> str:
        """The tag name, lower-case; set it to rename the element (end tag included)."""
        return self._raw.tag_name  # type: ignore[no-any-return]

    @tag_name.setter
    def tag_name(self, name: str) -> None:
        self._writable("tag name", name)
        self._raw.tag_name = name

    @property
    def attributes(self) -> list[tuple[str, str]]:
        """The attributes as ``(name, value)`` pairs, in document order: of a name
        written twice, the first, as browsers keep it (the HTML tokenizer drops the others)."""
        pairs = list(self._raw.attributes)
        if len(pairs) < 2:
            return pairs
        seen: set[str] = set()
        kept = []
        for name, value in pairs:
            if name.lower() not in seen:
                seen.add(name.lower())
                kept.append((name, value))
        return kept

    @property
    def removed(self) -> bool:
        """Whether the element was removed (``remove``, ``replace``, ``remove_and_keep_content``, as in lol-html)."""
        return bool(self._raw.removed)

    def get_attribute(self, name: str) -> str | None:
        """The value of attribute ``name``, or None."""
        return self._raw.get_attribute(name)  # type: ignore[no-any-return]

    def has_attribute(self, name: str) -> bool:
        return bool(self._raw.has_attribute(name))

    def set_attribute(self, name: str, value: str) -> None:
        """Set ``name`` to ``value`` (double quotes in it are escaped); ValueError for a
        name the page's charset cannot hold."""
        self._writable("attribute name", name)
        self._raw.set_attribute(name, value)

    def remove_attribute(self, name: str) -> None:
        """Remove attribute ``name``: every copy of it, or a copy browsers dropped would take its place."""
        raw = self._raw
        for _ in range(len(raw.attributes)):  # bounded: one copy a pass
            if not raw.has_attribute(name):
                break
            raw.remove_attribute(name)

    def before(self, content: str, *, html: bool = False) -> None:
        """Insert ``content`` before the start tag."""
        self._raw.before(content, engine.kind(html))

    def after(self, content: str, *, html: bool = False) -> None:
        """Insert ``content`` after the end tag."""
        self._raw.after(content, engine.kind(html))

    def prepend(self, content: str, *, html: bool = False) -> None:
        """Insert ``content`` right after the start tag."""
        self._raw.prepend(content, engine.kind(html))

    def append(self, content: str, *, html: bool = False) -> None:
        """Insert ``content`` right before the end tag."""
        self._raw.append(content, engine.kind(html))

    def set_inner_content(self, content: str, *, html: bool = False) -> None:
        """Replace what is between the start and end tags with ``content``."""
        self._raw.set_inner_content(content, engine.kind(html))

    def replace(self, content: str, *, html: bool = False) -> None:
        """Replace the whole element, tags and content, with ``content``: a later
        call replaces it again; what ``before`` and ``after`` add stays around it."""
        self._raw.remove()
        replacement = self._replacement
        replacement.content, replacement.html = content, html

    def remove(self) -> None:
        """Remove the element with its content (what ``before``/``after`` added, or a
        replacement, stays)."""
        self._raw.remove()

    def remove_and_keep_content(self) -> None:
        """Remove the start and end tags, keeping what is between them."""
        self._raw.remove_and_keep_content()


class Text:
    """A whole text node, as written in the document (character references not decoded)."""

    __slots__ = ("_raw", "text", "_changed")

    def __init__(self, raw: Any, text: str) -> None:
        self._raw = raw
        #: The text as written.
        self.text = text
        self._changed = False

    def replace(self, content: str, *, html: bool = False) -> None:
        """Put ``content`` in place of the text."""
        self._raw.replace(content, engine.kind(html))
        self._changed = True

    def before(self, content: str, *, html: bool = False) -> None:
        self._raw.before(content, engine.kind(html))

    def after(self, content: str, *, html: bool = False) -> None:
        self._raw.after(content, engine.kind(html))

    def remove(self) -> None:
        """Remove the text (what ``before``/``after`` added stays)."""
        self._raw.remove()
        self._changed = True


class Document:
    """The end of the document."""

    __slots__ = ("_raw",)

    def __init__(self, raw: Any) -> None:
        self._raw = raw

    def append(self, content: str, *, html: bool = False) -> None:
        """Add ``content`` at the very end of the output."""
        self._raw.append(content, engine.kind(html))
