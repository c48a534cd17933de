"""Shared set-up for the Django middleware tests: ``tests/`` importable, Django configured once.

This folder has no ``__init__.py`` on purpose: with ``tests/`` on ``sys.path``
a regular package named ``django`` here would shadow the real Django.
"""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent.parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)

from django_project import setup_django  # noqa: E402

setup_django()
