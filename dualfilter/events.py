"""The events that flow into and out of the response machine.

Hosts translate their calls into these; the machine answers with the same
kinds. They are plain records: cheap to make, and the data they carry is never copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

HeaderList = list[tuple[str, str]]


@dataclass(slots=True)
class ResponseStart:
    """Status and headers of a response (header names and values are ``str``)."""

    status: int
    headers: HeaderList
    reason: str = ""


@dataclass(slots=True)
class Body:
    """One chunk of the response body, handed on as it came."""

    data: bytes


@dataclass(slots=True)
class End:
    """The end of the response, with its trailers if it had any."""

    trailers: HeaderList = field(default_factory=list)


Event = ResponseStart | Body | End
