"""dualfilter in Django's own middleware chain.

```python
# settings.py
MIDDLEWARE = ["dualfilter.django.FilterMiddleware", ...]
DUALFILTER_FILTERS = ["myproject.filters:InjectScript", "replace?pattern=a&repl=b"]
```
"""

from __future__ import annotations

try:
    import django  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without Django installed
    raise ImportError("dualfilter.django needs Django: pip install 'dualfilter[django]'") from exc

from .middleware import SETTING, FilterMiddleware, filter_from_settings, layers_from_settings

__all__ = ["FilterMiddleware", "SETTING", "filter_from_settings", "layers_from_settings"]
