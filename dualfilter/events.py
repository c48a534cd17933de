"""The events that flow into and out of the response machine.

Hosts translate their calls into ``ResponseStart``, ``Body`` and ``End``; the
machine answers with the same kinds, plus three of its own: ``FilterCall`` (run
the user's code, then hand the machine the result), ``PASSTHROUGH`` (the
rest of this response goes on as the app sends it) and ``REDISPATCH`` (ask
the app again for the full response). Events are frozen values —
named tuples, the cheapest immutable records Python makes, several per
response — equal only to events of their own kind; the data they carry is
never copied.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from .filter import Filter

HeaderList = list[tuple[str, str]]


class _Event:
    """Equality for event kinds: an event equals only an event of its own kind."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and tuple.__eq__(self, other)  # type: ignore[operator]

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = tuple.__hash__


class ResponseStart(NamedTuple):
    """Status and headers of a response (header names and values are ``str``)."""

    status: int
    headers: HeaderList
    reason: str = ""


class Body(NamedTuple):
    """One chunk of the response body, handed on as it came."""

    data: bytes


class End(NamedTuple):
    """The end of the response. ``trailers`` is None when the response has no
    trailer section, else its trailer fields (possibly none)."""

    trailers: HeaderList | None = None


class FilterCall(NamedTuple):
    """Out only: "run this user code and hand me what it gives".

    A driver (``dualfilter.drivers``) calls ``function(*args)`` — the user's
    ``filter``, ``stream`` or a stream's ``feed``/``finish`` — awaits the
    result if it is awaitable, and hands it to ``machine.filtered(result)``,
    or the exception to ``machine.failed(exc)``. When ``prepare`` is set the
    driver calls it first, in the same thread, for the arguments (the core's
    parsing of the body for this filter). ``stage`` is the filter whose code
    it is; ``offload`` says the work is big and synchronous, so an async host
    should run it (and the ``filtered`` that follows) in a worker thread. A
    FilterCall is always the last event of a batch. (A named tuple: as
    immutable as the other events, and made once per filter run, cheaply.)
    """

    stage: Filter
    function: Callable[..., Any]
    args: tuple[Any, ...] = ()
    prepare: Callable[[], tuple[Any, ...]] | None = None
    offload: bool = False


class Passthrough(NamedTuple):
    """Out only, right after a ``ResponseStart``: the response is not filtered,
    so a host may hand the rest of the app's body on itself, as it comes,
    without the machine (feeding it on still works and costs one event a chunk)."""


class Redispatch(NamedTuple):
    """Out only, instead of a start: the app answered a safe request with a
    partial or a 304 that may stand for a filtered page, which cannot reach the
    client. The host asks the app the same request again, without its range
    and conditional headers (``RequestPolicy.redispatch_environ``), drops what
    is left of the first answer, and feeds the second one to the same machine,
    from its ``start``."""


for _kind in (ResponseStart, Body, End, FilterCall, Passthrough, Redispatch):
    _kind.__eq__ = _Event.__eq__  # type: ignore[method-assign,assignment]
    _kind.__ne__ = _Event.__ne__  # type: ignore[method-assign,assignment]
    _kind.__hash__ = _Event.__hash__  # type: ignore[method-assign,assignment]

#: ``make(Kind, (field, ...))``: an event from all its fields, in order, made in
#: C. A named tuple's own ``__new__`` is a generated Python function, one frame
#: per event; the machine and the adapters make several events per response
#: on their hot paths, so they make them this way (the result is the same event).
make = tuple.__new__

#: The one ``Passthrough`` event.
PASSTHROUGH = Passthrough()

#: The one ``Redispatch`` event.
REDISPATCH = Redispatch()

Event = ResponseStart | Body | End | FilterCall | Passthrough | Redispatch
