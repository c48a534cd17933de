"""Shared set-up for the Django middleware tests: Django configured once.

This folder has no ``__init__.py`` on purpose: as a package named ``django``
it could shadow the real Django.
"""

from __future__ import annotations

from tests.support.django_project import setup_django

setup_django()
