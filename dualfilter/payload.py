"""A response body between filters: held in one kind, converted only when needed.

A chain hands each stage's result to the next as a :class:`Payload`: bytes,
text, or a format's object (an lxml tree, JSON data). The next stage takes it
as it is when it wants the same kind, so consecutive stages of one format share
one parse and one serialization; any other stage gets it serialized, at that
point only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import charsets
from .charsets import Charset
from .events import Event, HeaderList, ResponseStart

if TYPE_CHECKING:
    from .filter import Filter
    from .formats import Format


class Payload:
    """A body as bytes, ``str`` or the object of ``format``, and how to write it back.

    ``charset`` is the charset text or a format's object is written in when it
    can hold it (else ``output_encoding``); for bytes it is the charset the
    Content-Type should declare, or None to leave the header as it is.
    ``producer`` is the filter whose result this is, to blame if writing fails.
    """

    __slots__ = ("value", "format", "charset", "media_type", "output_encoding", "producer")

    def __init__(
        self,
        value: Any,
        format: Format | None = None,
        charset: Charset | None = None,
        media_type: str = "",
        output_encoding: str = "utf-8",
        producer: Filter | None = None,
    ) -> None:
        self.value = value
        self.format = format
        self.charset = charset
        self.media_type = media_type
        self.output_encoding = output_encoding
        self.producer = producer

    @property
    def kind(self) -> Format | str:
        """``'bytes'``, ``'text'`` or the Format whose object this holds."""
        if self.format is not None:
            return self.format
        return "text" if type(self.value) is str else "bytes"

    def serialize(self) -> tuple[bytes, Charset | None]:
        """The body as bytes, and the charset to declare for it (None: leave the header)."""
        value = self.value
        if self.format is not None:
            return self.format.serialize(value, self.charset, self.media_type, self.output_encoding)
        if type(value) is str:
            return charsets.encode(value, self.charset, self.output_encoding)
        return value, self.charset

    def __repr__(self) -> str:
        kind = self.kind
        return f"<Payload {kind if isinstance(kind, str) else kind.name} from {self.producer!r}>"


class Held:
    """A filtered response not yet serialized: its start (no Content-Length yet)
    and its body as a Payload, from ``ResponseMachine.end_native()``.

    A filter stacked directly around this one may take the payload as it is
    (``ResponseMachine.take``); for anyone else ``events()`` writes it out.
    """

    __slots__ = ("start", "payload", "trailers", "size", "_realize")

    def __init__(
        self,
        start: ResponseStart,
        payload: Payload,
        trailers: HeaderList,
        size: int,
        realize: Callable[[Held], list[Event]],
    ) -> None:
        self.start = start
        self.payload = payload
        self.trailers = trailers
        #: The size of the body the app sent, for decisions by size (thread_threshold).
        self.size = size
        self._realize = realize

    def events(self) -> list[Event]:
        """The response serialized: start (with Content-Length), body, end —
        or the clean 500 if the body cannot be written."""
        return self._realize(self)
