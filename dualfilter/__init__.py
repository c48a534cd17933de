"""dualfilter: one output filter for WSGI, ASGI and ISAPI hosts.

Subclass :class:`Filter`, write ``filter(environ, headers, data)``, and wrap
any app with it; :class:`ResponseMachine` is the sans-IO core the host
adapters drive.
"""

from __future__ import annotations

from .errors import FilterError, ProtocolError
from .events import Body, End, Event, ResponseStart
from .filter import Filter
from .formats import Format
from .headers import Headers
from .machine import ResponseMachine, State

__all__ = [
    "Filter",
    "Format",
    "Headers",
    "ResponseMachine",
    "State",
    "ResponseStart",
    "Body",
    "End",
    "Event",
    "ProtocolError",
    "FilterError",
]
__version__ = "0.1.0"
