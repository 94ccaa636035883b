"""Small in-repo plugins for the runner tests: they write real Iceberg tables through the catalog."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pyarrow as pa

from floe_core.config import IngestionConfig
from floe_core.plugin import IngestionPlugin
from floe_core.result import IngestionResult, SchemaField, TableOutput


class ArrowTablePlugin(IngestionPlugin):
    """Appends the rows of a source (an iterable of dicts) to the destination Iceberg table.

    ``behaviours`` is a list consumed one per attempt: an exception to raise, a callable
    returning a result, or None for a normal run.
    """

    name = "arrow"
    version = "0.0.1"
    is_external = False

    def __init__(self, *args: Any, behaviours: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.behaviours = list(behaviours or [])
        self.calls = 0

    def create_pipeline(self, config: IngestionConfig) -> IngestionConfig:
        return config

    def run(self, pipeline: IngestionConfig, **kwargs: Any) -> IngestionResult:
        self.calls += 1
        behaviour = self.behaviours.pop(0) if self.behaviours else None
        if isinstance(behaviour, BaseException):
            raise behaviour
        if callable(behaviour):
            return behaviour(pipeline)  # type: ignore[no-any-return]
        rows: Iterable[Mapping[str, Any]] = kwargs.get("source") or [{"id": 1}, {"id": 2}]
        data = pa.Table.from_pylist(list(rows))
        catalog = self.context.catalog
        catalog.create_namespace_if_not_exists(pipeline.namespace)
        created = not catalog.table_exists(pipeline.destination_table)
        table = (
            catalog.create_table(pipeline.destination_table, schema=data.schema)
            if created
            else catalog.load_table(pipeline.destination_table)
        )
        table.append(data)
        table = catalog.load_table(pipeline.destination_table)
        return IngestionResult(
            success=True,
            rows_loaded=data.num_rows,
            tables_created=[pipeline.destination_table] if created else [],
            duration_seconds=0.0,
            tables=[
                TableOutput(
                    identifier=pipeline.destination_table,
                    rows=data.num_rows,
                    location=table.location(),
                    schema=tuple(
                        SchemaField(f.name, str(f.field_type)) for f in table.schema().fields
                    ),
                    snapshot_id=table.current_snapshot().snapshot_id,
                    created=created,
                )
            ],
        )

    def get_destination_config(self, catalog_config: Mapping[str, Any]) -> dict[str, Any]:
        return {"table_format": "iceberg", "catalog": dict(catalog_config)}

    def create_dagster_assets(self, configs: list[IngestionConfig]) -> list[Any]:
        return []


def failing_result(error: Any, rows: int = 0) -> Callable[[IngestionConfig], IngestionResult]:
    def build(config: IngestionConfig) -> IngestionResult:
        return IngestionResult(
            success=False, rows_loaded=rows, tables_created=[], duration_seconds=0.1, error=error
        )

    return build
