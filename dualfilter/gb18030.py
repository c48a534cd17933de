"""``web-gbk`` and ``web-gb18030``: Python's gb18030 codec made to read and
write as the WHATWG Encoding standard's gbk and gb18030 do, as browsers do.

Python's codec follows GB18030-2000; browsers follow the standard's table
(GB18030-2005 and -2022): byte 0x80 is ``€`` (as in Windows' code page 936),
a handful of code points moved, and an error spans the bytes the standard's
decoder reads as one. gbk writes ``€`` as 0x80, gb18030 as 0xA2 0xE3.
``dualfilter.charsets`` registers them with its other ``web-*`` codecs.
"""

from __future__ import annotations

import codecs
import re
from functools import cache

#: Where the Encoding standard's gb18030 decoder (GB18030-2005 and -2022, as
#: browsers read it) and Python's (GB18030-2000) read the same bytes as
#: different characters: Python's character, and the standard's. Bytes
#: 0xA3 0xA0 are U+3000 (deployed pages use them so); 0xA8 0xBC and
#: 0x81 0x35 0xF4 0x37 swap; the rest are characters GB18030-2022 moved out of
#: the Private Use Area.
_GB18030_DECODED = {
    "\ue5e5": "\u3000", "\ue7c7": "\u1e3f", "\u1e3f": "\ue7c7",
    "\ue78d": "\ufe10", "\ue78e": "\ufe12", "\ue78f": "\ufe11", "\ue790": "\ufe13", "\ue791": "\ufe14",
    "\ue792": "\ufe15", "\ue793": "\ufe16", "\ue794": "\ufe17", "\ue795": "\ufe18", "\ue796": "\ufe19",
    "\ue81e": "\u9fb4", "\ue826": "\u9fb5", "\ue82b": "\u9fb6", "\ue82c": "\u9fb7", "\ue832": "\u9fb8",
    "\ue843": "\u9fb9", "\ue854": "\u9fba", "\ue864": "\u9fbb",
}  # fmt: skip
_GB18030_DECODING = str.maketrans(_GB18030_DECODED)
_GB18030_TO_FIX = re.compile("[" + "".join(_GB18030_DECODED) + "]")
#: The standard's encoder writes each such character as the bytes it decodes
#: to it (the Private Use characters keep Python's bytes, as the standard's
#: side table has them). U+E5E5 it cannot write: nothing decodes to it.
_GB18030_ENCODED = {web: python.encode("gb18030") for python, web in _GB18030_DECODED.items() if web != "\u3000"}
#: The characters the gb18030 and gbk encoders write otherwise than Python's
#: gb18030 codec, or refuse (U+E5E5 and lone surrogates); gbk writes € as 0x80.
_GB18030_SPECIAL = re.compile("[\ue5e5\ud800-\udfff" + "".join(_GB18030_ENCODED) + "]")
_GBK_SPECIAL = re.compile("[\u20ac\ue5e5\ud800-\udfff" + "".join(_GB18030_ENCODED) + "]")


def _gb18030_error_length(data: bytes, start: int) -> int:
    """How many bytes the Encoding standard's gb18030 decoder reads as one
    error at ``start``, where Python's decoder found one: a lead byte and
    what follows it as far as they could still form a character, the bytes
    after it read again (an ASCII byte is never swallowed). Four bytes
    shaped right that name no character are one error, and so is a lead byte
    followed by 0xFF."""
    following = data[start + 1 : start + 4]
    if not 0x81 <= data[start] <= 0xFE or not following:
        return 1
    if following[0] == 0xFF:
        return 2
    if not 0x30 <= following[0] <= 0x39:
        return 1
    if len(following) == 1:
        return 2  # the bytes ended inside the sequence
    if not 0x81 <= following[1] <= 0xFE:
        return 1
    if len(following) == 2:
        return 3
    return 4 if 0x30 <= following[2] <= 0x39 else 1


@cache
def _gb18030_errors(errors: str) -> str:
    """The name of an error handler for Python's gb18030 decoder that reads
    what it refuses as the Encoding standard's decoder does, then hands real
    errors to ``errors``: 0x80 is € (as in Windows' code page 936), and an
    error spans the bytes the standard's does, so ``replace`` gives its U+FFFD
    and no following byte is lost."""

    def handle(exc: UnicodeError) -> tuple[str | bytes, int]:
        if not isinstance(exc, UnicodeDecodeError):
            raise exc
        data, start = exc.object, exc.start
        if data[start] == 0x80:
            return "\u20ac", start + 1
        end = start + _gb18030_error_length(data, start)
        return codecs.lookup_error(errors)(UnicodeDecodeError(exc.encoding, data, start, end, exc.reason))

    name = f"dualfilter.web-gb18030.{errors}"
    codecs.register_error(name, handle)
    return name


def _gb18030_fix(text: str) -> str:
    """Text Python's gb18030 decoder read, as the Encoding standard's reads the same bytes."""
    return text.translate(_GB18030_DECODING) if _GB18030_TO_FIX.search(text) else text


def _gb18030_encode(text: str, errors: str, gbk: bool) -> bytes:
    """Text written as the Encoding standard's gb18030 encoder writes it (its
    gbk encoder with ``gbk``: € as 0x80). Characters gbk cannot hold are
    written in gb18030's four bytes, which browsers read under a gbk label
    too: refusing them would turn a page's own characters into references."""
    special = _GBK_SPECIAL if gbk else _GB18030_SPECIAL
    found = special.search(text)
    if found is None:
        return text.encode("gb18030")
    out: list[bytes] = []
    position = 0
    while found is not None:
        start = found.start()
        out.append(text[position:start].encode("gb18030"))
        char = text[start]
        written = b"\x80" if char == "\u20ac" else _GB18030_ENCODED.get(char)
        if written is not None:
            out.append(written)
            position = start + 1
        else:
            name = "gbk" if gbk else "gb18030"
            error = UnicodeEncodeError(name, text, start, start + 1, f"{name} cannot hold the character")
            replacement, position = codecs.lookup_error(errors)(error)
            out.append(replacement if isinstance(replacement, bytes) else _gb18030_encode(replacement, "strict", gbk))
            position = position if position >= 0 else len(text) + position
        found = special.search(text, position)
    out.append(text[position:].encode("gb18030"))
    return b"".join(out)


def codec(name: str) -> codecs.CodecInfo:
    """The CodecInfo of ``web-gbk`` or ``web-gb18030``: Python's gb18030
    codec made to read and write as the Encoding standard's gbk and gb18030."""
    gbk = name == "gbk"

    def encode(text: str, errors: str = "strict") -> tuple[bytes, int]:
        return _gb18030_encode(text, errors, gbk), len(text)

    def decode(data: bytes, errors: str = "strict") -> tuple[str, int]:
        return _gb18030_fix(str(data, "gb18030", _gb18030_errors(errors))), len(data)

    class IncrementalEncoder(codecs.IncrementalEncoder):
        def encode(self, text: str, final: bool = False) -> bytes:
            return _gb18030_encode(text, self.errors, gbk)

    class IncrementalDecoder(codecs.IncrementalDecoder):
        def __init__(self, errors: str = "strict") -> None:
            super().__init__(errors)
            self._decoder = codecs.getincrementaldecoder("gb18030")(_gb18030_errors(errors))

        def decode(self, data: bytes, final: bool = False) -> str:  # type: ignore[override]
            text = self._decoder.decode(data)
            if final:
                # Python's final decode drops what follows an error in the
                # bytes it still holds; the one-shot decoder reads them on.
                held = self._decoder.getstate()[0]
                self._decoder.reset()
                text += str(held, "gb18030", _gb18030_errors(self.errors))
            return _gb18030_fix(text)

        def reset(self) -> None:
            self._decoder.reset()

        def getstate(self) -> tuple[bytes, int]:
            return self._decoder.getstate()

        def setstate(self, state: tuple[bytes, int]) -> None:
            self._decoder.setstate(state)

    return codecs.CodecInfo(
        encode,
        decode,  # type: ignore[arg-type]
        incrementalencoder=IncrementalEncoder,
        incrementaldecoder=IncrementalDecoder,
        name=f"web-{name}",
    )
