"""The HTML standard's prescan: the charset a document declares in its first bytes.

``meta_label`` is "prescan a byte stream to determine its encoding": the
first ``<meta>`` whose ``charset`` attribute, or ``content`` with
``http-equiv="content-type"``, names a label browsers know; comments and other
tags' attributes are read past as browsers read them, and a label they do not
know is passed over (the scan goes on). ``xml_label`` is "get an XML
encoding", for an XML declaration at the very start. Both take ``known``, the
labels browsers know and the encoding each names (``dualfilter.charsets`` has
the Encoding standard's table), and read only the bytes they are given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: The bytes HTML's prescan reads as whitespace, and what else ends a name or a value in it.
_SPACE = frozenset(b"\t\n\f\r ")
_NAME_END = _SPACE | frozenset(b"/>=")
_VALUE_END = _SPACE | frozenset(b">")
_SPACE_OR_SLASH = _SPACE | frozenset(b"/")
#: What "get an XML encoding" skips around its ``=``: every byte up to 0x20.
_CONTROLS_AND_SPACE = bytes(range(0x21))


def _encoding_label(raw: bytes, known: Mapping[str, str]) -> str | None:
    """The Encoding standard's "get an encoding": the label, trimmed and
    lower-cased, when ``known`` has it; None (the standard's failure) when not."""
    label = raw.strip(b"\t\n\f\r ").decode("latin-1").lower()
    return label if label in known else None


def _find(head: bytes, byte: bytes, start: int) -> int:
    """Where ``byte`` next occurs in ``head`` from ``start``; IndexError (the
    bytes ran out, which aborts the prescan) when it does not."""
    found = head.find(byte, start)
    if found < 0:
        raise IndexError("the prescan ran out of bytes")
    return found


def _attribute(head: bytes, position: int) -> tuple[bytes, bytes, int]:
    """HTML's "get an attribute" from ``position``: its name and value, lower-
    cased, and the position after it; the name is empty when the tag ends
    first. IndexError when the bytes run out."""
    while head[position] in _SPACE_OR_SLASH:
        position += 1
    if head[position] == 0x3E:  # '>'
        return b"", b"", position
    start = position
    position += 1  # the first byte is part of the name, even '='
    while head[position] not in _NAME_END:
        position += 1
    name = head[start:position].lower()
    while head[position] in _SPACE:
        position += 1
    if head[position] != 0x3D:  # no '=': an attribute with no value
        return name, b"", position
    position += 1
    while head[position] in _SPACE:
        position += 1
    quote = head[position]
    if quote in b"\"'":
        close = _find(head, bytes((quote,)), position + 1)
        return name, head[position + 1 : close].lower(), close + 1
    if quote == 0x3E:
        return name, b"", position
    start = position
    position += 1  # likewise the value's
    while head[position] not in _VALUE_END:
        position += 1
    return name, head[start:position].lower(), position


def _content_label(content: bytes, known: Mapping[str, str]) -> str | None:
    """HTML's "extract a character encoding from a meta element" for a
    lower-cased ``content`` value: the label after ``charset=``, if browsers know it."""
    position = 0
    while (found := content.find(b"charset", position)) >= 0:
        position = found + 7
        rest = content[position:].lstrip(b"\t\n\f\r ")
        if not rest.startswith(b"="):
            position = len(content) - len(rest)  # look again from the byte after the spaces
            continue
        rest = rest[1:].lstrip(b"\t\n\f\r ")
        if rest[:1] in (b'"', b"'"):
            close = rest.find(rest[:1], 1)
            return _encoding_label(rest[1:close], known) if close > 0 else None
        return _encoding_label(re.split(rb"[\t\n\f\r ;]", rest, maxsplit=1)[0], known) if rest else None
    return None


def _meta_label(head: bytes, position: int, known: Mapping[str, str]) -> tuple[str | None, int]:
    """The label a ``<meta`` whose attributes start at ``position`` declares,
    as the prescan reads it (None when it declares none), and the position
    after its attributes. A ``charset`` attribute declares; so does a
    ``content`` naming a charset, when ``http-equiv`` is ``content-type``."""
    names: set[bytes] = set()
    got_pragma = False
    need_pragma: bool | None = None  # None: no charset found yet
    label: str | None = None
    while True:
        name, value, position = _attribute(head, position)
        if not name:
            break
        if name in names:
            continue  # only the first of an attribute counts
        names.add(name)
        if name == b"http-equiv" and value == b"content-type":
            got_pragma = True
        elif name == b"content" and need_pragma is None:
            label = _content_label(value, known)
            need_pragma = True if label else None
        elif name == b"charset":
            label, need_pragma = _encoding_label(value, known), False
    if label is None or (need_pragma and not got_pragma):
        return None, position
    if known.get(label) in ("utf-16be", "utf-16le"):
        return "utf-8", position  # a document that declares itself in ASCII is not UTF-16
    if label == "x-user-defined":
        return "windows-1252", position
    return label, position


def _skip_tag(head: bytes, position: int) -> int:
    """Past the name and attributes of a tag other than ``<meta`` starting at
    ``position``, as the prescan reads it: to where its attributes end."""
    while head[position] not in _VALUE_END:
        position += 1
    while True:
        name, _, position = _attribute(head, position)
        if not name:
            return position


def _tag_name_starts(head: bytes, position: int) -> bool:
    """Whether the ``<`` at ``position`` opens a start or end tag: a letter follows it, or ``/`` and a letter."""
    name = position + 2 if head.startswith(b"</", position) else position + 1
    return head[name : name + 1].isalpha()


def meta_label(head: bytes, known: Mapping[str, str]) -> str | None:
    """HTML's "prescan a byte stream to determine its encoding" over ``head``:
    the label of the first ``<meta>`` that declares one browsers know, reading
    past comments, other tags' attributes and ``<!``, ``</``, ``<?``
    constructs as browsers do; None when there is none before the bytes run out."""
    unmarked = utf16_declaration(head)
    if unmarked is not None:
        return unmarked
    if b"<meta" not in head.lower():
        return None  # the scan below could find nothing (and takes some 30 us)
    position = 0
    try:
        while (position := head.find(b"<", position)) >= 0:  # any other byte is passed over
            if head.startswith(b"<!--", position):
                position = _find(head, b"-->", position + 2) + 2  # '<!-->' is a whole comment
            elif head[position : position + 5].lower() == b"<meta" and head[position + 5] in _SPACE_OR_SLASH:
                label, position = _meta_label(head, position + 5, known)
                if label is not None:
                    return label
            elif _tag_name_starts(head, position):
                position = _skip_tag(head, position)
            elif head.startswith((b"<!", b"</", b"<?"), position):
                position = _find(head, b">", position + 1)
            position += 1
    except IndexError:
        pass  # the bytes ran out inside a construct: the prescan is aborted
    return None


def utf16_declaration(head: bytes) -> str | None:
    """``'utf-16le'`` or ``'utf-16be'`` when ``head`` starts with an XML declaration in
    UTF-16 without a byte order mark (HTML's prescan, and browsers' XML sniffing), else None."""
    if head.startswith(b"<\0?\0x\0"):
        return "utf-16le"
    if head.startswith(b"\0<\0?\0x"):
        return "utf-16be"
    return None


def xml_label(head: bytes, known: Mapping[str, str]) -> str | None:
    """HTML's "get an XML encoding": the label of an XML declaration at the
    very start of ``head``, if browsers know it (UTF-16 read as UTF-8: the
    declaration was read as ASCII)."""
    end = head.find(b">")
    position = head.find(b"encoding")
    if not head.startswith(b"<?xml") or end < 0 or not 0 <= position < end:
        return None
    rest = head[position + 8 :].lstrip(_CONTROLS_AND_SPACE)
    if not rest.startswith(b"="):
        return None
    rest = rest[1:].lstrip(_CONTROLS_AND_SPACE)
    quote = rest[:1]
    close = rest.find(quote, 1) if quote in (b'"', b"'") else -1
    if close < 0 or any(byte <= 0x20 for byte in rest[1:close]):
        return None
    label = _encoding_label(rest[1:close], known)
    return "utf-8" if label and known.get(label) in ("utf-16be", "utf-16le") else label
