"""The streaming form of ``dualfilter.filters.Inject``: the landmarks are found by the
engine (real tags only, not ``</body>`` inside a script or a comment).

Handlers put a marker comment, unique to the response, where each candidate
place is (the end of ``<head>``, before ``<body>``, the end of ``<body>``, the
end of ``<html>``); the engine's output is then scanned for the markers, and
the snippet goes at the place the rules pick. A marker followed by the
element's own end tag is that tag; one that is not was put by an end the
browser implies (``</html>`` closing ``<body>``), which is the fallback
place. An end tag whose element has no start tag (a fragment's ``</body>``) is
found in the output's text, outside the comments and raw text elements
(``<script>``, ``<style>``...), which markers put by the engine surround.
Output before the first place that may still win goes out at once;
what is held from that place on is bounded by ``max_buffer_size``, past
which ``oversize`` applies (a later place may always come, up to the end).
"""

from __future__ import annotations

import bisect
import re
import secrets
from collections.abc import Mapping
from typing import Any

from ..filter import Filter
from .nodes import Element
from .rewriter import Rewriter, on, outgrown

_HEAD_START, _HEAD, _BODY_START, _BODY_END, _HTML_START, _HTML_END = "g", "h", "s", "b", "t", "x"
#: Around comments and the elements whose content is not markup: no end tag in between.
_QUIET_START, _QUIET_END = "q", "e"
#: The elements whose content browsers read as text, up to their own end tag
#: (``noscript`` too, as browsers read it with scripts on).
_RAW_TEXT = "script, style, textarea, title, xmp, iframe, noembed, noframes, noscript, plaintext"


#: An ``</html>`` end tag, as browsers tokenize it.
_STRAY_HTML_END = re.compile(rb"</html(?=[\t\n\f\r />])[^>]*>", re.I)


class InjectRewriter(Rewriter):
    """Puts ``html`` at the end of ``<head>`` or ``<body>``, by ``where`` and ``missing``
    as ``Inject`` documents them."""

    html: str = ""
    where: str = "body"
    missing: str = "fallback"
    #: The name logs give the filter: the ``Inject`` that runs this.
    label: str = "Inject"

    @property
    def name(self) -> str:
        """The name of the filter it works for (``label``), in logs."""
        return self.label

    def _inserts(self) -> str:
        return self.html

    @on("head")
    def head(self, element: Element, environ: Mapping[str, Any]) -> None:
        if self.where == "head":
            element.before(_marker(environ, _HEAD_START), html=True)
            element.append(_marker(environ, _HEAD), html=True)

    @on("body")
    def body(self, element: Element, environ: Mapping[str, Any]) -> None:
        element.before(_marker(environ, _BODY_START), html=True)
        if self.where == "body":
            element.append(_marker(environ, _BODY_END), html=True)

    @on("html")
    def root(self, element: Element, environ: Mapping[str, Any]) -> None:
        element.before(_marker(environ, _HTML_START), html=True)
        element.append(_marker(environ, _HTML_END), html=True)

    @on(_RAW_TEXT)
    def raw_text(self, element: Element, environ: Mapping[str, Any]) -> None:
        element.before(_marker(environ, _QUIET_START), html=True)
        element.after(_marker(environ, _QUIET_END), html=True)

    def _comment_marks(self, environ: Mapping[str, Any]) -> tuple[str, str]:
        return _marker(environ, _QUIET_START), _marker(environ, _QUIET_END)

    def stream(self, environ: Mapping[str, Any], headers: Any) -> Any:
        return super().stream(_Marked(environ), headers)

    def filter(self, environ: Mapping[str, Any], headers: Any, data: bytes) -> bytes:
        return super().filter(_Marked(environ), headers, data)

    def _post_process(self, environ: Mapping[str, Any]) -> Any:
        token = environ.token  # type: ignore[attr-defined]
        return Landmarks(self.html.encode("utf-8"), self.where, self.missing, token, self)


class _Marked(dict):  # type: ignore[type-arg]
    """The environ handlers see: the request's, plus this response's marker token."""

    def __init__(self, environ: Mapping[str, Any]) -> None:
        super().__init__(environ)
        self.token = secrets.token_hex(8)


def _marker(environ: Mapping[str, Any], kind: str) -> str:
    return f"<!--dualfilter-inject-{environ.token}-{kind}-->"  # type: ignore[attr-defined]


class Landmarks:
    """Finds the markers in the engine's output and puts the snippet at the winning one.

    What is held, from the first place that may still win on, is measured in
    bytes of the page's charset (``codec``, which the stream sets) and bounded
    by the filter's ``max_buffer_size``: past it, ``oversize='error'`` fails the
    response, and ``'pass'`` sends it on as it is, without the snippet, with a warning."""

    def __init__(self, snippet: bytes, where: str, missing: str, token: str, flt: Filter) -> None:
        self.snippet = snippet
        self.filter = flt
        self.limit = flt.max_buffer_size
        #: The page's codec: what is held is measured in its bytes, as the body is.
        self.codec = "utf-8"
        #: The size of ``held`` in the page's charset.
        self.size = 0
        self.where = where
        self.skip = missing == "skip"
        self.markers = re.compile(rb"<!--dualfilter-inject-" + token.encode() + rb"-([ghsbtxqe])-->")
        #: Until the element starts, its end tag standing alone (a fragment) is the landmark.
        #: (An end tag: its name, then whitespace, "/" or ">", anything up to ">", as browsers tokenize it.)
        self.stray_end = re.compile((rb"</head" if where == "head" else rb"</body") + rb"(?=[\t\n\f\r />])[^>]*>", re.I)
        self.tag = b"</head" if where == "head" else b"</body"
        #: Before an ``<html>`` starts (at ``html_start_at`` in ``held``; None: not yet), a
        #: ``</html>`` standing alone is a fallback place, searched from ``html_from``.
        self.html_start_at: int | None = None
        self.html_from = 0
        #: Where the element started in ``held`` (None: not yet); text before it is
        #: searched for stray end tags, from ``scan_from`` on.
        self.start_at: int | None = None
        self.scan_from = 0
        #: (start, end) in ``held`` of the comments and raw text elements the output
        #: holds (end None: not over yet), where no stray end tag is; ``depth``: how
        #: many of them are open (a comment in a ``<noscript>``).
        self.quiet: list[tuple[int, int | None]] = []
        self.depth = 0
        self.done = False
        #: Output not yet released: it starts at a place that may still win.
        self.held = bytearray()
        #: (offset in held, kind): candidate places in ``held``; kind is 'explicit',
        #: 'implied' (by a later end tag), 'open' (the end tag may follow) or 'start'.
        self.places: list[tuple[int, str]] = []

    def _scan(self, data: bytes) -> None:
        """Add ``data`` to ``held``, markers taken out and noted as places."""
        parts: list[bytes] = []
        size = len(self.held)
        last = 0
        own_start = _HEAD_START if self.where == "head" else _BODY_START
        for match in self.markers.finditer(data):
            parts.append(data[last : match.start()])
            size += match.start() - last
            last = match.end()
            kind = match.group(1).decode()
            if kind == own_start and self.start_at is None:
                self.start_at = size
            if kind == _HTML_START and self.html_start_at is None:
                self.html_start_at = size
            if kind == _QUIET_START:
                self.depth += 1
                if self.depth == 1:
                    self.quiet.append((size, None))
            elif kind == _QUIET_END and self.depth:
                self.depth -= 1
                if self.depth == 0:
                    self.quiet[-1] = (self.quiet[-1][0], size)
            elif kind == _BODY_START and self.where == "head":
                self.places.append((size, "start"))
            elif kind == _HTML_END:
                self.places.append((size, "implied"))
            elif kind in (_HEAD, _BODY_END):
                self.places.append((size, "open"))
        parts.append(data[last:])
        self.held += b"".join(parts) if len(parts) > 1 else parts[0]
        self._stray_ends()
        self._stray_html_ends()
        settled = []
        for offset, kind in self.places:
            if kind == "open" and len(self.held) - offset >= len(self.tag):
                kind = "explicit" if self.held[offset : offset + len(self.tag)].lower() == self.tag else "implied"
            settled.append((offset, kind))
        self.places = sorted(settled)

    def _stray_ends(self) -> None:
        """Stray end tags in the text before the element started (the output may
        cut one anywhere: a tail that may be the start of one is searched again)."""
        end = len(self.held) if self.start_at is None else self.start_at
        if self.scan_from >= end:
            return
        for match in self.stray_end.finditer(self.held, self.scan_from, end):
            if not self._quiet_at(match.start()):
                self.places.append((match.start(), "explicit"))
            self.scan_from = match.end()
        if self.start_at is None:
            # A "<" with no ">" after it yet may still become the end tag: searched again from there.
            tail = self.held.rfind(b"<", self.scan_from, end)
            open_tag = tail >= 0 and self.held.find(b">", tail, end) < 0 and not self._quiet_at(tail)
            self.scan_from = max(self.scan_from, tail if open_tag else end)
        else:
            self.scan_from = end

    def _stray_html_ends(self) -> None:
        """A ``</html>`` before any ``<html>`` (a fragment): the place an end the browser
        implies would be, as the ``</html>`` of a page is (a tail that may still
        become one is searched again)."""
        end = len(self.held) if self.html_start_at is None else self.html_start_at
        if self.html_from >= end:
            return
        for match in _STRAY_HTML_END.finditer(self.held, self.html_from, end):
            if not self._quiet_at(match.start()):
                self.places.append((match.start(), "implied"))
            self.html_from = match.end()
        tail = self.held.rfind(b"<", self.html_from, end)
        open_tag = self.html_start_at is None and tail >= 0 and self.held.find(b">", tail, end) < 0
        open_tag = open_tag and not self._quiet_at(tail)
        self.html_from = max(self.html_from, tail if open_tag else end)

    def _quiet_at(self, offset: int) -> bool:
        """Whether ``offset`` in ``held`` is inside a comment or a raw text element."""
        index = bisect.bisect_right(self.quiet, offset, key=lambda span: span[0]) - 1
        if index < 0:
            return False
        end = self.quiet[index][1]
        return end is None or offset < end

    def _choice(self, final: bool) -> tuple[int | None, int]:
        """(where the snippet goes, or None; how much of ``held`` may go out)."""
        places = self.places
        if final:  # nothing follows: an end tag that did not come was implied
            places = [(offset, "implied" if kind == "open" else kind) for offset, kind in places]
        if self.where == "head":
            for offset, kind in places:
                if kind == "explicit" or (kind == "start" and not self.skip):
                    return offset, offset
                if kind == "open":
                    return None, offset
            fallbacks = [offset for offset, kind in places if kind == "implied"]
        else:
            explicit = [offset for offset, kind in places if kind == "explicit"]
            open_ = [offset for offset, kind in places if kind == "open"]
            if explicit and not final:
                return None, explicit[-1] if not open_ else min(explicit[-1], open_[0])
            if explicit:
                return explicit[-1], explicit[-1]
            if open_:
                return None, open_[0]
            fallbacks = [offset for offset, kind in places if kind == "implied"]
        if self.skip:
            return None, len(self.held)
        if not final:
            return None, fallbacks[-1] if fallbacks else len(self.held)
        return (fallbacks[-1] if fallbacks else len(self.held)), 0

    def feed(self, data: bytes, final: bool = False) -> bytes:
        if self.done:
            return self.markers.sub(b"", data)
        before = len(self.held)
        self._scan(data)
        at, free = self._choice(final)
        if at is not None and (final or self.where == "head"):
            held, self.held, self.places, self.done = bytes(self.held), bytearray(), [], True
            return held[:at] + self.snippet + held[at:]
        if final:
            held, self.held, self.places = bytes(self.held), bytearray(), []
            return held
        if self.start_at is None:
            free = min(free, self.scan_from)  # a stray end tag may still be completing
        if self.html_start_at is None:
            free = min(free, self.html_from)  # so may a stray </html>
        out = bytes(self.held[:free])
        del self.held[:free]
        self.places = [(offset - free, kind) for offset, kind in self.places if offset >= free]
        self.scan_from = max(self.scan_from - free, 0)
        self.html_from = max(self.html_from - free, 0)
        self.quiet = [
            (max(start - free, 0), None if end is None else end - free) for start, end in self.quiet if end is None or end > free
        ]
        if self.html_start_at is not None:
            self.html_start_at = max(self.html_start_at - free, 0)
        if self.start_at is not None:
            self.start_at = max(self.start_at - free, 0)
        self._measure(before, free, out)
        if self.size > self.limit:
            return out + self._oversize()
        return out

    def _measure(self, before: int, free: int, out: bytes) -> None:
        """Update ``size``: ``held`` was ``before`` bytes, this feed added to it and
        released ``out`` (``free`` bytes). Only bytes that stay held are measured
        (a UTF-8 page's are counted as they are)."""
        if self.codec == "utf-8":
            self.size = len(self.held)
        elif free >= before:  # all that is held came in this feed
            self.size = self._bytes(self.held)
        else:
            self.size += self._bytes(self.held[before - free :]) - self._bytes(out)

    def _bytes(self, data: bytes | bytearray) -> int:
        """How many bytes ``data`` (UTF-8) takes in the page's charset."""
        return len(data.decode("utf-8", "replace").encode(self.codec, "replace"))

    def _oversize(self) -> bytes:
        """What is held outgrew ``limit``: fail, or send it on and give the snippet up."""
        outgrown(self.filter, "the page after the place for the snippet", "the page goes out without it")
        held, self.held, self.places, self.done = bytes(self.held), bytearray(), [], True
        return held

    def finish(self, data: bytes) -> bytes:
        return self.feed(data, final=True)
