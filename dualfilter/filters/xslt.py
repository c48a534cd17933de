"""``XSLT``: transform XML or HTML responses with a stylesheet compiled once."""

from __future__ import annotations

import hashlib
import os
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from ..errors import FilterError
from ..extras import require
from ..filter import Filter
from ..formats.lxml_trees import expanded_xml, read_xml
from ..headers import Headers
from ..mediatypes import format_content_type, parse_content_type

XSL_NAMESPACE = "http://www.w3.org/1999/XSL/Transform"
#: The Content-Type an ``xsl:output method`` gives when the stylesheet names no ``media-type``.
METHOD_MEDIA_TYPES = {"html": "text/html", "text": "text/plain"}


class XSLT(Filter):
    """Apply the XSLT 1.0 ``stylesheet`` (a file path) to XML and HTML responses.

    The stylesheet, and every file it imports, includes or reads with
    ``document()``, is parsed safely (internal entities expanded; no network, no
    DTD, no external entity) and compiled once per filter; while it runs it may
    read local files but not the network, and write nothing.
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
        except (lxml.etree.LxmlError, OSError) as exc:  # lxml's, or what reading an import raised
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
            tree = stylesheet.getroottree() if isinstance(stylesheet, lxml.etree._Element) else stylesheet
            return _loaded(lxml.etree.tostring(tree), tree.docinfo.URL)  # read again, as a file is
        if not isinstance(stylesheet, (str, bytes, os.PathLike)):
            raise TypeError(f"stylesheet must be a path (str) or an lxml document, not {stylesheet!r}")
        path = os.fspath(stylesheet)
        self._label = repr(path)
        try:
            with open(path, "rb") as file:
                return _loaded(file.read(), os.path.abspath(path))
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
        except (lxml.etree.LxmlError, OSError) as exc:  # lxml's, or what reading a document() raised
            raise FilterError(f"stylesheet {self._label} failed: {exc}") from None
        output: bytes = bytes(result)
        method = self._method
        if method is None:
            # XSLT 1.0 section 16: html when the root is <html> and no text but white space
            # comes before it; libxslt then writes no XML declaration, which tells the two apart.
            root = result.getroot()
            is_html = root is not None and isinstance(root.tag, str) and root.tag.lower() == "html"
            method = "html" if is_html and not output.startswith(b"<?xml") else "xml"
        media_type, params = parse_content_type(self._media_type or "")  # a media-type may carry parameters
        if not media_type:
            media_type, params = METHOD_MEDIA_TYPES.get(method, ""), {}
        if not media_type:
            media_type, params = parse_content_type(headers.get("Content-Type") or "")[0] or "application/xml", {}
        # The charset is the one the output is written in, whatever a media-type attribute says.
        headers["Content-Type"] = format_content_type(media_type, {**params, "charset": self._encoding.lower()})
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
            return lxml.etree.ElementTree(read_xml(file.read(), base_url=path))
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


def _loaded(data: bytes, url: str | bytes | None) -> Any:
    """The stylesheet document ``data`` (from ``url``) as it is compiled: parsed as
    :func:`_loading_parser` parses what it imports, includes and reads with ``document()``."""
    import lxml.etree

    parser = _loading_parser()
    return lxml.etree.fromstring(_expanded(data, url), parser, base_url=url).getroottree()  # type: ignore[arg-type]  # None: no URL


def _expanded(data: bytes, url: str | bytes | None) -> bytes:
    """The XML document ``data`` with its internal entities expanded (read by
    :func:`~dualfilter.formats.lxml_trees.expanded_xml` and written again); as it is when
    that fails: it refers to an entity that is not read (the loading parser then keeps
    its references as written), or is not well-formed (the loading parser says so)."""
    import lxml.etree

    try:
        return lxml.etree.tostring(expanded_xml(data, base_url=url).getroottree())
    except lxml.etree.XMLSyntaxError:
        return data


def _loading_parser() -> Any:
    """The parser the stylesheet is handed to libxslt with. libxslt loads each file the
    stylesheet imports, includes or reads with ``document()`` through its resolver, which
    reads local files only, their internal entities expanded (a network URL is refused,
    at run time by the access control first); the parser itself expands and loads nothing."""
    import lxml.etree

    class LocalFiles(lxml.etree.Resolver):
        def resolve(self, url: str, pubid: str | None, context: Any) -> Any:  # type: ignore[override]  # lxml passes a context
            with open(_local_path(url), "rb") as file:
                return self.resolve_string(_expanded(file.read(), url), context, base_url=url)

    parser = lxml.etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    parser.resolvers.add(LocalFiles())
    return parser


def _local_path(url: str) -> str:
    """The file a URL libxslt asks for names; OSError for anything but a local file."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file" and parts.netloc in ("", "localhost"):
        return urllib.request.url2pathname(parts.path)
    if len(parts.scheme) > 1:  # one letter is a Windows drive
        raise OSError(f"{url} is not a local file")
    return url
