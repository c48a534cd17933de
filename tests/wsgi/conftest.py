"""Shared set-up for the WSGI adapter tests: ``tests/`` importable for the Django project."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = str(Path(__file__).resolve().parent.parent)
if TESTS not in sys.path:
    sys.path.insert(0, TESTS)
