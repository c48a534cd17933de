"""Turning a response body into text and back, as browsers read it.

Which charset a body is in is decided as the WHATWG Encoding and HTML
standards have browsers decide it, first match wins:

1. a byte order mark (UTF-8, UTF-16LE or UTF-16BE), whatever the header says;
2. the Content-Type ``charset`` parameter;
3. for HTML, the ``<meta>`` the HTML standard's prescan finds in the first
   1024 bytes (a ``charset`` attribute, or ``http-equiv="content-type"`` with
   a ``content`` naming one; comments and other tags' attributes skipped, a
   label browsers do not know passed over; a page that starts ``<?x`` in
   UTF-16 is UTF-16), else an XML declaration at the very start; for XML
   types, the XML declaration;
4. the default: UTF-8 when the bytes are valid UTF-8, else windows-1252 as
   browsers decode it, where every byte is a character (so nothing is lost).

``text/event-stream`` is always UTF-8 (the EventSource standard).

Labels are read through the Encoding standard's table: ``iso-8859-1``,
``latin1``, ``us-ascii`` and ``ascii`` all name windows-1252, as they do in
browsers, and decode with its browser mapping (bytes 0x80-0x9F are ``€``,
``“`` and so on; the five bytes windows-1252 leaves unassigned are the C1
controls of the same number). gbk and gb18030 decode as browsers do (0x80 is
``€``; GB18030-2022's mappings), and write ``€`` as their encoders do: 0x80
for gbk, 0xA2 0xE3 for gb18030. A Content-Type label the table lacks but
Python knows (``latin-1``, ``utf-32``, ``cp437``) decodes with Python's codec
of that name; a label neither knows is an error. In the document only labels
browsers know count, as only they count for browsers.

Writing back: text equal to the text decoded is written as the very bytes it
came from, and the Content-Type is left as it was — a filter that returns the
text unchanged never changes what a client shows. Other text is written in the
charset it came in when that can hold it, else in the filter's
``output_encoding``, which the Content-Type then declares. Under an iso-8859-1
or ASCII label "can hold" is narrower: only bytes every client reads alike
(no 0x80-0x9F; nothing above 0x7F for ASCII), so the label stays true for
browsers and for clients that read it literally. XML written in
``output_encoding`` has its XML declaration name it too, for parsers that read
the bytes without the header. After a byte order mark the
mark is written again and the header left alone (the mark decides). Text that
came with no declaration at all is declared only when it was valid UTF-8 and
the output is not plain ASCII; bytes that were not UTF-8 stay undeclared, for
the browser to read as it read them before.
"""

from __future__ import annotations

import codecs
import importlib
import re
from dataclasses import dataclass, field
from functools import lru_cache

from . import gb18030, prescan
from .errors import FilterError

#: How many leading bytes are searched for an in-document declaration.
SNIFF_BYTES = 1024

#: The byte order marks browsers honour (WHATWG "BOM sniff"); UTF-32 marks are not among them.
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_BE, "utf-16-be"), (codecs.BOM_UTF16_LE, "utf-16-le"))
#: The marks a JSON body is read by (RFC 8259 section 8.1 lets a parser read one; ``json``
#: reads these): UTF-32's too, looked for before UTF-16's, the start of UTF-32-LE's.
_JSON_BOMS = ((codecs.BOM_UTF32_BE, "utf-32-be"), (codecs.BOM_UTF32_LE, "utf-32-le"), *_BOMS)
#: The mark an event stream is read by: UTF-8's alone (the EventSource standard).
_EVENT_STREAM_BOMS = _BOMS[:1]
#: The mark of each codec a byte order mark names.
BOM_OF = {codec: mark for mark, codec in _JSON_BOMS}

#: The WHATWG Encoding standard's labels (https://encoding.spec.whatwg.org/#names-and-labels),
#: by encoding name; the ``replacement`` encoding's labels are left to Python's codecs.
_LABELS: dict[str, tuple[str, ...]] = {
    "utf-8": ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf-8", "utf8", "x-unicode20utf8"),
    "ibm866": ("866", "cp866", "csibm866", "ibm866"),
    "iso-8859-2": (
        "csisolatin2", "iso-8859-2", "iso-ir-101", "iso8859-2", "iso88592",
        "iso_8859-2", "iso_8859-2:1987", "l2", "latin2",
    ),
    "iso-8859-3": (
        "csisolatin3", "iso-8859-3", "iso-ir-109", "iso8859-3", "iso88593",
        "iso_8859-3", "iso_8859-3:1988", "l3", "latin3",
    ),
    "iso-8859-4": (
        "csisolatin4", "iso-8859-4", "iso-ir-110", "iso8859-4", "iso88594",
        "iso_8859-4", "iso_8859-4:1988", "l4", "latin4",
    ),
    "iso-8859-5": (
        "csisolatincyrillic", "cyrillic", "iso-8859-5", "iso-ir-144", "iso8859-5", "iso88595", "iso_8859-5", "iso_8859-5:1988",
    ),
    "iso-8859-6": (
        "arabic", "asmo-708", "csiso88596e", "csiso88596i", "csisolatinarabic", "ecma-114", "iso-8859-6", "iso-8859-6-e",
        "iso-8859-6-i", "iso-ir-127", "iso8859-6", "iso88596", "iso_8859-6", "iso_8859-6:1987",
    ),
    "iso-8859-7": (
        "csisolatingreek", "ecma-118", "elot_928", "greek", "greek8", "iso-8859-7", "iso-ir-126", "iso8859-7", "iso88597",
        "iso_8859-7", "iso_8859-7:1987", "sun_eu_greek",
    ),
    "iso-8859-8": (
        "csiso88598e", "csisolatinhebrew", "hebrew", "iso-8859-8", "iso-8859-8-e", "iso-ir-138", "iso8859-8", "iso88598",
        "iso_8859-8", "iso_8859-8:1988", "visual",
    ),
    "iso-8859-8-i": ("csiso88598i", "iso-8859-8-i", "logical"),
    "iso-8859-10": ("csisolatin6", "iso-8859-10", "iso-ir-157", "iso8859-10", "iso885910", "l6", "latin6"),
    "iso-8859-13": ("iso-8859-13", "iso8859-13", "iso885913"),
    "iso-8859-14": ("iso-8859-14", "iso8859-14", "iso885914"),
    "iso-8859-15": ("csisolatin9", "iso-8859-15", "iso8859-15", "iso885915", "iso_8859-15", "l9"),
    "iso-8859-16": ("iso-8859-16",),
    "koi8-r": ("cskoi8r", "koi", "koi8", "koi8-r", "koi8_r"),
    "koi8-u": ("koi8-ru", "koi8-u"),
    "macintosh": ("csmacintosh", "mac", "macintosh", "x-mac-roman"),
    "windows-874": ("dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874"),
    "windows-1250": ("cp1250", "windows-1250", "x-cp1250"),
    "windows-1251": ("cp1251", "windows-1251", "x-cp1251"),
    "windows-1252": (
        "ansi_x3.4-1968", "ascii", "cp1252", "cp819", "csisolatin1", "ibm819", "iso-8859-1", "iso-ir-100", "iso8859-1",
        "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1", "us-ascii", "windows-1252", "x-cp1252",
    ),
    "windows-1253": ("cp1253", "windows-1253", "x-cp1253"),
    "windows-1254": (
        "cp1254", "csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599", "iso_8859-9", "iso_8859-9:1989", "l5",
        "latin5", "windows-1254", "x-cp1254",
    ),
    "windows-1255": ("cp1255", "windows-1255", "x-cp1255"),
    "windows-1256": ("cp1256", "windows-1256", "x-cp1256"),
    "windows-1257": ("cp1257", "windows-1257", "x-cp1257"),
    "windows-1258": ("cp1258", "windows-1258", "x-cp1258"),
    "x-mac-cyrillic": ("x-mac-cyrillic", "x-mac-ukrainian"),
    "gbk": ("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58", "x-gbk"),
    "gb18030": ("gb18030",),
    "big5": ("big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"),
    "euc-jp": ("cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"),
    "iso-2022-jp": ("csiso2022jp", "iso-2022-jp"),
    "shift_jis": ("csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis"),
    "euc-kr": (
        "cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601",
        "ksc_5601", "windows-949",
    ),
    "utf-16be": ("unicodefffe", "utf-16be"),
    "utf-16le": ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16", "utf-16le"),
    "x-user-defined": ("x-user-defined",),
}  # fmt: skip
_ENCODING_OF_LABEL = {label: name for name, labels in _LABELS.items() for label in labels}

#: The Python codec closest to each encoding's browser decoder. The windows-*
#: encodings get web-* codecs: Python's code page with the bytes 0x80-0x9F it
#: leaves unassigned mapped to the C1 controls, as browsers map them; so do
#: gbk and gb18030 (Python's gb18030 with the Encoding standard's changes).
_CODEC_OF_ENCODING = {
    "utf-8": "utf-8",
    "ibm866": "cp866",
    "iso-8859-8-i": "iso8859-8",
    "koi8-r": "koi8-r",
    "koi8-u": "web-koi8-u",
    "macintosh": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
    "gbk": "web-gbk",
    "gb18030": "web-gb18030",
    "big5": "big5hkscs",
    "euc-jp": "euc_jp",
    "iso-2022-jp": "iso2022_jp",
    "shift_jis": "cp932",
    "euc-kr": "cp949",
    "utf-16be": "utf-16-be",
    "utf-16le": "utf-16-le",
    "x-user-defined": "web-x-user-defined",
    **{f"iso-8859-{n}": f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)},
    **{f"windows-{n}": f"web-windows-{n}" for n in (874, 1250, 1251, 1252, 1253, 1254, 1255, 1256, 1257, 1258)},
}
#: The encoding name to declare for a codec, where it differs from the codec's own name.
_NAME_OF_CODEC = {codec: name for name, codec in _CODEC_OF_ENCODING.items()}
_NAME_OF_CODEC.update({"utf-8-sig": "utf-8", "iso8859-1": "iso-8859-1", "euc_jp": "euc-jp"})
_NAME_OF_CODEC.update({"web-iso-8859-1": "iso-8859-1", "web-us-ascii": "us-ascii"})

#: The codecs of labels that mean one thing to browsers (windows-1252) and a
#: narrower one to other clients: they decode as browsers do and encode only
#: characters every client reads alike (iso-8859-1 without 0x80-0x9F; ASCII).
_NARROW = {"iso-8859-1": "web-iso-8859-1", "us-ascii": "web-us-ascii"}
#: The windows-1252 labels that name it as such, and those that name ASCII;
#: its other labels name iso-8859-1.
_WINDOWS_1252_LABELS = frozenset({"cp1252", "windows-1252", "x-cp1252"})
_ASCII_LABELS = frozenset({"ascii", "us-ascii", "ansi_x3.4-1968"})
#: What a stream writes a narrow codec's text in: the header it streams under
#: cannot change once sent, so everything the page held must stay writable.
STREAM_CODEC = {"web-iso-8859-1": "web-windows-1252", "web-us-ascii": "web-windows-1252"}


def _web_tables(name: str) -> tuple[str, str]:
    """The decoding table of a ``web-*`` codec, and the table its encoder is built from."""
    if name == "x-user-defined":
        table = "".join(map(chr, range(0x80))) + "".join(chr(0xF780 + b) for b in range(0x80))
        return table, table
    if name in _NARROW:
        decoding = _web_tables("windows-1252")[0]
        high = "".join(map(chr, range(0xA0, 0x100))) if name == "iso-8859-1" else "\ufffe" * 0x60
        return decoding, "".join(map(chr, range(0x80))) + "\ufffe" * 0x20 + high
    if name == "koi8-u":  # the Encoding standard's is KOI8-RU: Belarusian ў Ў at 0xAE, 0xBE
        page = importlib.import_module("encodings.koi8_u").decoding_table
        table = page[:0xAE] + "\u045e" + page[0xAF:0xBE] + "\u040e" + page[0xBF:]
        return table, table
    page = importlib.import_module(f"encodings.cp{name.removeprefix('windows-')}").decoding_table
    table = "".join(chr(b) if 0x80 <= b <= 0x9F and char == "\ufffe" else char for b, char in enumerate(page))
    if name == "windows-1255":  # the standard maps 0xCA (Python leaves it out): HEBREW POINT HOLAM HASER FOR VAV
        table = table[:0xCA] + "\u05ba" + table[0xCB:]
    return table, table


def _web_codec(normalized: str) -> codecs.CodecInfo | None:
    """The CodecInfo of a ``web-*`` codec: a windows code page as browsers
    decode it (the bytes 0x80-0x9F Python leaves unassigned are the C1
    controls), x-user-defined, a narrow codec, or gbk / gb18030
    (``dualfilter.gb18030``). ``codecs`` hands search
    functions names lower-cased, with hyphens as underscores; any other name
    is not remembered here (a response may name any label)."""
    return _web_codec_named(normalized[4:].replace("_", "-")) if normalized.startswith("web_") else None


@lru_cache(maxsize=64)  # bounded: a response may name any web-* label too
def _web_codec_named(name: str) -> codecs.CodecInfo | None:
    """The CodecInfo of the ``web-<name>`` codec, if there is one."""
    if name in ("gbk", "gb18030"):
        return gb18030.codec(name)
    if f"web-{name}" not in _NAME_OF_CODEC:
        return None
    decoding, encodable = _web_tables(name)
    encoding = codecs.charmap_build(encodable)

    def encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
        return codecs.charmap_encode(text, errors, encoding)

    def decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
        return codecs.charmap_decode(data, errors, decoding)

    class IncrementalEncoder(codecs.IncrementalEncoder):
        def encode(self, text: str, final: bool = False) -> bytes:
            return codecs.charmap_encode(text, self.errors, encoding)[0]

    class IncrementalDecoder(codecs.IncrementalDecoder):
        def decode(self, data: bytes, final: bool = False) -> str:  # type: ignore[override]
            return codecs.charmap_decode(data, self.errors, decoding)[0]

    return codecs.CodecInfo(
        encode,
        decode,  # type: ignore[arg-type]
        incrementalencoder=IncrementalEncoder,
        incrementaldecoder=IncrementalDecoder,
        name=f"web-{name}",
    )


codecs.register(_web_codec)


@dataclass(frozen=True, slots=True)
class Charset:
    """The codec a body was decoded with, and where that knowledge came from."""

    codec: str
    #: 'bom', 'header', 'document', 'default', 'fallback', 'event-stream' or 'output'.
    source: str
    #: The label the response used, kept when writing it back.
    label: str = ""
    #: The media type of the body (an event stream is UTF-8, whatever happens).
    media_type: str = field(default="", compare=False)
    #: The text decoded and the bytes it came from: that text is written back as those bytes.
    original: tuple[str, bytes] | None = field(default=None, compare=False, repr=False)

    @property
    def header_name(self) -> str:
        """The name to declare in a Content-Type ``charset`` parameter."""
        return self.label or _NAME_OF_CODEC.get(self.codec, self.codec)


@lru_cache(maxsize=256)
def _resolve(label: str) -> str | None:
    """The codec for a label, or None when neither the Encoding standard nor Python knows it."""
    key = label.strip(" \t\n\f\r").lower()
    encoding = _ENCODING_OF_LABEL.get(key)
    try:
        python = codecs.lookup(key).name
    except LookupError:
        python = ""
    if encoding is None:
        return python or None
    if encoding == "windows-1252" and key not in _WINDOWS_1252_LABELS:
        return _NARROW["us-ascii" if key in _ASCII_LABELS else "iso-8859-1"]
    return _CODEC_OF_ENCODING[encoding]


def lookup(name: str) -> str:
    """The codec a browser decodes a charset label with; FilterError if unknown."""
    codec = _resolve(name)
    if codec is None:
        raise FilterError(f"unknown charset {name!r}")
    return codec


def python_lookup(name: str) -> str:
    """Python's own canonical codec name for a label (for libraries that take
    Python or iconv names, such as libxml2); FilterError if unknown."""
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        raise FilterError(f"unknown charset {name!r}") from None


def byte_order(codec: str, head: bytes) -> str:
    """``codec`` as it reads a body starting with ``head`` chunk by chunk: Python's
    ``utf-16`` and ``utf-32`` (labels browsers lack) become the fixed-order codec
    their mark, or its absence, names (little-endian, as Python reads them
    unmarked); their incremental forms refuse a body without a mark and write one
    of their own. A mark left in the body is read as U+FEFF and written back as it came."""
    if "16" not in codec and "32" not in codec:
        return codec  # the common case, without a codec lookup
    name = codecs.lookup(codec).name
    if name == "utf-32":
        return "utf-32-be" if head.startswith(codecs.BOM_UTF32_BE) else "utf-32-le"
    if name == "utf-16":
        return "utf-16-be" if head.startswith(codecs.BOM_UTF16_BE) else "utf-16-le"
    return codec


def is_json(media_type: str) -> bool:
    """Whether ``media_type`` is JSON (``application/json``, ``+json``): UTF-8 unless a byte order mark says otherwise."""
    return media_type == "application/json" or media_type.endswith("+json")


def is_xml(media_type: str) -> bool:
    """Whether ``media_type`` is XML (``application/xml``, ``text/xml``, ``+xml``): its declaration names its charset."""
    return media_type.endswith("xml")


def _marks(media_type: str) -> tuple[tuple[bytes, str], ...]:
    """The byte order marks a body of ``media_type`` is read by, and the codec each names."""
    if media_type == "text/event-stream":
        return _EVENT_STREAM_BOMS
    return _JSON_BOMS if is_json(media_type) else _BOMS


def bom(data: bytes, media_type: str = "") -> str | None:
    """The codec a byte order mark at the start of ``data`` names, if any: one browsers
    honour; for JSON, UTF-32's too; for an event stream, UTF-8's alone."""
    for mark, codec in _marks(media_type):
        if data.startswith(mark):
            return codec
    return None


def may_be_bom(head: bytes, media_type: str = "") -> bool:
    """Whether ``head`` may be the start of a longer byte order mark: a stream holds it
    until more bytes tell (``FF FE`` is UTF-16-LE's mark, or the start of UTF-32-LE's)."""
    return any(len(head) < len(mark) and mark.startswith(head) for mark, _ in _marks(media_type))


#: The labels of the Encoding standard's "replacement" encoding: a document
#: declaring one is read by browsers, so they count as found (and decode with
#: Python's codec of the name, where there is one).
_REPLACEMENT_LABELS = frozenset({"csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr", "replacement"})
#: Every label browsers know, and the encoding it names (what the prescan reads in a document).
_BROWSER_LABELS = {**_ENCODING_OF_LABEL, **dict.fromkeys(_REPLACEMENT_LABELS, "replacement")}


def neutralized(charset: Charset | None) -> bool:
    """Whether ``charset`` is labelled with one of the Encoding standard's "replacement"
    encoding's labels (``iso-2022-kr``, ``hz-gb-2312``...): browsers show such a page as
    one U+FFFD, never as markup, so what is written into it is never relabelled (in
    UTF-8 the page would become live HTML, its scripts run); characters its codec
    cannot hold become character references instead."""
    return charset is not None and charset.label.strip(" \t\n\f\r").lower() in _REPLACEMENT_LABELS


def _document_label(data: bytes, media_type: str) -> tuple[str, str] | None:
    """``(codec, label)`` of an in-document declaration in the first
    SNIFF_BYTES, as browsers read it: the ``<meta>`` prescan for HTML, then
    (for HTML and XML alike) an XML declaration, read in UTF-16 when it is
    written so without a byte order mark. XHTML is XML: a ``<meta>`` means
    nothing there."""
    head = data[:SNIFF_BYTES]
    label = prescan.meta_label(head, _BROWSER_LABELS) if media_type == "text/html" else None
    if label is None and (media_type == "text/html" or is_xml(media_type)):
        label = prescan.utf16_declaration(head) or prescan.xml_label(head, _BROWSER_LABELS)
    if label is None:
        return None
    codec = _resolve(label)
    return (codec, label) if codec else None


def detect(data: bytes, declared: str | None, media_type: str) -> Charset:
    """Which charset ``data`` is in: BOM, header, document, then default."""
    if media_type == "text/event-stream":
        source = "bom" if data.startswith(codecs.BOM_UTF8) else "event-stream"
        return Charset("utf-8", source, "", media_type)
    marked = bom(data, media_type)
    if is_json(media_type):
        # RFC 8259 sections 8.1, 11: JSON is UTF-8, a charset parameter means nothing (a BOM still decides).
        return Charset(marked, "bom", "", media_type) if marked else Charset("utf-8", "default", "", media_type)
    if marked:
        return Charset(marked, "bom", "", media_type)
    if declared:
        return Charset(lookup(declared), "header", declared.strip(), media_type)
    in_document = _document_label(data, media_type)
    if in_document:
        return Charset(in_document[0], "document", in_document[1], media_type)
    return Charset("utf-8", "default", "", media_type)


def fallback(charset: Charset, head: bytes, final: bool = True) -> Charset:
    """``charset`` as ``detect`` found it, for a body starting with ``head`` when
    that is all there is yet (``final`` False): an undeclared body that is not
    UTF-8 is windows-1252 as browsers read it, which maps every byte, so nothing
    is lost (a character cut at the end of a head that goes on still counts as UTF-8)."""
    if charset.source != "default":
        return charset
    try:
        codecs.utf_8_decode(head, "strict", final)
    except UnicodeDecodeError:
        return Charset("web-windows-1252", "fallback", "", charset.media_type)
    return charset


def decode(data: bytes, declared: str | None, media_type: str, errors: str = "strict") -> tuple[str, Charset]:
    """Decode a body to text; FilterError if it is not in the charset it claims."""
    charset = detect(data, declared, media_type)
    if charset.source != "bom":
        ordered = byte_order(charset.codec, data)  # utf-32 / utf16: written back in the body's own order
        if ordered != charset.codec:
            charset = Charset(ordered, charset.source, charset.label, media_type)
    skip = len(BOM_OF[charset.codec]) if charset.source == "bom" else 0
    try:
        text = str(memoryview(data)[skip:], charset.codec, errors)
    except UnicodeDecodeError as exc:
        if charset.source != "default" or is_json(media_type):  # JSON is UTF-8 (RFC 8259), as its stream reads it
            raise FilterError(f"body is not valid {charset.header_name}: {exc.reason} at byte {exc.start + skip}") from None
        charset = fallback(charset, data)  # undeclared and not UTF-8
        text = data.decode(charset.codec)
    return text, Charset(charset.codec, charset.source, charset.label, media_type, (text, data))


def _declaration(charset: Charset, data: bytes) -> Charset | None:
    """What the Content-Type says of changed text written in ``charset``: the
    charset to declare, or None to leave the header as it is."""
    source = charset.source
    if source == "default":
        # Text that was valid UTF-8: said to be UTF-8, unless it is ASCII,
        # which every charset a browser may guess reads alike.
        return None if data.isascii() else charset
    if source in ("bom", "fallback", "event-stream"):
        # A byte order mark decides for browsers, whatever the header says;
        # undeclared bytes that are not UTF-8 stay the browser's to guess, as
        # they were; an event stream is UTF-8 and declares nothing.
        return None
    return charset  # 'header', 'document' (the header says it too) or 'output'


#: A lone surrogate: what ``surrogateescape`` reads an undecodable byte as.
_SURROGATE = re.compile("[\ud800-\udfff]")


def without_surrogates(text: str) -> str:
    """``text`` with each lone surrogate (a byte ``surrogateescape`` kept, which UTF-8 and
    the engines reading it cannot hold) as U+FFFD, what a browser shows for such a byte."""
    return _SURROGATE.sub("\ufffd", text)


def _encoded(text: str, codec: str) -> bytes | None:
    """``text`` in ``codec``, or None if it cannot hold it; bytes that ``unicode_errors='surrogateescape'``
    kept as lone surrogates go back as the bytes they were."""
    try:
        return text.encode(codec)
    except UnicodeEncodeError:
        pass
    try:
        return text.encode(codec, "surrogateescape")
    except UnicodeEncodeError:
        return None


def encode(text: str, charset: Charset | None, output_encoding: str) -> tuple[bytes, Charset | None]:
    """Encode text as the body's charset says (see the module docstring), and
    the charset the Content-Type must declare (None: leave it as it is)."""
    if charset is not None:
        original = charset.original
        if original is not None and (text is original[0] or text == original[0]):
            return original[1], None
        encoded = _encoded(text, charset.codec)
        if encoded is not None:
            if charset.source == "bom":
                encoded = BOM_OF[charset.codec] + encoded
            return encoded, _declaration(charset, encoded)
        if charset.media_type == "text/event-stream":
            raise FilterError("an event stream is UTF-8, which cannot hold the filtered text")
        if neutralized(charset):  # never relabelled: in UTF-8 the page would become live markup
            return text.encode(charset.codec, "xmlcharrefreplace"), None
    codec = lookup(output_encoding)
    label = output_encoding.strip() if output_encoding.strip().lower() in _ENCODING_OF_LABEL else ""
    fallback = Charset(codec, "output", label)
    if charset is not None and is_xml(charset.media_type):
        text = xml_declaring(text, fallback)
    try:
        return text.encode(codec), fallback
    except UnicodeEncodeError as exc:
        raise FilterError(f"output_encoding {output_encoding!r} cannot encode the filtered text: {exc.reason}") from None


#: The start of an XML declaration (XML 1.0 section 2.8) and its encoding declaration's
#: value, if it has one (section 4.3.3); ``version`` ends where one goes.
_XML_DECLARATION = re.compile(
    r"""<\?xml(?P<version>[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"[^"]*"|'[^']*'))"""
    r"""(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?P<quote>["'])(?P<encoding>[^"']*)(?P=quote))?"""
)


def xml_declaring(text: str, charset: Charset) -> str:
    """XML ``text`` whose declaration, if it starts with one, names ``charset``, the one it is
    now written in: a parser reading the bytes without the Content-Type reads them as the
    declaration says. The rest is kept as written; a declaration naming no encoding (which
    then means UTF-8) gets one only for another charset."""
    found = _XML_DECLARATION.match(text)
    if found is None:
        return text
    if found["encoding"] is not None:
        return text[: found.start("encoding")] + charset.header_name + text[found.end("encoding") :]
    if charset.codec == "utf-8":
        return text
    return f'{text[: found.end("version")]} encoding="{charset.header_name}"{text[found.end("version") :]}'
