"""`IcebergTestPlugin`: a small, real plugin that writes generated rows into Iceberg.

It writes through the project's catalog with pyiceberg (``PluginContext.catalog``), honours
``write_disposition`` (append, replace, merge on ``primary_key``), resolves the pipeline's
``secret_refs`` in ``create_pipeline``, and can fail on purpose. Its block in ``floe.yaml``::

    - name: numbers
      type: testsource
      destination: bronze.numbers
      testsource:
        source: numbers
        rows: 3              # rows 1..rows
        fail: leak           # raise an exception that contains the first secret (canary tests)
                             # transient / permanent: raise that kind of IngestionException

It also accepts ``api_token_secret_ref`` in its settings and resolves it when built.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from floe_core.config import IngestionConfig, WriteDisposition
from floe_core.errors import (
    ConfigurationError,
    ErrorCode,
    PermanentError,
    TransientError,
)
from floe_core.plugin import IngestionPlugin, PluginContext
from floe_core.result import IngestionResult, SchemaField, TableOutput
from floe_core.secrets import Secret

OPTIONS = {"rows", "fail"}
FAILURES = {None, "leak", "transient", "permanent"}


@dataclass
class TestPipeline:
    config: IngestionConfig
    rows: int
    fail: str | None
    secrets: dict[str, Secret]


class IcebergTestPlugin(IngestionPlugin):
    """Writes ``rows`` generated rows into the destination table; see the module docstring."""

    name = "testsource"
    version = "0.1.0"
    is_external = False

    def __init__(self, context: PluginContext | None = None) -> None:
        super().__init__(context)
        reference = self.context.settings.get("api_token_secret_ref")
        if reference is not None:
            self.api_token = self.context.secrets.resolve(reference, purpose="api token")

    def create_pipeline(self, config: IngestionConfig) -> TestPipeline:
        unknown = sorted(set(config.options) - OPTIONS)
        if unknown:
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                f"unknown testsource option(s) {', '.join(unknown)}; use {', '.join(sorted(OPTIONS))}",
                source=config.name,
            )
        rows = config.options.get("rows", 3)
        if not isinstance(rows, int) or rows < 0:
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG, f"rows must be a whole number >= 0, got {rows!r}"
            )
        fail = config.options.get("fail")
        if fail not in FAILURES:
            raise ConfigurationError(ErrorCode.INVALID_CONFIG, f"unknown failure {fail!r}")
        secrets = self.context.secrets.resolve_all(config.secret_refs)
        return TestPipeline(config, rows, fail, secrets)

    def run(self, pipeline: TestPipeline, **kwargs: Any) -> IngestionResult:
        started = time.monotonic()
        config = pipeline.config
        if pipeline.fail == "leak":
            token = next(iter(pipeline.secrets.values())).reveal()
            raise RuntimeError(f"the source refused the token {token} (on purpose)")
        if pipeline.fail == "transient":
            raise TransientError(ErrorCode.NETWORK_ERROR, "the source did not answer")
        if pipeline.fail == "permanent":
            raise PermanentError(ErrorCode.AUTH_FAILED, "the source refused the credentials")
        import pyarrow as pa

        data = pa.table(
            {
                "id": pa.array(range(1, pipeline.rows + 1), pa.int64()),
                "value": pa.array(
                    [f"{config.source}-{i}" for i in range(1, pipeline.rows + 1)], pa.string()
                ),
            }
        )
        catalog = self.context.catalog
        identifier = config.destination_table
        catalog.create_namespace_if_not_exists(config.namespace)
        created = not catalog.table_exists(identifier)
        table = catalog.create_table_if_not_exists(identifier, schema=data.schema)
        if config.write_disposition is WriteDisposition.REPLACE:
            table.overwrite(data)
        elif config.write_disposition is WriteDisposition.MERGE:
            table.upsert(data, join_cols=list(config.primary_key or []))
        else:
            table.append(data)
        table = catalog.load_table(identifier)
        snapshot = table.current_snapshot()
        return IngestionResult(
            success=True,
            rows_loaded=pipeline.rows,
            tables_created=[identifier] if created else [],
            duration_seconds=time.monotonic() - started,
            tables=[
                TableOutput(
                    identifier=identifier,
                    rows=pipeline.rows,
                    location=table.location(),
                    schema=tuple(
                        SchemaField(field.name, str(field.field_type))
                        for field in table.schema().fields
                    ),
                    snapshot_id=snapshot.snapshot_id if snapshot else None,
                    created=created,
                )
            ],
        )

    def get_destination_config(self, catalog_config: Mapping[str, Any]) -> dict[str, Any]:
        return {"destination_type": "iceberg", "catalog": dict(catalog_config)}

    def create_dagster_assets(self, configs: list[IngestionConfig]) -> list[Any]:
        return []
