"""`DltIngestionPlugin`: floe's default, embedded ingestion plugin (entry point ``dlt``).

``create_pipeline(config)`` validates the declared source (see :mod:`floe_ingestion_dlt.sources`)
and returns a handle; it reads no data and writes nothing, so ``floe validate`` may call it. The
dlt pipeline behind the handle (writing through floe's Iceberg destination into the platform's
catalog, working folder ``<project>/.floe/state/dlt/<pipeline>``) is built on first use of
:attr:`DltPipelineHandle.pipeline`, which is when the catalog is loaded.

The plugin takes no settings of its own: a ``plugins.ingestion.config`` block for it is refused
(CONFIGURATION/INVALID_CONFIG) rather than silently ignored.

``run(handle, source=None)``:

1. restores the pipeline's dlt state from the catalog (a fresh working folder, e.g. a new pod,
   resumes where the last committed load ended);
2. finishes load packages a previous run left pending (they were extracted and hold that run's
   state; dlt would otherwise load them *instead* of the new data);
3. builds a fresh source (or takes ``source=``: rows, a generator, Arrow tables, a mock
   source, a dlt resource or source), applies the pipeline's ``write_disposition``,
   ``primary_key`` and ``incremental`` to the selected resources, and names the table: a
   single resource lands at ``destination_table``; several land one table per resource, named
   after the resource, in the destination's namespace;
4. runs extract, normalize and load, and reports what the destination's commit log says was
   committed: ``rows_loaded`` (rows committed by this run; commits a retried package found
   already done are not counted), ``tables_created``, and one
   :class:`~floe_core.result.TableOutput` per table with its rows, schema, location, snapshot.

Failures are mapped by :func:`floe_ingestion_dlt.errors.map_exception`. When nothing was
committed the floe exception is raised (the runner records it with its stack trace); when
some rows were committed (a partial load, or pending packages loaded before the new data
failed) a failed :class:`~floe_core.result.IngestionResult` is returned with those figures.

dlt's anonymous telemetry is switched off (``RUNTIME__DLTHUB_TELEMETRY=false``) unless the
environment sets it: floe runs must not call out to anything but their sources.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_core.catalog import CatalogConfig
from floe_core.config import IngestionConfig, WriteDisposition
from floe_core.errors import (
    ConfigurationError,
    ErrorCategory,
    ErrorCode,
    IngestionError,
    IngestionException,
)
from floe_core.plugin import IngestionPlugin, PluginContext
from floe_core.result import IngestionResult, TableOutput
from floe_core.secrets import Secret
from floe_ingestion_dlt import __version__
from floe_ingestion_dlt.sources import DeclaredSource, declare_source

if TYPE_CHECKING:
    from dlt.extract.resource import DltResource
    from dlt.pipeline.pipeline import Pipeline

    from floe_ingestion_dlt.destination import TableCommit

__all__ = ["DltIngestionPlugin", "DltPipelineHandle"]

INTERNAL_TABLE_PREFIX = "_dlt"


@dataclass
class DltPipelineHandle:
    """What ``create_pipeline`` returns: the config, the declared source, and the dlt pipeline.

    ``table_names`` maps dlt's normalised table name to the Iceberg table name where they
    differ in spelling (dlt snake-cases ``GitHubEvents``; the table keeps the configured name).
    :attr:`pipeline` is built by ``build_pipeline`` on first use: building it loads the catalog
    and creates dlt's working folder, which validation must not do.
    """

    config: IngestionConfig
    source: DeclaredSource
    build_pipeline: Callable[[], Pipeline] = field(repr=False)
    table_names: dict[str, str] = field(default_factory=dict)

    @cached_property
    def pipeline(self) -> Pipeline:
        """The dlt pipeline writing this config's tables (built once)."""
        return self.build_pipeline()


class DltIngestionPlugin(IngestionPlugin):
    """dlt sources loaded exactly once into Iceberg tables through the platform's catalog."""

    name = "dlt"
    version = __version__
    is_external = False
    floe_api_version = "1.0"

    def __init__(self, context: PluginContext | None = None) -> None:
        """Raises ConfigurationError(INVALID_CONFIG) when the context carries settings."""
        super().__init__(context)
        if self.context.settings:
            keys = ", ".join(sorted(map(str, self.context.settings)))
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                f"the dlt plugin takes no settings, got: {keys}; remove them (each pipeline's "
                "source settings go under its dlt: block in floe.yaml, and dlt's own tuning in "
                "environment variables such as DATA_WRITER__BUFFER_MAX_ITEMS)",
            )

    def create_pipeline(self, config: IngestionConfig) -> DltPipelineHandle:
        """Validate ``config``'s source and return its handle (no data is read or written).

        Raises ConfigurationError(INVALID_CONFIG) for a source that cannot be declared. The
        catalog is loaded when the handle's pipeline is first used (in :meth:`run`), and its
        errors (DESTINATION_CONFIG_ERROR, CATALOG_UNAVAILABLE) are raised there.
        """
        declared = declare_source(config, self.context.project_dir)
        table_names = _table_names(config)
        return DltPipelineHandle(
            config,
            declared,
            lambda: self._build_pipeline(config, table_names),
            table_names,
        )

    def _build_pipeline(self, config: IngestionConfig, table_names: dict[str, str]) -> Pipeline:
        os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
        import dlt

        from floe_ingestion_dlt.destination import iceberg_destination

        destination = iceberg_destination(
            self.context.catalog,
            namespace=config.namespace,
            pipeline_name=config.name,
            table_names=table_names,
        )
        return dlt.pipeline(
            pipeline_name=config.name,
            destination=destination,
            dataset_name="_".join(config.namespace),
            pipelines_dir=str(self.context.state_dir / "dlt"),
        )

    def run(self, pipeline: Any, **kwargs: Any) -> IngestionResult:
        """Run the pipeline from ``create_pipeline``; see the module docstring.

        ``source=`` replaces the configured source for this run (its resource selection
        does not apply to it). Other keyword arguments are rejected.
        """
        handle = _handle(pipeline)
        source = kwargs.pop("source", None)
        if kwargs:
            raise TypeError(f"run() got unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        return _Run(self, handle).execute(source)

    def get_destination_config(
        self, catalog_config: CatalogConfig | Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The Iceberg destination settings for ``catalog_config`` (default: this context's).

        Credential-free: the URI loses any password, and every secret is a reference
        (``{"secret_ref": name}``), never a value.
        """
        from floe_ingestion_dlt.destination_settings import destination_config

        config = (
            self.context.catalog_config
            if catalog_config is None
            else catalog_config
            if isinstance(catalog_config, CatalogConfig)
            else CatalogConfig.model_validate(dict(catalog_config))
        )
        return destination_config(config, self.context.project_dir)

    def create_dagster_assets(self, configs: list[IngestionConfig], **kwargs: Any) -> list[Any]:
        """One Dagster asset per destination table, executed through floe's runner.

        See :func:`floe_ingestion_dlt.dagster.create_dagster_assets` for the keyword arguments.
        """
        from floe_ingestion_dlt.dagster import create_dagster_assets

        return create_dagster_assets(self, configs, **kwargs)


def _handle(pipeline: Any) -> DltPipelineHandle:
    if not isinstance(pipeline, DltPipelineHandle):
        raise TypeError(
            f"run() takes what create_pipeline() returned, not {type(pipeline).__name__}"
        )
    return pipeline


def _forget_trace(handle: DltPipelineHandle) -> None:
    """Delete the trace dlt pickled in the pipeline's working folder, if the pipeline was built.

    dlt keeps each run's exceptions there as text, and a source's error may quote a credential
    (a URL with its key, a refused token): floe's runner reports the run, redacted, instead.
    """
    if "pipeline" not in vars(handle):
        return
    from dlt.pipeline.trace import TRACE_FILE_NAME

    Path(handle.pipeline.working_dir, TRACE_FILE_NAME).unlink(missing_ok=True)


def _table_names(config: IngestionConfig) -> dict[str, str]:
    from dlt.common.normalizers.naming.snake_case import NamingConvention

    normalised = NamingConvention().normalize_table_identifier(config.table_name)
    return {normalised: config.table_name}


class _Run:
    """One execution of one pipeline (keeps the figures gathered on the way)."""

    def __init__(self, plugin: DltIngestionPlugin, handle: DltPipelineHandle) -> None:
        self.plugin = plugin
        self.handle = handle
        self.config = handle.config
        self.load_ids: list[str] = []
        self.secrets: dict[str, Secret] = {}
        self.earlier: set[tuple[str, int | None]] = set()  # commits made before this run
        self.started = time.monotonic()

    @property
    def pipeline(self) -> Pipeline:
        return self.handle.pipeline

    def execute(self, source: Any) -> IngestionResult:
        # Every declared secret must resolve, even when ``source=`` replaces the source: a
        # missing one is CONFIGURATION/SECRET_MISSING before anything is read or written.
        self.secrets = self.plugin.context.secrets.resolve_all(self.config.secret_refs)
        try:
            return self._execute(source)
        finally:
            _forget_trace(self.handle)

    def _execute(self, source: Any) -> IngestionResult:
        try:
            self._restore_state()
            if self._finish_pending():
                # The data of an attempt that failed while loading is now committed: reading
                # the source again would load it twice (a plain append has no key or cursor
                # to notice). The run ends here; the next run extracts anew.
                return self._result(success=True, details={"resumed_pending_load": True})
            data = self._prepare(source)
            info = self.pipeline.run(data)
            self.load_ids.extend(info.loads_ids)
        except Exception as exc:
            return self._failure(exc)
        return self._result(success=True)

    def _restore_state(self) -> None:
        from floe_ingestion_dlt.destination import restore_state

        restore_state(
            self.pipeline,
            self.plugin.context.catalog,
            namespace=self.config.namespace,
            table_names=self.handle.table_names,
        )

    def _finish_pending(self) -> bool:
        """Load what an earlier attempt left pending; True if there was something.

        What that attempt had already committed is not counted as this run's rows.
        """
        if not self.pipeline.has_pending_data:
            return False
        pending = [
            *self.pipeline.list_normalized_load_packages(),
            *self.pipeline.list_extracted_load_packages(),
        ]
        self.earlier = {(c.identifier, c.snapshot_id) for c in self._commits(pending)}
        info = self.pipeline.run()
        self.load_ids.extend(info.loads_ids)
        return True

    def _prepare(self, source: Any) -> Any:
        from floe_ingestion_dlt.incremental import apply_incremental
        from floe_ingestion_dlt.sources import select_resources

        self.pipeline.activate()
        declared = self.handle.source
        incremental = self.config.incremental
        if source is None:
            data = declared.build(self.secrets, incremental)
            names = declared.resources
            if declared.takes_incremental:
                incremental = None  # already in the source's own config
        else:
            data, names = source, ()
        selected = select_resources(data, names, self.config.table_name)
        _apply_hints(selected.resources, self.config)
        apply_incremental(selected.resources, incremental)
        return selected.data

    # -- outcome ----------------------------------------------------------------------------

    def _commits(self, load_ids: Sequence[str]) -> list[TableCommit]:
        from floe_ingestion_dlt.destination import load_commits

        commits: list[TableCommit] = []
        for load_id in dict.fromkeys(load_ids):
            commits.extend(
                commit
                for commit in load_commits(
                    self.plugin.context.catalog,
                    load_id,
                    namespace=self.config.namespace,
                    pipeline_name=self.config.name,
                )
                if not commit.identifier.rsplit(".", 1)[-1].startswith(INTERNAL_TABLE_PREFIX)
            )
        return commits

    def _result(
        self,
        *,
        success: bool,
        error: IngestionError | None = None,
        details: dict[str, Any] | None = None,
    ) -> IngestionResult:
        commits = [
            dataclasses.replace(c, skipped=True)
            if (c.identifier, c.snapshot_id) in self.earlier
            else c
            for c in self._commits(self.load_ids)
        ]
        tables = _table_outputs(commits)
        fresh = [commit for commit in commits if not commit.skipped]
        return IngestionResult(
            success=success,
            rows_loaded=sum(commit.rows for commit in fresh),
            tables_created=sorted({commit.identifier for commit in fresh if commit.created}),
            duration_seconds=time.monotonic() - self.started,
            error=error,
            pipeline=self.config.name,
            plugin=DltIngestionPlugin.name,
            tables=tables,
            details={
                "rows_by_table": {table.identifier: table.rows for table in tables},
                "load_ids": list(dict.fromkeys(self.load_ids)),
                "skipped_commits": [c.identifier for c in commits if c.skipped],
                "dlt_pipeline": self.config.name,
                **(details or {}),
            },
        )

    def _failure(self, exc: Exception) -> IngestionResult:
        from floe_ingestion_dlt.errors import map_exception

        failed_load = _failed_load_id(exc)
        committed: int | None = None
        failed_records: int | None = None
        if failed_load is not None:
            try:
                package_commits = self._commits([failed_load])
            except Exception:  # the commit log is unreadable: let dlt's flag decide
                package_commits = None
            if package_commits is not None:
                committed = sum(commit.rows for commit in package_commits)
                expected = _normalized_rows(self.pipeline, failed_load)
                if expected is not None:
                    failed_records = max(0, expected - committed)
                self.load_ids.append(failed_load)
        error = map_exception(
            exc,
            source=self.config.name,
            committed_rows=committed,
            failed_records=failed_records,
        )
        try:
            result = self._result(success=False, error=error)
        except Exception:
            result = None
        if result is not None and (
            result.rows_loaded > 0 or error.category is ErrorCategory.PARTIAL
        ):
            return result
        if isinstance(exc, IngestionException) and exc.error == error:
            raise exc
        raise IngestionException.from_error(error) from exc


def _apply_hints(resources: Sequence[DltResource], config: IngestionConfig) -> None:
    """Write disposition, primary key and table name from ``config`` onto ``resources``.

    ``append`` (the default) does not override a resource that declares ``merge`` or
    ``replace`` itself (e.g. a ``rest_api`` endpoint); ``merge`` and ``replace`` always apply.
    For ``merge`` with an incremental cursor, the cursor gets dlt's ``dedup_sort: desc`` hint:
    of the rows sharing a key in one load, the one with the highest cursor wins.
    """
    disposition = config.write_disposition
    for resource in resources:
        hints: dict[str, Any] = {}
        own = resource.write_disposition
        if disposition is not WriteDisposition.APPEND or own in (None, "append"):
            hints["write_disposition"] = disposition.value
        if config.primary_key:
            hints["primary_key"] = list(config.primary_key)
        if (
            disposition is WriteDisposition.MERGE
            and config.incremental is not None
            and resource.validator is None  # a new columns hint would drop a model validator
            and not callable(resource.columns)
        ):
            hints["columns"] = {config.incremental.cursor_column: {"dedup_sort": "desc"}}
        if len(resources) == 1:
            hints["table_name"] = config.table_name
        resource.apply_hints(**hints)


def _failed_load_id(exc: BaseException) -> str | None:
    from dlt.pipeline.exceptions import PipelineStepFailed

    if isinstance(exc, PipelineStepFailed) and exc.step == "load" and exc.load_id:
        return str(exc.load_id)
    return None


def _normalized_rows(pipeline: Pipeline, load_id: str) -> int | None:
    """Rows dlt normalised into ``load_id``'s data tables, if this process normalised it."""
    trace = pipeline.last_trace
    info = trace.last_normalize_info if trace is not None else None
    if info is None or load_id not in info.metrics:
        return None
    total = 0
    for metrics in info.metrics[load_id]:
        for table, table_metrics in metrics["table_metrics"].items():
            if not table.startswith(INTERNAL_TABLE_PREFIX):
                total += table_metrics.items_count
    return total


def _table_outputs(commits: Sequence[TableCommit]) -> list[TableOutput]:
    """One TableOutput per table: rows summed over this run's fresh commits, latest snapshot."""
    by_table: dict[str, list[TableCommit]] = {}
    for commit in commits:
        by_table.setdefault(commit.identifier, []).append(commit)
    outputs = []
    for identifier, table_commits in by_table.items():
        fresh = [c for c in table_commits if not c.skipped]
        latest = table_commits[-1]
        outputs.append(
            TableOutput(
                identifier=identifier,
                rows=sum(c.rows for c in fresh),
                location=latest.location,
                schema=tuple(latest.schema),
                snapshot_id=latest.snapshot_id,
                created=any(c.created for c in fresh),
                size_bytes=sum(c.size_bytes or 0 for c in fresh),
                file_count=sum(c.file_count or 0 for c in fresh),
            )
        )
    return outputs
