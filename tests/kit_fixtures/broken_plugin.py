"""A plugin with the mistakes the conformance kit exists to catch (used by test_kit_dogfood.py).

Each defect is a realistic one:

* its ``name`` differs from the entry-point name it claims, and no entry point is installed;
* ``create_pipeline`` accepts any option and reads its token straight from the environment, so
  floe never learns the secret (nothing masks it) and a missing secret goes unnoticed;
* ``run`` counts the items a source yields, which for arrow batches is not the row count,
  lists no ``TableOutput``, and wraps every failure in a ``RuntimeError`` (unclassified);
* ``get_destination_config`` returns a filesystem block with the secret value in it;
* ``create_dagster_assets`` returns nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from floe_core.config import IngestionConfig
from floe_core.plugin import IngestionPlugin
from floe_core.result import IngestionResult


class BrokenPlugin(IngestionPlugin):
    name = "brokn"
    version = "0.0.1"
    is_external = False

    def create_pipeline(self, config: IngestionConfig) -> dict[str, Any]:
        token = os.environ.get("FLOE_KIT_CANARY_TOKEN", "")
        return {"config": config, "token": token}

    def run(
        self, pipeline: dict[str, Any], source: Iterable[Any] | None = None, **kwargs: Any
    ) -> IngestionResult:
        config: IngestionConfig = pipeline["config"]
        try:
            items = list(source or [])
        except Exception as exc:
            raise RuntimeError(f"source failed: {exc}") from exc
        rows: list[dict[str, Any]] = []
        for item in items:
            rows.extend(item.to_pylist() if isinstance(item, pa.RecordBatch) else [dict(item)])
        data = pa.Table.from_pylist(rows)
        catalog = self.context.catalog
        catalog.create_namespace_if_not_exists(config.namespace)
        table = catalog.create_table_if_not_exists(config.destination_table, schema=data.schema)
        table.append(data)
        return IngestionResult(
            success=True,
            rows_loaded=len(items),
            tables_created=[config.destination_table],
            duration_seconds=0.0,
        )

    def get_destination_config(self, catalog_config: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "filesystem": {"bucket_url": catalog_config.get("warehouse")},
            "credentials": os.environ.get("FLOE_KIT_CANARY_TOKEN"),
        }

    def create_dagster_assets(self, configs: list[IngestionConfig]) -> list[Any]:
        return None  # type: ignore[return-value]
