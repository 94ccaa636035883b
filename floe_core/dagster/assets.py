"""`pipeline_asset`: one Dagster multi-asset per pipeline, one asset per Iceberg table.

Plugins call it from ``create_dagster_assets`` with the tables their pipeline writes (and, if
they like, the ``AssetSpec`` a translator made for each, e.g. dagster-dlt's or
dagster-airbyte's); floe sets what must be the same for every plugin:

* key from the Iceberg identifier (``bronze.github_events`` -> ``bronze/github_events``),
  ``group_name="ingestion"``, ``kinds`` ``{<plugin>, "iceberg"}``, description and owners
  from ``floe.yaml``;
* execution through the floe runner, with the Dagster run as OpenLineage parent, and the
  outcome mapping of :mod:`floe_core.dagster.outcome`;
* materialisation metadata: rows loaded by the run, the table's total row count, column
  schema, Iceberg snapshot id and location, and the plain values of the result's
  ``details`` (an Airbyte job id, bytes synced...); ``details["warnings"]`` go to the log.

The asset needs the ``floe`` resource (:class:`~floe_core.dagster.resource.FloeProjectResource`);
:func:`~floe_core.dagster.definitions.build_definitions` provides it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import dagster as dg

from floe_core.config import IngestionConfig
from floe_core.dagster.outcome import dagster_failure_for, error_metadata
from floe_core.dagster.resource import RESOURCE_KEY, FloeProjectResource
from floe_core.result import IngestionResult, TableOutput

if TYPE_CHECKING:
    from floe_core.plugin import IngestionPlugin
    from floe_core.runner import IngestionRunner

__all__ = ["GROUP_NAME", "PARENT_NAMESPACE", "asset_key_for", "pipeline_asset"]

GROUP_NAME = "ingestion"
PARENT_NAMESPACE = "dagster"
_OWNER = re.compile(r"^(team:[\w.-]+|[^@\s]+@[^@\s]+\.[^@\s]+)$")


def asset_key_for(identifier: str) -> dg.AssetKey:
    """``bronze.github_events`` -> ``AssetKey(["bronze", "github_events"])``."""
    return dg.AssetKey(identifier.split("."))


def pipeline_asset(
    plugin: IngestionPlugin,
    config: IngestionConfig,
    tables: Sequence[str] | Mapping[str, dg.AssetSpec | None],
    *,
    runner: Callable[[IngestionConfig], IngestionRunner] | None = None,
    asset_keys: Mapping[str, dg.AssetKey] | None = None,
) -> dg.AssetsDefinition:
    """The multi-asset that materialises ``config``'s ``tables`` (Iceberg identifiers).

    Each materialisation gets its runner from the ``floe`` resource (the project's retry
    policy, lineage and metrics), or from ``runner(config)`` when given (tests, embedding code).
    ``asset_keys`` overrides the key of a table whose identifier alone is not unique (an
    external tool's table without a namespace).
    """
    given = tables if isinstance(tables, Mapping) else dict.fromkeys(tables)
    if not given:
        raise ValueError(f"pipeline {config.name!r} declares no table to materialise")
    chosen = asset_keys or {}
    specs = [
        _spec(plugin, config, chosen.get(identifier) or asset_key_for(identifier), identifier, spec)
        for identifier, spec in given.items()
    ]
    keys = {identifier: spec.key for identifier, spec in zip(given, specs, strict=True)}

    @dg.multi_asset(
        specs=specs,
        name=f"ingest_{config.name}",
        required_resource_keys=set() if runner is not None else {RESOURCE_KEY},
        can_subset=False,
        op_tags={"floe/pipeline": config.name, "floe/plugin": plugin.name},
    )
    def _ingest(context):  # type: ignore[no-untyped-def]  # dagster rejects string annotations
        parent = _parent(context)
        if runner is not None:
            run_with = runner(config)
            run_with.parent = run_with.parent or parent
        else:
            floe: FloeProjectResource = getattr(context.resources, RESOURCE_KEY)
            run_with = floe.runner(plugin, config, parent=parent)
        result = run_with.run(config)
        for warning in result.details.get("warnings") or []:
            context.log.warning(f"ingestion {config.name}: {warning}")
        yield from _materializations(run_with, result, keys, committed_only=not result.success)
        if not result.success:
            context.log.error(f"ingestion {config.name} failed: {result.error}")
            raise dagster_failure_for(result, run_with.retry)

    return _ingest


def _spec(
    plugin: IngestionPlugin,
    config: IngestionConfig,
    key: dg.AssetKey,
    identifier: str,
    spec: dg.AssetSpec | None,
) -> dg.AssetSpec:
    owners = [owner for owner in config.owners if _OWNER.match(owner)]
    base = spec or dg.AssetSpec(key=key)
    return base.replace_attributes(
        key=key,
        group_name=GROUP_NAME,
        kinds={plugin.name, "iceberg"},
        deps=[],
        description=config.description or base.description or f"Iceberg table {identifier}",
        owners=owners or list(base.owners),
    ).merge_attributes(
        metadata={
            "dagster/table_name": identifier,
            "floe/pipeline": config.name,
            "floe/plugin": plugin.name,
            "floe/write_disposition": config.write_disposition.value,
        }
    )


def _parent(context: dg.AssetExecutionContext) -> Any:
    from floe_core.lineage import ParentRun

    return ParentRun(
        namespace=PARENT_NAMESPACE, job_name=context.run.job_name, run_id=context.run.run_id
    )


def _materializations(
    runner: IngestionRunner,
    result: IngestionResult,
    keys: Mapping[str, dg.AssetKey],
    *,
    committed_only: bool,
) -> Iterator[dg.MaterializeResult[Any]]:
    written = {table.identifier: table for table in result.tables}
    for identifier, key in keys.items():
        table = written.get(identifier)
        if committed_only and (table is None or table.rows == 0):
            continue
        metadata: dict[str, Any] = {
            "floe/rows_loaded": table.rows if table else 0,
            "floe/attempts": result.attempts,
            "floe/duration_seconds": round(result.duration_seconds, 3),
            **{
                f"floe/{key}": value
                for key, value in result.details.items()
                if isinstance(value, str | int | float | bool)
            },
        }
        if table is not None:
            metadata.update(_table_metadata(runner, table))
        if committed_only:
            metadata.update(error_metadata(result))
        yield dg.MaterializeResult(asset_key=key, metadata=metadata)


def _table_metadata(runner: IngestionRunner, table: TableOutput) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    if table.schema:
        metadata["dagster/column_schema"] = dg.TableSchema(
            columns=[
                dg.TableColumn(name=field.name, type=field.type, description=field.description)
                for field in table.schema
            ]
        )
    if table.snapshot_id is not None:
        metadata["floe/snapshot_id"] = str(table.snapshot_id)
    if table.location:
        metadata["floe/location"] = table.location
    total = _total_rows(runner, table.identifier)
    if total is not None:
        metadata["dagster/row_count"] = total
    return metadata


def _total_rows(runner: IngestionRunner, identifier: str) -> int | None:
    """The table's row count after the run, from its current snapshot (no scan)."""
    if runner.plugin.is_external:
        return None
    try:
        snapshot = runner.plugin.context.catalog.load_table(identifier).current_snapshot()
        total = snapshot.summary.get("total-records") if snapshot and snapshot.summary else None
        return int(total) if total is not None else None
    except Exception:  # metadata is best-effort: the data is already committed
        return None
