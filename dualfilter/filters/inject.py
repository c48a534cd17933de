"""``Inject``: put an HTML snippet at the end of ``<head>`` or ``<body>``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..filter import Filter
from ..headers import Headers

_HEAD_CLOSE = re.compile(r"</head\s*>", re.I)
_BODY_OPEN = re.compile(r"<body[\s/>]", re.I)
_BODY_CLOSE = re.compile(r"</body\s*>", re.I)
_HTML_CLOSE = re.compile(r"</html\s*>", re.I)


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
    the next landmark: for ``head``, the ``<body>`` tag, then ``</html>``; for
    ``body``, ``</html>``; else the end of the document. ``missing='skip'``
    leaves such responses unchanged. This filter buffers the response
    (``max_buffer_size`` applies); streaming insertion is planned.
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
            if found is not None or self.missing == "skip":
                return found
            found = _first(_BODY_OPEN, text)
            if found is not None:
                return found
        else:
            found = _last(_BODY_CLOSE, text)
            if found is not None or self.missing == "skip":
                return found
        found = _last(_HTML_CLOSE, text)
        return len(text) if found is None else found

    def filter(self, environ: Mapping[str, Any], headers: Headers, data: str) -> str:
        """The document with the snippet inserted."""
        at = self.position(data)
        if at is None:
            return data
        return data[:at] + self.html + data[at:]
