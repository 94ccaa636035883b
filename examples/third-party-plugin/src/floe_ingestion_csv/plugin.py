"""`CsvIngestionPlugin`: CSV and JSON-lines files into Iceberg tables, through floe's catalog.

A pipeline's ``source`` is a file path relative to the project folder, or an http(s) URL.
Its ``csv:`` options block takes ``format`` (``csv`` or ``jsonl``; default from the file
name) and ``batch_size`` (rows per Iceberg commit, default 10,000). ``secret_refs.token``, if
set, is sent to a URL as a bearer token. ``append`` adds rows, ``replace`` overwrites the
table; ``merge`` is not supported.

``run(pipeline, source=...)`` loads any iterable of dicts or pyarrow batches instead of the
file: that is how floe's conformance kit and your unit tests hand it a mock source.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from floe_core.config import IngestionConfig, WriteDisposition
from floe_core.errors import ConfigurationError, ErrorCategory, ErrorCode, IngestionError
from floe_core.plugin import IngestionPlugin
from floe_core.result import IngestionResult, SchemaField, TableOutput
from floe_core.secrets import Secret
from floe_ingestion_csv.errors import classify
from floe_ingestion_csv.reading import read_batches

OPTIONS = ("format", "batch_size")


@dataclass(frozen=True)
class CsvPipeline:
    """Everything ``run`` needs, checked by ``create_pipeline``."""

    config: IngestionConfig
    file_format: str
    batch_size: int
    token: Secret | None


class CsvIngestionPlugin(IngestionPlugin):
    """Loads a CSV or JSON-lines file (or a given source) into one Iceberg table."""

    name = "csv"  # equal to the entry-point name in pyproject.toml
    version = "0.1.0"
    is_external = False  # runs in-process, not in an external service
    floe_api_version = "1.0"  # the plugin contract this was written for

    def create_pipeline(self, config: IngestionConfig) -> CsvPipeline:
        def invalid(problem: str) -> ConfigurationError:
            return ConfigurationError(
                ErrorCode.INVALID_CONFIG, f"pipeline {config.name!r}: {problem}", source=self.name
            )

        unknown = sorted(set(config.options) - set(OPTIONS))
        if unknown:
            raise invalid(f"unknown csv option(s) {', '.join(unknown)}; allowed: {OPTIONS}")
        if config.write_disposition is WriteDisposition.MERGE:
            raise invalid("write_disposition merge is not supported; use append or replace")
        is_jsonl = config.source.endswith((".jsonl", ".ndjson"))
        file_format = config.options.get("format", "jsonl" if is_jsonl else "csv")
        if file_format not in ("csv", "jsonl"):
            raise invalid(f"csv option format is {file_format!r}; use 'csv' or 'jsonl'")
        batch_size = config.options.get("batch_size", 10_000)
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise invalid(f"csv option batch_size is {batch_size!r}; use a whole number >= 1")
        secrets = self.context.secrets.resolve_all(config.secret_refs)  # SECRET_MISSING if absent
        return CsvPipeline(config, file_format, batch_size, secrets.get("token"))

    def run(
        self, pipeline: CsvPipeline, source: Iterable[Any] | None = None, **kwargs: Any
    ) -> IngestionResult:
        config, started = pipeline.config, time.monotonic()
        committed, created, table = 0, False, None
        try:
            items = source if source is not None else self._read(pipeline)
            for data in _batches(items, pipeline.batch_size):
                table, new = self._commit(pipeline, data, first=table is None)
                created, committed = created or new, committed + data.num_rows
            error = None
        except Exception as exc:
            error = classify(exc, config.name)
            if committed:  # some batches are in Iceberg: say exactly how many rows
                error = IngestionError(
                    ErrorCategory.PARTIAL,
                    ErrorCode.PARTIAL_LOAD,
                    f"{committed} rows were committed to {config.destination_table}, "
                    f"then: {error.message}",
                    config.name,
                    details={"cause_code": error.code.value},
                )
        outputs = []
        if table is not None:
            table.refresh()
            outputs.append(
                TableOutput(
                    identifier=config.destination_table,
                    rows=committed,
                    location=table.location(),
                    schema=tuple(
                        SchemaField(f.name, str(f.field_type)) for f in table.schema().fields
                    ),
                    snapshot_id=table.current_snapshot().snapshot_id,
                    created=created,
                )
            )
        return IngestionResult(
            success=error is None,
            rows_loaded=committed,
            tables_created=[config.destination_table] if created else [],
            duration_seconds=time.monotonic() - started,
            error=error,
            tables=outputs,
        )

    def _read(self, pipeline: CsvPipeline) -> Iterator[pa.RecordBatch]:
        return read_batches(
            pipeline.config.source,
            pipeline.file_format,
            project_dir=self.context.project_dir,
            token=pipeline.token,
        )

    def _commit(self, pipeline: CsvPipeline, data: pa.Table, *, first: bool) -> tuple[Any, bool]:
        """Append ``data`` (overwrite on the first commit of a replace); create what is missing."""
        config, catalog = pipeline.config, self.context.catalog
        catalog.create_namespace_if_not_exists(config.namespace)
        created = not catalog.table_exists(config.destination_table)
        if created:
            table = catalog.create_table(config.destination_table, schema=data.schema)
        else:
            table = catalog.load_table(config.destination_table)
        if first and config.write_disposition is WriteDisposition.REPLACE:
            table.overwrite(data)
        else:
            table.append(data)
        return table, created

    def get_destination_config(self, catalog_config: Mapping[str, Any]) -> dict[str, Any]:
        """pyiceberg writes the table: the catalog block itself, secrets as references."""
        return {"table_format": "iceberg", "writer": "pyiceberg", "catalog": dict(catalog_config)}

    def create_dagster_assets(self, configs: list[IngestionConfig]) -> list[Any]:
        """One asset per pipeline, keyed by its table, each run going through floe's runner."""
        from floe_core.dagster import pipeline_asset  # imports dagster: only when asked for

        return [pipeline_asset(self, config, [config.destination_table]) for config in configs]


def _batches(items: Iterable[Any], size: int) -> Iterator[pa.Table]:
    """Rows (dicts) or arrow batches/tables, regrouped into tables of at most ``size`` rows."""
    pending: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, pa.RecordBatch | pa.Table):
            if pending:
                yield pa.Table.from_pylist(pending)
                pending = []
            data = item if isinstance(item, pa.Table) else pa.Table.from_batches([item])
            for offset in range(0, data.num_rows, size):
                yield data.slice(offset, size)
        else:
            pending.append(dict(item))
            if len(pending) == size:
                yield pa.Table.from_pylist(pending)
                pending = []
    if pending:
        yield pa.Table.from_pylist(pending)
