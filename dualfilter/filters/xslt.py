"""``XSLT``: transform XML or HTML responses with a stylesheet compiled once."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

from ..errors import FilterError
from ..extras import require
from ..filter import Filter
from ..headers import Headers
from ..mediatypes import format_content_type, parse_content_type

XSL_NAMESPACE = "http://www.w3.org/1999/XSL/Transform"
#: The Content-Type an ``xsl:output method`` gives when the stylesheet names no ``media-type``.
METHOD_MEDIA_TYPES = {"html": "text/html", "text": "text/plain"}


class XSLT(Filter):
    """Apply the XSLT 1.0 ``stylesheet`` (a file path) to XML and HTML responses.

    The stylesheet is parsed safely (no network, no DTD, no entity expansion)
    and compiled once per filter; while it runs it may read local files
    (``xsl:import``, ``document()``) but not the network, and write nothing.
    The result is serialized as ``xsl:output`` says; the Content-Type follows
    its ``media-type`` (else ``method``: ``html`` gives text/html, ``text``
    text/plain, ``xml`` keeps the response's type) and ``encoding`` (UTF-8).
    It needs lxml (``pip install 'dualfilter[lxml]'``).
    """

    format_output = "lxml.etree"
    #: Path of the stylesheet file (or an already parsed lxml document).
    stylesheet: Any = None

    def _configure(self) -> None:
        require("lxml", "lxml.etree", purpose="XSLT")  # before the format's own check, to name XSLT
        import lxml.etree

        document = self._parse_stylesheet(self.stylesheet)
        self._digest = _digest(document)  # before the options' checks, which ask validator_token()
        super()._configure()
        access = lxml.etree.XSLTAccessControl(  # type: ignore[call-arg]
            read_network=False, write_file=False, create_dir=False, write_network=False
        )
        try:
            self._transform = lxml.etree.XSLT(document, access_control=access)
        except lxml.etree.XSLTParseError as exc:
            raise ValueError(f"stylesheet {self._label} is not valid XSLT: {exc}") from None
        output = _output(document, set())
        self._method = output.get("method")
        self._media_type = output.get("media-type")
        self._encoding = output.get("encoding", "UTF-8")

    def _parse_stylesheet(self, stylesheet: Any) -> Any:
        import lxml.etree

        if stylesheet is None:
            raise ValueError("XSLT needs the stylesheet option: the path of an XSLT file")
        if isinstance(stylesheet, (lxml.etree._Element, lxml.etree._ElementTree)):
            self._label = "<document>"
            return stylesheet.getroottree() if isinstance(stylesheet, lxml.etree._Element) else stylesheet
        if not isinstance(stylesheet, (str, bytes, os.PathLike)):
            raise TypeError(f"stylesheet must be a path (str) or an lxml document, not {stylesheet!r}")
        path = os.fspath(stylesheet)
        self._label = repr(path)
        parser = _safe_parser()
        try:
            with open(path, "rb") as file:
                return lxml.etree.parse(file, parser, base_url=os.path.abspath(path))
        except OSError as exc:
            raise ValueError(f"cannot read stylesheet {path!r}: {exc.strerror or exc}") from None
        except lxml.etree.XMLSyntaxError as exc:
            raise ValueError(f"stylesheet {path!r} is not well-formed XML: {exc}") from None

    def validator_token(self) -> str:
        """The filter's class and options, and the stylesheet's content (with the
        files it imports and includes): a new stylesheet at the same path makes
        new derived ETags."""
        return hashlib.sha256(f"{super().validator_token()}:{self._digest}".encode()).hexdigest()[:12]

    def filter(self, environ: Mapping[str, Any], headers: Headers, data: Any) -> bytes:
        """The transformed document, serialized by ``xsl:output``; sets Content-Type."""
        import lxml.etree

        try:
            result = self._transform(data)
        except lxml.etree.XSLTApplyError as exc:
            raise FilterError(f"stylesheet {self._label} failed: {exc}") from None
        output: bytes = bytes(result)
        method = self._method
        if method is None:
            # XSLT 1.0 section 16: html when the root is <html> and no text but white space
            # comes before it; libxslt then writes no XML declaration, which tells the two apart.
            root = result.getroot()
            is_html = root is not None and isinstance(root.tag, str) and root.tag.lower() == "html"
            method = "html" if is_html and not output.startswith(b"<?xml") else "xml"
        media_type = self._media_type or METHOD_MEDIA_TYPES.get(method)
        if media_type is None:
            media_type = parse_content_type(headers.get("Content-Type") or "")[0] or "application/xml"
        headers["Content-Type"] = format_content_type(media_type, {"charset": self._encoding.lower()})
        return output


#: How many stylesheet files (a stylesheet and what it imports) the digest reads at most.
_MOST_FILES = 100


def _digest(document: Any) -> str:
    """A hash of a stylesheet and the local files it imports or includes, as they are now."""
    import lxml.etree

    digest = hashlib.sha256()
    seen: set[str] = set()
    pending = [document]
    while pending and len(seen) < _MOST_FILES:
        current = pending.pop()
        digest.update(lxml.etree.tostring(current))
        base = current.docinfo.URL or ""
        seen.add(base)
        for element in current.getroot().iterchildren(f"{{{XSL_NAMESPACE}}}import", f"{{{XSL_NAMESPACE}}}include"):
            referenced = _referenced(element, base)
            if referenced is not None and (referenced.docinfo.URL or "") not in seen:
                pending.append(referenced)
    return digest.hexdigest()


def _referenced(element: Any, base: str) -> Any | None:
    """The stylesheet an ``xsl:import`` or ``xsl:include`` names, parsed; None when unreadable."""
    import lxml.etree

    href = element.get("href")
    path = os.path.join(os.path.dirname(base), href) if href else ""
    if not path or not os.path.isfile(path):
        return None
    try:
        with open(path, "rb") as file:
            return lxml.etree.ElementTree(lxml.etree.fromstring(file.read(), _safe_parser(), base_url=path))
    except (OSError, lxml.etree.XMLSyntaxError):
        return None  # compiling it said what is wrong


def _output(document: Any, seen: set[str]) -> dict[str, str]:
    """The ``xsl:output`` attributes in force, merged as XSLT 1.0 section 16 has it: an
    imported stylesheet's first (lower precedence), then the stylesheet's own and what
    it includes, in document order."""
    base = document.docinfo.URL or ""
    if base in seen or len(seen) >= _MOST_FILES:
        return {}
    seen.add(base)
    merged: dict[str, str] = {}
    root = document.getroot()
    for element in root.iterchildren(f"{{{XSL_NAMESPACE}}}import"):
        imported = _referenced(element, base)
        if imported is not None:
            merged.update(_output(imported, seen))
    for element in root.iterchildren(f"{{{XSL_NAMESPACE}}}include", f"{{{XSL_NAMESPACE}}}output"):
        if element.tag == f"{{{XSL_NAMESPACE}}}output":
            merged.update(element.attrib)
        else:
            included = _referenced(element, base)
            if included is not None:
                merged.update(_output(included, seen))
    return merged


def _safe_parser() -> Any:
    """An XML parser that reads no network, no DTD and expands no entities."""
    import lxml.etree

    return lxml.etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
