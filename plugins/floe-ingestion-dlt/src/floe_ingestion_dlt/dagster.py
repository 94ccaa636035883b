"""Dagster assets for dlt pipelines, executed through floe's runner (ARCHITECTURE.md, decision 7).

:func:`create_dagster_assets` gives, per pipeline, one ``multi_asset`` with one asset per
destination Iceberg table. The specs start from dagster-dlt's
:class:`~dagster_dlt.DagsterDltTranslator` (description, metadata); key, group, kinds,
execution and the outcome of a failure are floe's, the same for every plugin
(:func:`floe_core.dagster.pipeline_asset`): materialising runs the pipeline through the floe
runner given by the ``floe`` resource, never dagster-dlt's resource; every run builds a fresh
pipeline and source, so the same definitions can be materialised any number of times in one
process.

To know a pipeline's tables, a dlt source or resource is built once at definition time, with
placeholder secrets (dlt sources are lazy: nothing is read); a plain function is never called
then (it would read its data) and gives one table, the destination. ``sql_database`` without
``table_names`` must reflect the database to list its tables, so it is built with the real
secrets; list ``table_names`` to keep definitions offline. dagster is imported only here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from floe_core.config import IngestionConfig
from floe_core.secrets import Secret

if TYPE_CHECKING:
    from floe_core.runner import IngestionRunner
    from floe_ingestion_dlt.plugin import DltIngestionPlugin

__all__ = ["create_dagster_assets", "planned_tables"]

_PLACEHOLDER = "floe-planning-placeholder"


def create_dagster_assets(
    plugin: DltIngestionPlugin,
    configs: Sequence[IngestionConfig],
    *,
    runner: Callable[[IngestionConfig], IngestionRunner] | None = None,
    translator: Any = None,
) -> list[Any]:
    """Dagster ``AssetsDefinition`` objects for ``configs`` (one multi-asset per pipeline).

    Each materialisation gets its runner from the ``floe`` resource
    (:class:`floe_core.dagster.FloeProjectResource`: the project's retry policy, lineage and
    metrics), or from ``runner(config)`` when given. ``translator`` is a
    ``DagsterDltTranslator`` whose specs floe starts from (default: dagster-dlt's own).
    """
    from dagster_dlt import DagsterDltTranslator

    base = translator or DagsterDltTranslator()
    names = [config.name for config in configs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"pipelines named more than once: {', '.join(duplicates)}")
    return [_pipeline_assets(plugin, config, runner, base) for config in configs]


def planned_tables(plugin: DltIngestionPlugin, config: IngestionConfig) -> dict[str, Any]:
    """Resource name -> the dlt resource (for the translator) this config loads, in order.

    Raises ConfigurationError when the source cannot be declared or built.
    """
    import dlt

    from floe_ingestion_dlt.sources import declare_source, select_resources

    declared = declare_source(config, plugin.context.project_dir)
    tables = declared.args.get("table_names") if declared.kind == "sql_database" else None
    if tables:
        chosen = [t for t in tables if not declared.resources or t in declared.resources]
        return {table: dlt.resource([], name=table) for table in chosen}
    if declared.kind == "python" and not _is_lazy(declared.function):
        # a plain function reads its data when called: never at definition time
        return {config.table_name: dlt.resource([], name=config.table_name)}
    if declared.kind == "sql_database":  # it reflects the database: real credentials
        secrets = plugin.context.secrets.resolve_all(config.secret_refs)
    else:  # dlt sources are lazy: building one with placeholders reads nothing
        secrets = {path: Secret(_PLACEHOLDER, ref) for path, ref in declared.secret_refs.items()}
    selected = select_resources(declared.build(secrets), declared.resources, config.table_name)
    return {resource.name: resource for resource in selected.resources}


def _pipeline_assets(
    plugin: DltIngestionPlugin,
    config: IngestionConfig,
    make_runner: Callable[[IngestionConfig], IngestionRunner] | None,
    translator: Any,
) -> Any:
    from dagster_dlt.translator import DltResourceTranslatorData

    from floe_core.dagster import pipeline_asset

    resources = planned_tables(plugin, config)
    identifiers = _identifiers(config, resources)
    doc = _doc(config, plugin)
    specs = {}
    for name, resource in resources.items():
        spec = translator.get_asset_spec(
            DltResourceTranslatorData(resource=resource, pipeline=None)
        )
        if doc and not config.description:
            spec = spec.replace_attributes(description=doc)
        specs[identifiers[name]] = spec
    return pipeline_asset(plugin, config, specs, runner=make_runner)


def _is_lazy(function: Any) -> bool:
    """Whether calling ``function`` only builds a dlt source or resource (reads nothing)."""
    from dlt.extract.reference import SourceFactory
    from dlt.extract.resource import DltResource
    from dlt.extract.source import DltSource

    return isinstance(function, SourceFactory | DltResource | DltSource)


def _doc(config: IngestionConfig, plugin: DltIngestionPlugin) -> str | None:
    """The first paragraph of a dotted-path source function's docstring, if any."""
    from floe_ingestion_dlt.sources import declare_source

    function = declare_source(config, plugin.context.project_dir).function
    doc = inspect.getdoc(function) if function is not None else None
    return doc.split("\n\n", 1)[0] if doc else None


def _identifiers(config: IngestionConfig, resources: dict[str, Any]) -> dict[str, str]:
    """Resource name -> Iceberg identifier (one resource: the destination table)."""
    if len(resources) == 1:
        return {name: config.destination_table for name in resources}
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    naming = NamingConvention()
    namespace = ".".join(config.namespace)
    identifiers = {}
    for name, resource in resources.items():
        table = resource.table_name if isinstance(resource.table_name, str) else name
        identifiers[name] = f"{namespace}.{naming.normalize_table_identifier(table)}"
    return identifiers
