"""A response machine with its FilterCalls run: the machine as a sync host drives it."""

from __future__ import annotations

from typing import Any

from dualfilter.drivers import drive
from dualfilter.events import Event
from dualfilter.machine import ResponseMachine


class Driven:
    """``ResponseMachine`` whose ``start``/``body``/``end`` answers have every
    FilterCall run by the sync driver; anything else is the machine's own."""

    def __init__(self, machine: ResponseMachine) -> None:
        self.machine = machine

    def start(self, *args: Any, **kwargs: Any) -> list[Event]:
        return drive(self.machine, self.machine.start(*args, **kwargs))

    def body(self, data: bytes) -> list[Event]:
        return drive(self.machine, self.machine.body(data))

    def end(self, trailers: Any = None) -> list[Event]:
        return drive(self.machine, self.machine.end(trailers))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.machine, name)


def driven_machine(flt: Any, environ: Any) -> Driven:
    """A new machine for ``flt`` and ``environ``, driven synchronously."""
    return Driven(ResponseMachine(flt, environ))
