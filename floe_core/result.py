"""`IngestionResult`: what one run of one pipeline did (ADR-0020).

The ADR's fields come first and are always filled (the runner guarantees it, even when a
plugin raised): ``success``, ``rows_loaded``, ``tables_created``, ``duration_seconds``,
``error``. The additions describe the run precisely enough for lineage, metrics and users:
``tables`` (one :class:`TableOutput` per Iceberg table written, with its rows, schema and
snapshot), ``pipeline``, ``plugin``, ``attempts`` and free-form ``details``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from floe_core.errors import IngestionError

__all__ = ["IngestionResult", "SchemaField", "TableOutput"]


@dataclass(frozen=True)
class SchemaField:
    """One column of a written table: name, Iceberg type (as pyiceberg prints it), doc."""

    name: str
    type: str
    description: str | None = None


@dataclass(frozen=True)
class TableOutput:
    """One Iceberg table written by a run.

    ``identifier`` is the catalog identifier (``bronze.github_events``); ``location`` the
    table's base location (``file:///...`` or ``s3://...``), used to name the OpenLineage
    dataset; ``rows`` the rows committed by this run; ``created`` whether this run created it.
    """

    identifier: str
    rows: int
    location: str | None = None
    schema: tuple[SchemaField, ...] = ()
    snapshot_id: int | None = None
    created: bool = False
    size_bytes: int | None = None
    file_count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class IngestionResult:
    """Result of an ingestion run."""

    success: bool
    rows_loaded: int
    tables_created: list[str]
    duration_seconds: float
    error: IngestionError | None = None
    pipeline: str | None = None
    plugin: str | None = None
    tables: list[TableOutput] = field(default_factory=list)
    attempts: int = 1
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.rows_loaded < 0:
            raise ValueError("rows_loaded must be >= 0")
        if self.duration_seconds < 0:
            raise ValueError("duration_seconds must be >= 0")
        if self.success and self.error is not None:
            raise ValueError("a successful result carries no error; put warnings in details")

    @property
    def rows_by_table(self) -> dict[str, int]:
        """Rows committed by this run, per table identifier."""
        return {table.identifier: table.rows for table in self.tables}

    def replace(self, **changes: Any) -> IngestionResult:
        """A copy with some fields changed (results are immutable)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the ADR's fields first, then the additions."""
        return {
            "pipeline": self.pipeline,
            "plugin": self.plugin,
            "success": self.success,
            "rows_loaded": self.rows_loaded,
            "tables_created": list(self.tables_created),
            "duration_seconds": self.duration_seconds,
            "error": self.error.to_dict() if self.error else None,
            "attempts": self.attempts,
            "tables": [table.to_dict() for table in self.tables],
            "details": self.details,
        }
