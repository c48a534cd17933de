"""One response through a chain's stages: each decides, filters, hands on.

A chain ``chain(A, B)`` runs B then A, as ``A(B(app))`` would: each stage
decides for itself on the response as the stages before it left it (status,
headers, Content-Type). Between stages the body stays a
:class:`~dualfilter.payload.Payload`, so stages of one format share one parse
and one serialization. Streamed, the stages' streams run one into the next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .headers import HeaderList, Headers, get_header
from .mediatypes import parse_content_type
from .payload import Payload
from .responses import fixed_headers
from .transform import NothingToParse, Transform

if TYPE_CHECKING:
    from .filter import Filter
    from .streaming import Stream


class StageFailed(Exception):
    """A stage of a chain raised; the stage is named, its exception is the cause."""

    def __init__(self, stage: Filter) -> None:
        super().__init__(stage.name)
        self.stage = stage


def wants(stage: Filter, environ: Mapping[str, Any], status: int, headers: HeaderList) -> bool:
    """Whether ``stage`` filters a response with this status and these headers."""
    if stage.default_decision:
        content_type = get_header(headers, "content-type")
        return stage.accepts(status, parse_content_type(content_type)[0] if content_type else "")
    return stage.should_filter(environ, status, Headers(headers))


class StageRun:
    """A chain's stages over one buffered response, innermost first.

    The machine drives it: ``next_call()`` gives the next stage's input (the
    stage is ``run.stage``), the machine calls that stage's ``filter()`` (and
    awaits it if need be) and hands the result to ``took()``; ``result()`` is
    the final body. ``stage`` names the stage to blame when anything raises.
    """

    __slots__ = ("stages", "environ", "status", "headers", "payload", "index", "stage", "transform", "filtered")

    def __init__(self, chain: Filter, environ: Mapping[str, Any], status: int, transform: Transform) -> None:
        self.stages = chain._stages[::-1]
        self.environ = environ
        self.status = status
        #: The headers as the stages so far left them.
        self.headers: HeaderList = transform.headers.list
        #: The body as the stages so far left it (content codings undone).
        data = transform.data
        self.payload = data if type(data) is Payload else Payload(data)
        self.index = 0
        self.stage: Filter | None = None
        self.transform: Transform | None = None
        #: Whether any stage filtered the response.
        self.filtered = False

    def next_call(self) -> Transform | None:
        """The input of the next stage that filters this response, or None when
        none is left."""
        stages = self.stages
        while self.index < len(stages):
            stage = self.stage = stages[self.index]
            self.index += 1
            if not wants(stage, self.environ, self.status, self.headers):
                continue
            try:
                self.transform = Transform.handed(stage, self.headers, self.payload)
            except NothingToParse:
                continue  # an empty document: the stage lets it pass, as it would alone
            return self.transform
        self.stage = None
        return None

    def took(self, result: Any) -> None:
        """The current stage's ``filter()`` returned ``result``."""
        transform = self.transform
        assert transform is not None
        self.payload = transform.settle(result)
        self.headers = fixed_headers(transform.headers.list, transform.original_headers, None, None)
        self.filtered = True

    def result(self) -> Payload:
        """The final body, serialized (as bytes, with the charset to declare)."""
        payload = self.payload
        if payload.format is None and type(payload.value) is bytes:
            return payload
        self.stage = payload.producer
        body, charset = payload.serialize()
        self.stage = None
        return Payload(body, charset=charset)


def open_streams(chain: Filter, environ: Mapping[str, Any], status: int, headers: Headers) -> Stream | None:
    """One stream through every stage that wants this response, or None to
    buffer it: when one of them cannot stream it, the whole chain buffers.

    Each stage decides on the headers the streams before it left; ``headers``
    gets the final ones only when the chain streams.
    """
    current = list(headers.list)
    streams: list[tuple[Filter, Stream]] = []
    for stage in chain._stages[::-1]:
        try:
            if not wants(stage, environ, status, current):
                continue
            if not stage.is_streaming:
                return None
            stage_headers = Headers(list(current))
            stream = stage._open_stream(environ, status, stage_headers)
            if stream is None:
                return None
            current = fixed_headers(stage_headers.list, current, None, getattr(stream, "charset", None))
        except Exception as exc:
            raise StageFailed(stage) from exc
        streams.append((stage, stream))
    if not streams:
        return None
    headers.list[:] = current
    return ChainStream(streams)


class ChainStream:
    """Several stages' streams, each one's output the next one's input."""

    __slots__ = ("streams", "failed")

    def __init__(self, streams: list[tuple[Filter, Stream]]) -> None:
        self.streams = streams
        #: The stage whose stream raised, if one did.
        self.failed: Filter | None = None

    def feed(self, data: bytes) -> bytes:
        """Each stream's output for this chunk, fed to the next."""
        for stage, stream in self.streams:
            if not data:
                return b""
            try:
                data = stream.feed(data)
            except Exception:
                self.failed = stage
                raise
        return data

    def finish(self) -> bytes:
        """Finish each stream in turn, feeding its last output to the next."""
        data = b""
        for stage, stream in self.streams:
            try:
                head = stream.feed(data) if data else b""
                data = head + stream.finish()
            except Exception:
                self.failed = stage
                raise
        return data
