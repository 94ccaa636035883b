"""`FlakyPlugin` (type ``flaky``): writes real Iceberg tables, or fails the way it is told.

Its block in ``floe.yaml``::

    - name: orders
      type: flaky
      destination: bronze.orders
      flaky:
        source: orders
        rows: 3                   # rows written to each table (ids 1..rows)
        fail: transient           # transient | permanent | configuration | partial (absent: none)
        failures: 2               # transient: only the first N attempts fail (default: all)
        retry_after_seconds: 1    # transient: what the source asks to wait
        tables: [bronze.a, bronze.b]   # tables the pipeline writes (default: destination)

* ``transient``: ``run`` raises ``TransientError(RATE_LIMITED)``;
* ``permanent``: ``run`` raises ``PermanentError(AUTH_FAILED)``;
* ``configuration``: ``create_pipeline`` raises ``ConfigurationError(INVALID_CONFIG)``;
* ``partial``: the first table is committed, then the run fails with ``PARTIAL_LOAD`` (a
  failed result that reports the committed table, as a real plugin does).

Every attempt is counted in ``<state_dir>/flaky/<pipeline>.attempts`` (a file, so Dagster
retries and step processes see the same count).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from floe_core.config import IngestionConfig
from floe_core.errors import (
    ConfigurationError,
    ErrorCategory,
    ErrorCode,
    IngestionError,
    PermanentError,
    TransientError,
)
from floe_core.plugin import IngestionPlugin
from floe_core.result import IngestionResult, SchemaField, TableOutput

OPTIONS = {"rows", "fail", "failures", "retry_after_seconds", "tables"}


@dataclass
class FlakyPipeline:
    config: IngestionConfig
    rows: int
    fail: str | None
    failures: int | None
    retry_after_seconds: int | None
    tables: list[str]


def attempts_file(state_dir: Path, pipeline: str) -> Path:
    """Where the attempts of ``pipeline`` are counted."""
    return state_dir / "flaky" / f"{pipeline}.attempts"


def attempts_made(state_dir: Path, pipeline: str) -> int:
    path = attempts_file(state_dir, pipeline)
    return int(path.read_text()) if path.exists() else 0


class FlakyPlugin(IngestionPlugin):
    """See the module docstring."""

    name = "flaky"
    version = "0.1.0"
    is_external = False
    floe_api_version = "1.0"

    def create_pipeline(self, config: IngestionConfig) -> FlakyPipeline:
        options = config.options
        unknown = sorted(set(options) - OPTIONS)
        fail = options.get("fail")
        if unknown or fail == "configuration":
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                f"floe.yaml: ingestion {config.name}.flaky: unknown option(s) "
                f"{', '.join(unknown) or 'fail=configuration'}",
                source="flaky",
            )
        return FlakyPipeline(
            config=config,
            rows=int(options.get("rows", 3)),
            fail=fail,
            failures=options.get("failures"),
            retry_after_seconds=options.get("retry_after_seconds"),
            tables=list(options.get("tables") or [config.destination_table]),
        )

    def run(self, pipeline: FlakyPipeline, **kwargs: Any) -> IngestionResult:
        started = time.monotonic()
        attempt = self._count_attempt(pipeline.config.name)
        failing = pipeline.failures is None or attempt <= pipeline.failures
        if pipeline.fail == "transient" and failing:
            raise TransientError(
                ErrorCode.RATE_LIMITED,
                f"the source rate-limited attempt {attempt}",
                source="flaky",
                retry_after_seconds=pipeline.retry_after_seconds,
            )
        if pipeline.fail == "permanent":
            raise PermanentError(
                ErrorCode.AUTH_FAILED, "the source refused the credentials", source="flaky"
            )
        written: list[TableOutput] = []
        for index, identifier in enumerate(pipeline.tables):
            if pipeline.fail == "partial" and index > 0:
                return IngestionResult(
                    success=False,
                    rows_loaded=sum(table.rows for table in written),
                    tables_created=[t.identifier for t in written if t.created],
                    duration_seconds=time.monotonic() - started,
                    error=IngestionError(
                        ErrorCategory.PARTIAL,
                        ErrorCode.PARTIAL_LOAD,
                        f"{identifier} failed after {written[0].identifier} was committed",
                        "flaky",
                        failed_records=pipeline.rows,
                    ),
                    tables=written,
                )
            written.append(self._write(identifier, pipeline.rows))
        return IngestionResult(
            success=True,
            rows_loaded=sum(table.rows for table in written),
            tables_created=[t.identifier for t in written if t.created],
            duration_seconds=time.monotonic() - started,
            tables=written,
        )

    def _count_attempt(self, pipeline: str) -> int:
        path = attempts_file(self.context.state_dir, pipeline)
        path.parent.mkdir(parents=True, exist_ok=True)
        attempt = attempts_made(self.context.state_dir, pipeline) + 1
        path.write_text(str(attempt))
        return attempt

    def _write(self, identifier: str, rows: int) -> TableOutput:
        import pyarrow as pa

        data = pa.table(
            {
                "id": pa.array(range(1, rows + 1), pa.int64()),
                "label": pa.array([f"row-{i}" for i in range(1, rows + 1)], pa.string()),
            }
        )
        catalog = self.context.catalog
        namespace = tuple(identifier.split(".")[:-1])
        catalog.create_namespace_if_not_exists(namespace)
        created = not catalog.table_exists(identifier)
        table = catalog.create_table_if_not_exists(identifier, schema=data.schema)
        table.append(data)
        table = catalog.load_table(identifier)
        snapshot = table.current_snapshot()
        return TableOutput(
            identifier=identifier,
            rows=rows,
            location=table.location(),
            schema=tuple(SchemaField(f.name, str(f.field_type)) for f in table.schema().fields),
            snapshot_id=snapshot.snapshot_id if snapshot else None,
            created=created,
        )

    def get_destination_config(self, catalog_config: Mapping[str, Any]) -> dict[str, Any]:
        return {"destination_type": "iceberg", "catalog": dict(catalog_config)}

    def create_dagster_assets(self, configs: list[IngestionConfig]) -> list[Any]:
        from floe_core.dagster import pipeline_asset

        return [
            pipeline_asset(
                self, config, list(config.options.get("tables") or [config.destination_table])
            )
            for config in configs
        ]
