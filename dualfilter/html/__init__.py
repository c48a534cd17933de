"""Streaming HTML rewriting by CSS selector, on every host.

```python
from dualfilter.html import Rewriter, on

class NoFollow(Rewriter):
    @on("a[href^='http']")
    def external(self, element, environ):
        element.set_attribute("rel", "nofollow")
```

Importing this package needs nothing extra; building a ``Rewriter`` needs
the ``dualfilter[html]`` extra (the lol-html engine).
"""

from __future__ import annotations

from .nodes import Document, Element, Text
from .rewriter import OversizeError, Rewriter, RewriteStream, on

__all__ = ["Document", "Element", "OversizeError", "RewriteStream", "Rewriter", "Text", "on"]
