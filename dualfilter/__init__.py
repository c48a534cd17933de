"""dualfilter: one output filter for WSGI, ASGI, Django and IIS (ISAPI) hosts.

Subclass :class:`Filter`, write ``filter(environ, headers, data)``, and wrap
any app with it. ``__all__`` is what filter authors write against; host
authors find the sans-IO engine in its modules: ``dualfilter.machine``
(``ResponseMachine``), ``dualfilter.events``, ``dualfilter.state``,
``dualfilter.decision`` and ``dualfilter.drivers``.
"""

from __future__ import annotations

from . import testing
from ._version import __version__ as __version__  # the package version (not in __all__: not filter API)
from .chain import Chain, chain
from .errors import FilterError, ProtocolError, StreamError
from .filter import Filter
from .formats import Format
from .headers import Headers
from .streaming import Stream

__all__ = [
    "Filter",
    "chain",
    "Chain",
    "Headers",
    "Format",
    "Stream",
    "FilterError",
    "ProtocolError",
    "StreamError",
    "testing",
]
