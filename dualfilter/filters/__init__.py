"""Built-in filters: ordinary :class:`~dualfilter.Filter` subclasses, configured by options.

Each works on every host, from Python, from a ``dualfilter`` command-line SPEC
and from a Paste Deploy ini file.
"""

from __future__ import annotations

from .inject import Inject
from .replace import Replace
from .rewrite_links import RewriteLinks
from .xslt import XSLT

__all__ = ["Inject", "Replace", "RewriteLinks", "XSLT"]
