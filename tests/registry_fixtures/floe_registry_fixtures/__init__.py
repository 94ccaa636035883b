"""Plugin modules the registry tests point fake entry points at.

``IMPORT_LOG`` records each module that started importing, so tests can prove what the
registry imported (and that it did not import a broken module twice).
"""

from __future__ import annotations

IMPORT_LOG: list[str] = []
