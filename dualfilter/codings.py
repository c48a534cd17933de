"""Content-Encoding: undoing a response's compression to filter it, and redoing it.

gzip and deflate come from the standard library; ``br`` needs the ``brotli``
package and ``zstd`` the ``zstandard`` package (``pip install 'dualfilter[compression]'``);
without them such responses pass through unfiltered, and the first one logs a
warning naming the extra.
Decompression is bounded: it never produces more than the caller's limit, so
a small compressed body cannot expand without bound in memory.
"""

from __future__ import annotations

import importlib
import io
import logging
import zlib
from collections.abc import Callable
from types import ModuleType

from .errors import FilterError
from .extras import install_command

log = logging.getLogger("dualfilter")
#: The extra that installs the libraries of the optional codings.
EXTRA = "compression"


class TooLarge(Exception):
    """The decoded body would exceed the caller's limit."""


def _optional(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _inflate(data: bytes, limit: int, wbits: int, members: bool = False) -> bytes:
    """``data`` inflated, to ``limit`` bytes (TooLarge past it); with ``members``, gzip's
    several members back to back. Bytes after the end that begin no member are not read,
    as browsers ignore them (Chromium's GzipSourceStream does; zero padding is common)."""
    out = []
    size = 0
    while data:
        engine = zlib.decompressobj(wbits)
        chunk = engine.decompress(data, limit + 1 - size)
        while True:
            out.append(chunk)
            size += len(chunk)
            if size > limit:
                raise TooLarge
            if not engine.unconsumed_tail:
                break
            chunk = engine.decompress(engine.unconsumed_tail, limit + 1 - size)
        if not engine.eof:
            raise zlib.error("truncated stream")
        data = engine.unused_data
        if not (members and data[:2] == GZIP_MAGIC):
            break
    return b"".join(out)


#: What every gzip member begins with (RFC 1952: ID1, ID2).
GZIP_MAGIC = b"\x1f\x8b"


def _gunzip(data: bytes, limit: int) -> bytes:
    return _inflate(data, limit, 16 + zlib.MAX_WBITS, members=True)


def _gzip(data: bytes) -> bytes:
    engine = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return engine.compress(data) + engine.flush()


def _undeflate(data: bytes, limit: int) -> bytes:
    # RFC 9110 "deflate" is zlib-wrapped; some servers send raw deflate.
    try:
        return _inflate(data, limit, zlib.MAX_WBITS)
    except zlib.error:
        return _inflate(data, limit, -zlib.MAX_WBITS)


def _deflate(data: bytes) -> bytes:
    return zlib.compress(data, 6)


def _unbrotli(data: bytes, limit: int) -> bytes:
    if not data:
        return b""  # no bytes: an empty body, as with the other codings (and clients)
    brotli = _optional("brotli")
    assert brotli is not None
    engine = brotli.Decompressor()
    out = engine.process(data, output_buffer_limit=limit + 1)
    if len(out) > limit or not engine.is_finished():
        if len(out) > limit or not engine.can_accept_more_data():
            raise TooLarge
        raise FilterError("truncated br stream")
    return bytes(out)


def _brotli(data: bytes) -> bytes:
    brotli = _optional("brotli")
    assert brotli is not None
    return bytes(brotli.compress(data, quality=5))


def _unzstd(data: bytes, limit: int) -> bytes:
    zstandard = _optional("zstandard")
    assert zstandard is not None
    decompressor = zstandard.ZstdDecompressor()
    # A stream reader never gives more than asked, so a bomb stops here...
    with decompressor.stream_reader(io.BytesIO(data), read_across_frames=True) as reader:
        if len(reader.read(limit + 1)) > limit:
            raise TooLarge
    # ...but it ends a frame cut short without a word: each frame is read again, to its end
    # (no more than the reader gave).
    out = []
    while data:
        engine = decompressor.decompressobj()
        out.append(engine.decompress(data))
        if not engine.eof:
            raise FilterError("truncated zstd stream")
        data = engine.unused_data
    return b"".join(out)


def _zstd(data: bytes) -> bytes:
    zstandard = _optional("zstandard")
    assert zstandard is not None
    return bytes(zstandard.ZstdCompressor(level=3).compress(data))


Decoder = Callable[[bytes, int], bytes]
Encoder = Callable[[bytes], bytes]
_CODINGS: dict[str, tuple[Decoder, Encoder, str | None]] = {
    "gzip": (_gunzip, _gzip, None),
    "x-gzip": (_gunzip, _gzip, None),
    "deflate": (_undeflate, _deflate, None),
    "br": (_unbrotli, _brotli, "brotli"),
    "zstd": (_unzstd, _zstd, "zstandard"),
}


def parse(header: str | None) -> list[str]:
    """The codings of a Content-Encoding value, in the order they were applied."""
    if not header:
        return []
    return [c.strip().lower() for c in header.split(",") if c.strip() and c.strip().lower() != "identity"]


_missing_warned: set[str] = set()


def supported(coding: str) -> bool:
    """Whether this process can decode and re-encode ``coding``.

    A coding whose library is missing is not: its responses pass through
    unfiltered, and the first time that happens a warning names the extra.
    """
    entry = _CODINGS.get(coding)
    if entry is None:
        return False
    if entry[2] is None or _optional(entry[2]) is not None:
        return True
    if coding not in _missing_warned:
        _missing_warned.add(coding)
        log.warning(
            "%s responses pass through unfiltered: the %s package is not installed (%s)", coding, entry[2], install_command(EXTRA)
        )
    return False


def decode(data: bytes, codings: list[str], limit: int) -> bytes:
    """Undo ``codings`` (outermost last); TooLarge past ``limit`` decoded bytes."""
    for coding in reversed(codings):
        try:
            data = _CODINGS[coding][0](data, limit)
        except TooLarge:
            raise
        except Exception as exc:  # each library has its own error type
            raise FilterError(f"response body is not valid {coding}: {exc}") from None
    return data


def encode(data: bytes, codings: list[str]) -> bytes:
    """Apply ``codings`` in order."""
    for coding in codings:
        data = _CODINGS[coding][1](data)
    return data


def decoded_size(data: bytes, codings: tuple[str, ...] | list[str]) -> int | None:
    """What ``data`` decodes to in bytes, when its encoding says so without
    decoding it: a gzip member's trailer holds its size (modulo 2**32). None
    when unknown (other codings, stacked ones), and when the trailer cannot
    describe all of ``data``: deflate never writes more than zlib's
    ``deflateBound`` for its input (about 1/8 more, at the smallest memory
    level), so a smaller size says the body holds other members before the
    last (or a header with long extra fields, or a size past 4 GiB)."""
    if list(codings) in (["gzip"], ["x-gzip"]) and len(data) >= 18 and data[:2] == GZIP_MAGIC:
        if data.find(GZIP_MAGIC + b"\x08", 10) >= 0:
            return None  # maybe a member after the first (every one begins so): its trailer says its own size only
        size = int.from_bytes(data[-4:], "little")
        return size if len(data) <= size + (size >> 3) + (size >> 6) + 64 else None
    return None
