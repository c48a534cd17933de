"""dualfilter: one output filter for WSGI, ASGI and ISAPI hosts.

Subclass :class:`Filter`, write ``filter(environ, headers, data)``, and wrap
any app with it; :class:`ResponseMachine` is the sans-IO core the host
adapters drive.
"""

from __future__ import annotations

from ._version import __version__
from .chain import Chain, chain
from .errors import FilterError, ProtocolError, StreamError
from .events import Body, End, Event, ResponseStart
from .filter import Filter
from .formats import Format
from .headers import Headers
from .machine import ResponseMachine, State
from .streaming import Stream

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
    "chain",
    "Chain",
    "Stream",
    "StreamError",
    "__version__",
]
