"""Helpers shared by the destination's tests (importable; fixtures live in conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dlt
from pyiceberg.catalog import Catalog

PipelineFactory = Callable[..., dlt.Pipeline]


def rows(catalog: Catalog, identifier: str, *columns: str) -> list[tuple[Any, ...]]:
    """Sorted tuples of ``columns`` of a table read back with a fresh pyiceberg scan."""
    data = catalog.load_table(identifier).scan().to_arrow().to_pylist()
    return sorted(tuple(row[c] for c in columns) for row in data)
