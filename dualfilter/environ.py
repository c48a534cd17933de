"""The lazily built WSGI-style environ that non-WSGI hosts hand to filters.

Building an environ from an ASGI scope or from ISAPI server variables costs
work a passthrough response never needs, so hosts hand over this mapping,
which builds the real dict on first read. The request method, which the
response machine always asks for, is known up front.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any


class LazyEnviron(MutableMapping[str, Any]):
    """A mutable environ mapping that calls ``build()`` when first read."""

    __slots__ = ("method", "_data")

    def __init__(self, method: str) -> None:
        self.method = method
        self._data: dict[str, Any] | None = None

    def build(self) -> dict[str, Any]:
        """The full environ dict; subclasses build it from their host's data."""
        raise NotImplementedError

    @property
    def data(self) -> dict[str, Any]:
        """The environ dict, built now if it was not yet."""
        data = self._data
        if data is None:
            data = self._data = self.build()
        return data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key == "REQUEST_METHOD" and self._data is None:
            return self.method
        return self.data.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)

    def copy(self) -> dict[str, Any]:
        """A plain dict copy, like ``dict.copy`` on a WSGI environ."""
        return dict(self.data)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.data!r})"
