"""Dagster assets for Airbyte pipelines, executed through floe's runner.

:func:`create_dagster_assets` makes, for each Airbyte pipeline, one ``multi_asset`` whose
specs are the Iceberg tables the connection's streams land in (one sync materialises all of
them, so they cannot be subset):

* asset key ``[*namespace, table]`` (e.g. ``["bronze", "users"]``): two connections with a
  stream of the same name in different namespaces do not collide;
* group ``ingestion``, kinds ``{"airbyte", "iceberg"}``;
* metadata: ``dagster/table_name`` and dagster-airbyte's ``AirbyteMetadataSet``
  (``dagster-airbyte/connection_id``, ``connection_name``, ``stream_prefix``) when
  dagster-airbyte is installed (the ``dagster`` extra).

Execution and failure outcomes are floe's, the same for every plugin
(:func:`floe_core.dagster.pipeline_asset`): the runner comes from the ``floe`` resource (or
``runner_factory``), so retry, lineage, metrics and the error taxonomy are the same as on the
command line; a run termination reaches the sync's wait loop as an interruption, which
cancels the Airbyte job.

Connections are resolved when the assets are built (an API call per pipeline), so a missing
or non-Iceberg connection fails the code location early with the plugin's explanation.
Dagster is imported only when this function runs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from floe_core.config import IngestionConfig
from floe_core.errors import ConfigurationError, ErrorCode

from floe_ingestion_airbyte.connection import AirbyteConnectionHandle, StreamTable

if TYPE_CHECKING:
    from floe_core.runner import IngestionRunner

    from floe_ingestion_airbyte.plugin import AirbyteIngestionPlugin

__all__ = ["asset_key_path", "create_dagster_assets"]


def asset_key_path(handle: AirbyteConnectionHandle, table: StreamTable) -> list[str]:
    """The asset key of a stream's table: its namespace parts, then the table name."""
    if table.namespace_parts:
        return [*table.namespace_parts, table.table]
    return ["airbyte", handle.connection_id.replace("-", "_"), table.table]


def create_dagster_assets(
    plugin: AirbyteIngestionPlugin,
    configs: list[IngestionConfig],
    *,
    runner_factory: Callable[[AirbyteIngestionPlugin], IngestionRunner] | None = None,
) -> list[Any]:
    """One multi-asset per Airbyte pipeline in ``configs`` (others are skipped).

    Two pipelines of the same connection are a ConfigurationError: one sync writes all the
    connection's tables, so they must be one set of assets.
    """
    assets = []
    synced_by: dict[str, str] = {}
    for config in configs:
        if config.plugin != plugin.name:
            continue
        definition, connection_id = _pipeline_assets(plugin, config, runner_factory)
        if connection_id in synced_by:
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                f"pipelines {synced_by[connection_id]!r} and {config.name!r} (floe.yaml) sync "
                f"the same Airbyte connection {connection_id}: its tables would be two sets of "
                "Dagster assets; keep one pipeline per connection",
                source="airbyte",
                details={"connection_id": connection_id},
            )
        synced_by[connection_id] = config.name
        assets.append(definition)
    return assets


def _pipeline_assets(
    plugin: AirbyteIngestionPlugin,
    config: IngestionConfig,
    runner_factory: Callable[[AirbyteIngestionPlugin], IngestionRunner] | None,
) -> tuple[Any, str]:
    import dagster as dg
    from floe_core.dagster import pipeline_asset

    handle = plugin.create_pipeline(config)
    keys = {table.identifier: dg.AssetKey(asset_key_path(handle, table)) for table in handle.tables}
    specs = {
        table.identifier: dg.AssetSpec(
            key=keys[table.identifier],
            description=(
                f"Iceberg table {table.identifier}, stream {table.stream!r} of Airbyte "
                f"connection {handle.label}"
            ),
            metadata=_metadata(handle, table),
        )
        for table in handle.tables
    }
    runner = None
    if runner_factory is not None:
        factory = runner_factory

        def runner(_: IngestionConfig) -> IngestionRunner:
            return factory(plugin)

    definition = pipeline_asset(plugin, config, specs, runner=runner, asset_keys=keys)
    return definition, handle.connection_id


def _metadata(handle: AirbyteConnectionHandle, table: StreamTable) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/table_name": table.identifier,
        "floe/pipeline": handle.pipeline,
    }
    try:
        from dagster_airbyte.translator import AirbyteMetadataSet
    except ImportError:  # the dagster extra without dagster-airbyte: plain keys
        metadata["dagster-airbyte/connection_id"] = handle.connection_id
        metadata["dagster-airbyte/connection_name"] = handle.connection_name
        return metadata
    prefix = table.table[: -len(table.stream)] if table.table.endswith(table.stream) else None
    metadata.update(
        AirbyteMetadataSet(
            connection_id=handle.connection_id,
            connection_name=handle.connection_name,
            stream_prefix=prefix or None,
        )
    )
    return metadata
