"""Header lists between ASGI and the core: byte pairs one side, ``str`` pairs the other."""

from __future__ import annotations

from collections.abc import Iterable

from ..events import HeaderList

RawHeaders = list[tuple[bytes, bytes]]


def to_str(pairs: Iterable[tuple[bytes, bytes]] | Iterable[list[bytes]]) -> HeaderList:
    """ASGI ``[name, value]`` byte pairs as ``str`` pairs (latin-1), as the core wants."""
    headers: HeaderList = []
    append = headers.append
    for name, value in pairs:  # a loop: cheaper than a comprehension for a handful of pairs
        append((name.decode("latin-1"), value.decode("latin-1")))
    return headers


def to_bytes(headers: HeaderList) -> RawHeaders:
    """Core ``str`` pairs as ASGI byte pairs, names lower-cased."""
    pairs: RawHeaders = []
    append = pairs.append
    for name, value in headers:  # a loop, as in to_str
        append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return pairs
