"""Optional dependencies: import one, or fail once, saying which extra installs it.

dualfilter's core needs only the standard library and anyio; everything else
comes in extras (``pip install 'dualfilter[lxml]'``). Code that needs an
optional package calls :func:`require` where the need is known — when a filter
is built, or when the module that uses the package is imported — so a missing
package is one :class:`MissingExtra` at startup, never an error on every
request.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingExtra", "require", "install_command"]


def install_command(extra: str) -> str:
    """The pip command that installs ``extra``, quoted for every shell."""
    return f"pip install 'dualfilter[{extra}]'"


class MissingExtra(ImportError):
    """An optional package is not installed; the message names it, the extra and the pip command."""

    def __init__(self, extra: str, module: str, purpose: str | None = None) -> None:
        package = module.partition(".")[0]
        needs = f"{purpose} needs" if purpose else "dualfilter needs"
        super().__init__(f"{needs} the {package} package, which is not installed: {install_command(extra)}", name=package)
        self.extra = extra


def require(extra: str, module: str, purpose: str | None = None) -> ModuleType:
    """Import ``module`` and return it, or raise :class:`MissingExtra` naming ``extra``.

    ``purpose`` says what needs it (``"XSLT"``), for the message.
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtra(extra, module, purpose) from exc
