"""``Inject``: put an HTML snippet at the end of ``<head>`` or ``<body>``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .. import charsets
from ..errors import FilterError
from ..filter import Filter
from ..headers import Headers
from ..html import engine
from ..html.rewriter import outgrown
from ..mediatypes import parse_content_type

# An end tag, as browsers tokenize it: its name, then whitespace, "/" or ">", anything up to ">".
_HEAD_CLOSE = re.compile(r"</head(?=[\t\n\f\r />])[^>]*>", re.I)
_BODY_OPEN = re.compile(r"<body[\s/>]", re.I)
_BODY_CLOSE = re.compile(r"</body(?=[\t\n\f\r />])[^>]*>", re.I)
_HTML_CLOSE = re.compile(r"</html(?=[\t\n\f\r />])[^>]*>", re.I)


def _last(pattern: re.Pattern[str], text: str) -> int | None:
    """Where the last match of ``pattern`` in ``text`` starts, or None."""
    start = None
    for match in pattern.finditer(text):
        start = match.start()
    return start


def _first(pattern: re.Pattern[str], text: str) -> int | None:
    match = pattern.search(text)
    return match.start() if match else None


class Inject(Filter):
    """Insert ``html`` just before ``</body>`` (``where='body'``) or ``</head>``
    (``where='head'``): analytics, banners, development toolbars.

    The response is decoded by its charset and written back in it. When the
    closing tag is missing and ``missing='fallback'``, the snippet goes before
    the next landmark: for ``head``, the ``<body>`` tag (also when it comes
    before ``</head>``), then ``</html>``; for ``body``, ``</html>``; else the
    end of the document. ``missing='skip'``
    leaves such responses unchanged.

    It streams: the page goes out as it arrives, in constant memory, holding
    back only what may still follow the landmark (from the last ``</body>``
    on, say), at most ``max_buffer_size`` bytes of it: past that, ``oversize``
    applies (``'pass'`` sends the page on without the snippet). With the
    ``dualfilter[html]`` extra the landmarks are real tags found by
    :mod:`dualfilter.html` (not ``</body>`` in a script or a comment), any
    page charset streams, and the rest of the page is byte for byte (a page
    whose charset, from a ``<meta>`` or the bytes, cannot hold the snippet
    goes out as UTF-8 from its first byte, the Content-Type saying so); without
    it they are found in the decoded text, and a page whose Content-Type
    declares no charset is buffered. A compressed page, or one whose charset
    cannot hold the snippet, is buffered (``max_buffer_size`` applies).
    """

    filter_content_types = ("text/html", "application/xhtml+xml")
    decode_unicode = True
    #: The HTML to insert, as is.
    html: str = ""
    #: ``'body'`` (before ``</body>``) or ``'head'`` (before ``</head>``).
    where: str = "body"
    #: When the closing tag is missing: ``'fallback'`` (the next landmark) or ``'skip'``.
    missing: str = "fallback"

    def _configure(self) -> None:
        if self.format is not None or self.format_output is not None or not self.decode_unicode:
            raise ValueError("Inject reads the page as text: format, format_output and decode_unicode=False do not apply")
        self._engine: Any = None
        if engine.lolhtml is not None:
            from ..html.inject import InjectRewriter

            self.decode_unicode = False
            self._engine = InjectRewriter(
                html=self.html,
                where=self.where,
                missing=self.missing,
                max_buffer_size=self.max_buffer_size,
                oversize=self.oversize,
                unicode_errors=self.unicode_errors,
                label=self.name,
            )
        super()._configure()
        if not self.html:
            raise ValueError("Inject needs the html option: the snippet to insert")
        if self.where not in ("head", "body"):
            raise ValueError(f"where must be 'head' or 'body', not {self.where!r}")
        if self.missing not in ("fallback", "skip"):
            raise ValueError(f"missing must be 'fallback' or 'skip', not {self.missing!r}")

    def position(self, text: str) -> int | None:
        """Where the snippet goes in ``text``, or None to leave it unchanged."""
        if self.where == "head":
            found = _first(_HEAD_CLOSE, text)
            if self.missing == "skip":
                return found
            body = _first(_BODY_OPEN, text)
            if found is None or (body is not None and body < found):
                found = body  # the head ends where the body starts, tag or no tag
            if found is not None:
                return found
        else:
            found = _last(_BODY_CLOSE, text)
            if found is not None or self.missing == "skip":
                return found
        found = _last(_HTML_CLOSE, text)
        return len(text) if found is None else found

    def filter(self, environ: Mapping[str, Any], headers: Headers, data: Any) -> Any:
        """The document with the snippet inserted."""
        if self._engine is not None:
            return self._engine.filter(environ, headers, data)
        at = self.position(data)
        if at is None:
            return data
        return data[:at] + self.html + data[at:]

    def stream(self, environ: Mapping[str, Any], headers: Headers) -> Any:
        """The streaming form of ``filter``; None (buffer) when the declared
        charset cannot hold the snippet, as the buffered form can change it."""
        content_type = headers.get("content-type") or ""
        charset = parse_content_type(content_type)[1].get("charset")
        try:
            codec = charsets.lookup(charset) if charset else "utf-8"
            self.html.encode(codec)
        except (UnicodeEncodeError, FilterError):
            return None
        if self._engine is not None:
            return self._engine.stream(environ, headers)
        return InjectStream(self, charsets.STREAM_CODEC.get(codec, codec))


def _partial(name: str, closing: bool) -> re.Pattern[str]:
    """Matches any prefix of the end tag ``</name ...>`` (or of ``<name``): the tail a later chunk may complete."""
    letters = "</" + name if closing else "<" + name
    pattern = r"(?:[\t\n\f\r /][^>]*)?" if closing else ""
    for letter in reversed(letters[1:]):
        pattern = f"(?:{re.escape(letter)}{pattern})?"
    return re.compile("<" + pattern + r"\Z", re.I)


_PARTIALS = (_partial("body", True), _partial("head", True), _partial("html", True), _partial("body", False))


class InjectStream:
    """Inserts the snippet while the page streams through.

    Text goes out as soon as no later chunk can change where the snippet
    belongs; what is held is the text from the last candidate landmark on
    (usually ``</body></html>``) and a tail that may be the start of a tag.
    Each chunk is searched once, with that tail; what is held is measured in
    bytes of the page's charset (``codec``) and bounded by ``max_buffer_size``,
    past which ``oversize`` applies (``'pass'``: the page goes on without the
    snippet).
    """

    __slots__ = ("inject", "codec", "held", "tail", "anchor", "size", "done")

    def __init__(self, inject: Inject, codec: str = "utf-8") -> None:
        self.inject = inject
        self.codec = codec
        #: Text held from the landmark ``anchor`` on, but ``tail``; already searched.
        self.held: list[str] = []
        #: The end of the text held that a later chunk may complete into a tag: searched again.
        self.tail = ""
        #: The landmark ``held`` starts at (``</body>`` or ``</html>``); None: only ``tail`` is held.
        self.anchor: re.Pattern[str] | None = None
        #: The size of ``held`` in the page's charset.
        self.size = 0
        self.done = False

    def feed(self, text: str) -> str:
        if self.done:
            return text
        inject = self.inject
        scan = self.tail + text
        if inject.where == "head":
            found = inject.position(scan) if _HEAD_CLOSE.search(scan) or _BODY_OPEN.search(scan) else None
            if found is not None:
                held, self.done = "".join(self.held), True
                self.held, self.tail, self.size = [], "", 0
                return held + scan[:found] + inject.html + scan[found:]
            landmarks: tuple[re.Pattern[str], ...] = (_HTML_CLOSE,) if inject.missing == "fallback" else ()
        elif self.anchor is _BODY_CLOSE or inject.missing == "skip":
            landmarks = (_BODY_CLOSE,)
        else:
            landmarks = (_BODY_CLOSE, _HTML_CLOSE)  # a </body> wins over any </html>
        keep = None
        for landmark in landmarks:
            keep = _last(landmark, scan)
            if keep is not None:
                break
        # A later landmark can only move the insertion point further on: the
        # text before it goes out.
        if keep is not None:
            out, self.anchor = "".join(self.held) + scan[:keep], landmark
            self.held, self.size, scan = [], 0, scan[keep:]
        else:
            out = ""
        cut = len(scan)
        for partial in _PARTIALS:
            match = partial.search(scan)
            if match is not None:
                cut = min(cut, match.start())
        if self.anchor is None:
            out += scan[:cut]
        elif cut:
            self.held.append(scan[:cut])
            self.size += self._bytes(scan[:cut])
        self.tail = scan[cut:]
        if self.size + self._bytes(self.tail) > inject.max_buffer_size:
            return out + self._oversize()
        return out

    def _bytes(self, text: str) -> int:
        """How many bytes ``text`` takes in the page's charset."""
        return len(text.encode(self.codec, "replace")) if text else 0

    def _oversize(self) -> str:
        """What is held outgrew ``max_buffer_size``: fail, or send it on and give the snippet up."""
        outgrown(self.inject, "the page after the place for the snippet", "the page goes out without it")
        held, self.done = "".join(self.held) + self.tail, True
        self.held, self.tail, self.size = [], "", 0
        return held

    def finish(self) -> str:
        if self.done:
            return ""
        held = "".join(self.held) + self.tail
        self.held, self.tail, self.size = [], "", 0
        out: str = self.inject.filter({}, Headers(), held)
        return out
