"""Run ISAPI extensions and filters without IIS (the doubles live in :mod:`.ecb` until they are split)."""

from __future__ import annotations

from .ecb import *  # noqa: F403
from .ecb import __all__  # noqa: F401
