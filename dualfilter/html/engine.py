"""The HTML rewriting engine: lol-html through its Python binding (``python-lolhtml``).

This is the only module that imports the binding, so another engine can take
its place. What the rest of the package relies on:

- :func:`require` raises the one ImportError that names the extra;
- :func:`build` makes a rewriter from selector hooks: objects with
  ``element(raw)`` and/or ``text(raw)`` methods, and one document hook with
  ``text(raw)``, ``comments(raw)`` and/or ``end(raw)``; its output goes to
  ``sink(bytes)``; a comment's bytes stay as they are unless a hook changes it;
- the raw objects handed to hooks have HTMLRewriter's method names
  (``before``, ``set_attribute``, ``last_in_text_node``...) and take the kind
  of content as :func:`kind` gives it;
- :data:`THREAD_BOUND`: a rewriter may only be used, and must be freed, on the
  thread that built it (the binding's objects are ``unsendable``);
- ``write``/``end`` raise :class:`EngineError` for anything that goes wrong
  inside, the engine's own panics included; a rewriter that raised is done.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

try:
    import lolhtml as lolhtml  # re-exported: None says the html extra is not installed
except ImportError:  # the html extra is not installed
    lolhtml = None  # type: ignore[assignment]

#: The binding's objects are bound to the thread that created them.
THREAD_BOUND = True
#: The document is read as UTF-8: other charsets are transcoded around it.
ENCODING = "utf-8"


class EngineError(RuntimeError):
    """The engine failed (a hook raised, or the engine itself did)."""


def require() -> None:
    """Raise ImportError naming the extra when the engine is not installed."""
    if lolhtml is None:
        raise ImportError(
            "dualfilter.html needs the lol-html binding: pip install 'dualfilter[html]' (the python-lolhtml package)"
        )


def kind(html: bool) -> Any:
    """The engine's token for content given as HTML (kept as is) or as text (escaped)."""
    assert lolhtml is not None
    return lolhtml.ContentType.HTML if html else lolhtml.ContentType.TEXT


class Rewriter:
    """One document's rewriter: ``write`` chunks, then ``end``."""

    __slots__ = ("_raw",)

    def __init__(self, sink: Callable[[bytes], Any], hooks: list[tuple[str, Any]], document: Any | None) -> None:
        assert lolhtml is not None
        raw = lolhtml.HTMLRewriter(sink)  # type: ignore[arg-type]  # the sink gets bytes
        for selector, hook in hooks:
            raw.on(selector, hook)
        if document is not None:
            raw.on_document(document)
        self._raw = raw

    def write(self, data: bytes) -> None:
        try:
            self._raw.write(data)
        except BaseException as exc:  # the binding's panics are BaseExceptions
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise EngineError(str(exc)) from None

    def end(self) -> None:
        try:
            self._raw.end()
        except BaseException as exc:
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            raise EngineError(str(exc)) from None


def build(sink: Callable[[bytes], Any], hooks: list[tuple[str, Any]], document: Any | None) -> Rewriter:
    """A rewriter calling ``hooks`` (selector, hook) in order, then ``document``, per token."""
    require()
    return Rewriter(sink, hooks, document)
