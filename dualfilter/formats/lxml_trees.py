"""The ``lxml_html`` and ``lxml_xml`` formats: markup as lxml element trees.

lxml is imported on first use, so the rest of dualfilter works without it; a
filter using these formats checks for it when it is built (the ``lxml`` extra).
XML is parsed safely: internal entities expanded within libxml2's amplification
limit (a billion laughs fails at once), no DTD or external entity loading, no
network access, and libxml2's limits on tree depth and text size kept.
"""

from __future__ import annotations

import dataclasses
import re
import weakref
from typing import Any

from .. import charsets
from ..body import NothingToParse
from ..charsets import Charset
from ..errors import FilterError
from . import Format

XHTML = "application/xhtml+xml"
#: An XML declaration at the start of an HTML page (after white space): browsers read it as a comment.
_XML_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*>")
#: An HTML page with nothing in it: white space, and a doctype at most.
#: A page with no element: white space, a doctype, comments (browsers show it blank).
_EMPTY_HTML = re.compile(r"(?:[ \t\n\f\r]+|<!doctype[^>]*>|<!--.*?-->)*", re.IGNORECASE | re.DOTALL)
#: libxml2's errors for a reference to an entity the parser does not read.
_UNREAD_ENTITY = frozenset({26, 27})  # XML_ERR_UNDECLARED_ENTITY, XML_WAR_UNDECLARED_ENTITY


#: What makes a page a document rather than a fragment: a doctype, or an html, head or body tag
#: (``document``), met outside comments and the text of raw text elements (``hidden``), where
#: an HTML tokenizer reads no tag.
_DOCUMENT_TAG = re.compile(
    r"(?P<hidden><!--.*?(?:-->|\Z)|<(?P<raw>script|style|textarea|title|xmp|iframe|noembed|noframes)\b.*?(?:</(?P=raw)\s*>|\Z))"
    r"|(?P<document><(?:!doctype|html|head|body)[\s>/])",
    re.IGNORECASE | re.DOTALL,
)
#: The parsed documents that came as fragments (see LxmlHTMLFormat.serialize).
_FRAGMENTS: weakref.WeakSet[Any] = weakref.WeakSet()


def _is_document(text: str) -> bool:
    """Whether an HTML page is a document (see ``_DOCUMENT_TAG``), not a fragment."""
    position = 0
    while (found := _DOCUMENT_TAG.search(text, position)) is not None:
        if found["document"] is not None:
            return True
        position = found.end()
    return False


#: Elements HTML has void (no content, no end tag) that libxml2's HTML parser, which
#: predates them, takes for containers of what follows them.
_VOIDS_LIBXML2_MISSES = ("source", "track", "wbr", "embed", "keygen")


def _unnest_voids(document: Any) -> None:
    """What libxml2 put inside a void element it does not know (``<picture><source><img>``
    reads as an ``img`` inside the ``source``), moved after it, where browsers have it."""
    for element in list(document.iter(*_VOIDS_LIBXML2_MISSES)):
        if not len(element) and not element.text:
            continue
        parent = element.getparent()
        if parent is None:
            continue
        children, text, tail = list(element), element.text, element.tail
        element.text, element.tail = None, text
        at = parent.index(element)
        for offset, child in enumerate(children, 1):
            parent.insert(at + offset, child)
        last = children[-1] if children else element
        last.tail = (last.tail or "") + (tail or "") or None


class LxmlFormat(Format):
    """What the lxml formats share: they need lxml, and take an element or a tree back."""

    requires = ("lxml", "lxml.etree")

    expects = "an lxml element or tree"

    def accepts(self, value: Any) -> bool:
        import lxml.etree

        return isinstance(value, (lxml.etree._Element, lxml.etree._ElementTree))

    def tree(self, value: Any) -> Any:
        """The whole document of a filter's result (doctype included); FilterError for anything else."""
        import lxml.etree

        if not self.accepts(value):
            raise FilterError(f"filter returned {type(value).__name__}, expected an lxml element or tree")
        return value if isinstance(value, lxml.etree._ElementTree) else value.getroottree()


class LxmlHTMLFormat(LxmlFormat):
    """HTML as the root ``lxml.html.HtmlElement`` of the document.

    ``text/html`` is decoded by dualfilter's charset rules, parsed as browsers
    parse HTML (an XML declaration at the start is passed over, as browsers
    read it as a comment) and written back in the same charset when it can
    hold the result; the doctype is kept. ``application/xhtml+xml`` is XML to
    browsers: it is parsed and written back as XML (``lxml_xml``'s rules, the
    elements ``lxml.html`` ones), so it stays well-formed.
    """

    name = "lxml_html"
    media_types = ("text/html", "application/xhtml+xml")
    output_type = "lxml.etree"

    def parse(self, data: bytes, declared: str | None, media_type: str, errors: str = "strict") -> tuple[Any, Charset | None]:
        import lxml.etree
        import lxml.html

        if media_type == XHTML:
            return _parse_xml(data, declared, lxml.html.XHTMLParser, media_type, errors)
        text, charset = charsets.decode(data, declared, media_type, errors)
        text = _XML_DECLARATION.sub("", _holdable(text, errors), count=1)
        parser = lxml.html.HTMLParser(no_network=True, huge_tree=False, remove_comments=False, default_doctype=False)  # type: ignore[call-arg]  # lxml-stubs lag lxml 5
        try:
            document = lxml.html.document_fromstring(text, parser=parser)
        except (lxml.etree.LxmlError, ValueError) as exc:
            if _EMPTY_HTML.fullmatch(text):
                raise NothingToParse from None  # a page with nothing to filter passes as it is
            raise FilterError(f"response body is not parseable HTML: {exc}") from None
        for entry in parser.error_log:
            # libxml2 stops at its limits (nesting, a huge text node) without raising: the rest
            # of the page would be lost without a word, so it is the clean 500, as for XML.
            if entry.level_name == "FATAL":
                raise FilterError(f"response body is beyond the HTML parser's limits: {entry.message}")
        _unnest_voids(document)
        if not _is_document(text):
            _FRAGMENTS.add(document)  # written back as the fragment it came as
        return document, charset

    def serialize(
        self, value: Any, charset: Charset | None, media_type: str, output_encoding: str
    ) -> tuple[bytes, Charset | None]:
        import lxml.etree

        tree = self.tree(value)
        if media_type == XHTML:
            return _serialize_xml(tree, charset, media_type, output_encoding)
        root = tree.getroot()
        if root in _FRAGMENTS:
            # A page that came without <html>, <head>, <body> or a doctype (a partial, as
            # htmx and the like swap in): what the parser put in head and body, as it was.
            def written(nodes: Any) -> str:
                return "".join(lxml.etree.tostring(node, method="html", encoding="unicode", with_tail=True) for node in nodes)

            parts = [written(reversed(list(root.itersiblings(preceding=True))))]  # comments before it
            parts += [(part.text or "") + written(part) for part in (root.find("head"), root.find("body")) if part is not None]
            parts.append(written(root.itersiblings()))
            return charsets.encode("".join(parts), charset, output_encoding)
        text = lxml.etree.tostring(tree, method="html", encoding="unicode")
        return charsets.encode(text, charset, output_encoding)


class LxmlXMLFormat(LxmlFormat):
    """XML as the root ``lxml.etree._Element``; written back with its declaration,
    doctype and encoding."""

    name = "lxml_xml"
    media_types = ("application/xml", "text/xml", "*/*+xml")
    output_type = "lxml.etree"

    def parse(self, data: bytes, declared: str | None, media_type: str, errors: str = "strict") -> tuple[Any, Charset | None]:
        import lxml.etree

        return _parse_xml(data, declared, lxml.etree.XMLParser, media_type, errors)

    def serialize(
        self, value: Any, charset: Charset | None, media_type: str, output_encoding: str
    ) -> tuple[bytes, Charset | None]:
        return _serialize_xml(self.tree(value), charset, media_type, output_encoding)


#: libxml2's names of the codecs a byte order mark names.
_LIBXML2_NAME = {"utf-8": "UTF-8", "utf-16-be": "UTF-16BE", "utf-16-le": "UTF-16LE"}


def _parse_xml(
    data: bytes, declared: str | None, parser_class: Any, media_type: str, errors: str = "strict"
) -> tuple[Any, Charset | None]:
    """The root element of an XML document, parsed safely with ``parser_class``
    (lxml's XML parser, or its XHTML one for ``lxml.html`` elements), and the
    charset it is read in: a byte order mark's, else the one the Content-Type
    declares. That one is read with dualfilter's codec (libxml2 knows other
    names for some labels, and none for others) and handed to libxml2 as
    UTF-8; without either, libxml2 reads the document's own declaration. Bytes
    not in the charset go to ``errors`` (the filter's ``unicode_errors``):
    libxml2 refuses them, so under any handler but strict a document it cannot
    read is read again as ``decode_unicode`` text is (its declaration, else UTF-8)."""
    charset = None
    if declared or charsets.bom(data) is not None:
        data, charset = _utf8(data, declared, media_type, errors)
    if not data.strip(b" \t\n\r"):
        raise NothingToParse  # white space only: nothing to filter, it passes as it is
    try:
        return _read_document(data, parser_class, charset), charset
    except FilterError:
        if charset is not None or errors == "strict":
            raise
    data, charset = _utf8(data, declared, media_type, errors)
    return _read_document(data, parser_class, charset), charset


def _utf8(data: bytes, declared: str | None, media_type: str, errors: str) -> tuple[bytes, Charset]:
    """An XML document decoded by dualfilter's charset rules (a byte order mark decides,
    whatever the header says, as browsers read it), as UTF-8 for libxml2, and its charset."""
    text, found = charsets.decode(data, declared, media_type, errors)
    return _holdable(text, errors).encode("utf-8"), Charset(found.codec, found.source, found.label)


def _read_document(data: bytes, parser_class: Any, charset: Charset | None) -> Any:
    """The root element of the document ``data``, in UTF-8 when ``charset`` was found
    (else as its declaration says); FilterError when it is not well-formed."""
    import lxml.etree

    try:
        return read_xml(data, parser_class, encoding="utf-8" if charset is not None else None)
    except (lxml.etree.LxmlError, ValueError) as exc:
        raise FilterError(f"response body is not well-formed XML: {exc}") from None


def _holdable(text: str, errors: str) -> str:
    """Decoded ``text`` as an lxml tree can hold it: the lone surrogates an error handler
    gave (``surrogateescape`` keeps each byte so, which libxml2 would drop) as U+FFFD."""
    return text if errors == "strict" else charsets.without_surrogates(text)


def read_xml(data: bytes, parser_class: Any = None, *, encoding: str | None = None, base_url: str | bytes | None = None) -> Any:
    """The root element of the XML document ``data``, parsed safely with ``parser_class``
    (lxml's XML parser by default), as :func:`expanded_xml` reads it; a document referring
    to an entity it does not declare internally (an external one, or one its external DTD
    declares, as XHTML's ``&nbsp;``) is read with all its entity references kept as written.
    lxml's XMLSyntaxError when it is not well-formed."""
    import lxml.etree

    try:
        return expanded_xml(data, parser_class, encoding=encoding, base_url=base_url)
    except lxml.etree.XMLSyntaxError as exc:
        if exc.code not in _UNREAD_ENTITY:  # type: ignore[attr-defined]  # lxml-stubs lack it
            raise
    parser = _xml_parser(parser_class, False, encoding)
    return lxml.etree.fromstring(data, parser=parser, base_url=base_url)  # type: ignore[arg-type]  # None: no URL


def expanded_xml(
    data: bytes, parser_class: Any = None, *, encoding: str | None = None, base_url: str | bytes | None = None
) -> Any:
    """The root element of the XML document ``data``, parsed safely: internal entities
    expanded (within libxml2's amplification limit: a billion laughs fails at once), no
    DTD, external entity or parameter entity loaded, no network. lxml's XMLSyntaxError
    when it is not well-formed, or refers to an entity that is not read."""
    import lxml.etree

    parser = _xml_parser(parser_class, "internal", encoding)
    return lxml.etree.fromstring(data, parser=parser, base_url=base_url)  # type: ignore[arg-type]  # None: no URL


def _xml_parser(parser_class: Any, resolve_entities: str | bool, encoding: str | None) -> Any:
    """A parser of ``parser_class`` (lxml's XML parser by default) that loads nothing."""
    import lxml.etree

    factory: Any = parser_class or lxml.etree.XMLParser  # lxml-stubs lag lxml 5's resolve_entities="internal"
    return factory(
        resolve_entities=resolve_entities,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        encoding=encoding,
    )


def _serialize_xml(tree: Any, charset: Charset | None, media_type: str, output_encoding: str) -> tuple[bytes, Charset | None]:
    """An XML document written back with its declaration (``standalone``
    included) and doctype, in the charset it came in (a byte order mark's,
    written back with the mark and the header left as it is; the
    Content-Type's, with dualfilter's codec; else its own declaration's, with
    libxml2's), or in ``output_encoding`` where that one cannot hold it."""
    import lxml.etree

    # lxml reads standalone="no" and no standalone declaration alike (False), which mean the same.
    docinfo = tree.docinfo
    options: dict[str, Any] = {"xml_declaration": True}
    if docinfo.standalone:
        options["standalone"] = True
    if _xhtml_doctype(docinfo):
        tree, options["doctype"] = _detached(tree), docinfo.doctype
    if charset is not None and charset.source == "bom":
        marked = lxml.etree.tostring(tree, encoding=_LIBXML2_NAME[charset.codec], **options)
        assert isinstance(marked, bytes)
        return charsets.BOM_OF[charset.codec] + marked, None
    if charset is not None:
        # Read with dualfilter's codec for the label (as browsers read it): written back with it,
        # not with libxml2's codec of that name, which may lack what was read and then writes
        # character references, which XML has none of in comments, PIs and names. What the
        # page's charset cannot hold sends it in output_encoding (charsets.encode).
        written = lxml.etree.tostring(tree, encoding="UTF-8", **options)
        assert isinstance(written, bytes)
        charset = dataclasses.replace(charset, media_type=media_type)
        return charsets.encode(charsets.xml_declaring(written.decode("utf-8"), charset), charset, output_encoding)
    encoding = docinfo.encoding or output_encoding
    try:
        data = lxml.etree.tostring(tree, encoding=encoding, **options)
    except LookupError:
        encoding = output_encoding
        try:
            data = lxml.etree.tostring(tree, encoding=encoding, **options)
        except LookupError as exc:
            raise FilterError(str(exc)) from None
    assert isinstance(data, bytes)
    try:
        codec = charsets.lookup(encoding)
    except FilterError:
        codec = charsets.python_lookup(encoding)
    return data, Charset(codec, "document", encoding)


def _xhtml_doctype(docinfo: Any) -> bool:
    """Whether the document has an XHTML doctype with nothing else in its internal subset:
    libxml2 then writes it in its XHTML mode, which adds a ``<meta http-equiv>`` to its head."""
    ids = f"{docinfo.public_id or ''} {docinfo.system_url or ''}"
    if "xhtml" not in ids.lower():
        return False
    dtd = docinfo.internalDTD
    return dtd is None or not (dtd.elements() or dtd.entities())


def _detached(tree: Any) -> Any:
    """A copy of ``tree`` without its doctype node (written as a string instead), so libxml2
    writes it as the XML it is: the root and the comments and PIs around it, in order."""
    import copy

    import lxml.etree

    root = tree.getroot()
    copied = copy.deepcopy(root)
    for sibling in reversed(list(root.itersiblings(preceding=True))):
        copied.addprevious(copy.deepcopy(sibling))
    last = copied
    for sibling in root.itersiblings():
        last.addnext(following := copy.deepcopy(sibling))
        last = following
    return lxml.etree.ElementTree(copied)
