"""OpenLineage events for ingestion runs (ARCHITECTURE.md, decision 3).

The runner, never a plugin, drives one :class:`LineageEmitter` per logical run, which is one
OpenLineage run id across all retry attempts:

* :meth:`LineageEmitter.start` once, before the first attempt (``START``);
* :meth:`LineageEmitter.retrying` after each failed attempt that will be retried (``RUNNING``,
  carrying the error and the attempt number);
* :meth:`LineageEmitter.complete` or :meth:`LineageEmitter.fail` once, at the end.

Every event has the job ``<namespace>/ingestion.<pipeline>`` with the ``jobType`` facet
(``BATCH``/``FLOE``/``INGESTION``), and the run facets ``processing_engine`` (floe and its
version), ``tags`` (the plugin) and ``parent`` when the run was started by an orchestrator run.
``RUNNING`` and ``FAIL`` carry ``errorMessage`` and the custom facet ``floe_ingestionError``
(schema: ``docs/reference/floe_ingestionError-facet.json``, published at
:data:`INGESTION_ERROR_FACET_SCHEMA_ID`).

Output datasets are the Iceberg tables written, named after OpenLineage's naming
specification by their *location* (see :func:`dataset_naming`), with a ``symlinks`` facet that
names the catalog table, the ``catalog``, ``schema`` and ``version`` facets and the output
facet ``outputStatistics``. When a table's location is not known (``START``, or a plugin that
does not report it), the dataset is named ``<catalog namespace>/<namespace.table>`` instead
(see :func:`catalog_namespace`).

Guarantees:

* **Emission never raises.** Building or sending an event that fails (transport error, backend
  down, timeout, non-2xx answer) is logged as a warning on the ``floe_core.lineage`` logger and
  the run goes on. Only constructing an emitter with an unusable configuration raises
  (:class:`~floe_core.errors.ConfigurationError`).
* **No secrets.** Every string of an event floe builds (messages, stack traces, locations,
  names) is passed through the :class:`~floe_core.secrets.Redactor` before the event is handed
  to the client. Facets the OpenLineage client adds itself from its own configuration
  (``environmentVariables``, ``tags``, ``sourceCodeLocation``) are outside floe's reach.

The OpenLineage client is imported when an emitter is created, not with this module.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from floe_core.errors import ConfigurationError, ErrorCode
from floe_core.secrets import Redactor

if TYPE_CHECKING:
    from openlineage.client import OpenLineageClient
    from openlineage.client.event_v2 import OutputDataset, RunEvent
    from openlineage.client.facet_v2 import JobFacet, RunFacet

    from floe_core.config import IngestionConfig
    from floe_core.errors import IngestionError
    from floe_core.result import IngestionResult, TableOutput

__all__ = [
    "DEFAULT_NAMESPACE",
    "INGESTION_ERROR_FACET",
    "INGESTION_ERROR_FACET_SCHEMA_ID",
    "INGESTION_ERROR_FACET_SCHEMA_URL",
    "JOB_NAME_PREFIX",
    "NAMESPACE_ENV",
    "LineageEmitter",
    "LineageRun",
    "ParentRun",
    "catalog_namespace",
    "dataset_naming",
    "floe_version",
    "producer",
]

log = logging.getLogger(__name__)

DEFAULT_NAMESPACE = "floe"
"""Job namespace when neither the constructor nor ``OPENLINEAGE_NAMESPACE`` gives one."""
NAMESPACE_ENV = "OPENLINEAGE_NAMESPACE"
JOB_NAME_PREFIX = "ingestion."
INGESTION_ERROR_FACET = "floe_ingestionError"
"""Run facet key of the custom error facet (prefixed, as OpenLineage asks of custom facets)."""
INGESTION_ERROR_FACET_SCHEMA_ID = (
    "https://floe.dev/spec/facets/1-0-0/FloeIngestionErrorRunFacet.json"
)
"""``$id`` of the facet's JSON schema (``docs/reference/floe_ingestionError-facet.json``)."""
INGESTION_ERROR_FACET_SCHEMA_URL = (
    f"{INGESTION_ERROR_FACET_SCHEMA_ID}#/$defs/FloeIngestionErrorRunFacet"
)
"""The facet's ``_schemaURL``: the schema document plus the JSON pointer to its definition."""
FALLBACK_CATALOG_NAMESPACE = "iceberg"
"""Symlink namespace when the emitter was given no catalog description."""

_INTEGRATION = "FLOE"
_JOB_TYPE = "INGESTION"
_TABLE_SYMLINK_TYPE = "TABLE"


@functools.cache
def floe_version() -> str:
    """The installed floe-core version (``unknown`` when running from an uninstalled tree)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("floe-core")
    except PackageNotFoundError:
        return "unknown"


def producer() -> str:
    """The ``producer``/``_producer`` URI of every event and facet floe builds."""
    return f"https://floe.dev/floe-core/{floe_version()}"


def _check_uuid(value: str, what: str) -> None:
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise ValueError(f"{what} must be a UUID string, got {value!r}") from None


@dataclass(frozen=True)
class ParentRun:
    """The run that started this ingestion run (e.g. the Dagster run), for the ``parent`` facet.

    ``root`` is the top of the chain when the parent itself has a parent (OpenLineage's
    ``parent.root``); leave it out when the parent is the root.
    """

    namespace: str
    job_name: str
    run_id: str
    root: ParentRun | None = None

    def __post_init__(self) -> None:
        _check_uuid(self.run_id, "ParentRun.run_id")


@dataclass(frozen=True)
class LineageRun:
    """One logical floe run: one OpenLineage run id across all retry attempts.

    ``destination_location`` is optional: when the runner knows the table's location before
    the run, ``START`` and ``RUNNING`` name the output dataset by it, as ``COMPLETE`` does.
    """

    run_id: str
    pipeline: str
    plugin: str
    destination_table: str
    parent: ParentRun | None = None
    destination_location: str | None = None

    def __post_init__(self) -> None:
        _check_uuid(self.run_id, "LineageRun.run_id")

    @classmethod
    def new(
        cls,
        pipeline: str,
        plugin: str,
        destination_table: str,
        *,
        parent: ParentRun | None = None,
        destination_location: str | None = None,
    ) -> LineageRun:
        """A run with a fresh, time-ordered run id (OpenLineage's ``generate_new_uuid``)."""
        from openlineage.client.uuid import generate_new_uuid

        return cls(
            run_id=str(generate_new_uuid()),
            pipeline=pipeline,
            plugin=plugin,
            destination_table=destination_table,
            parent=parent,
            destination_location=destination_location,
        )

    @property
    def job_name(self) -> str:
        """The OpenLineage job name: ``ingestion.<pipeline>``."""
        return f"{JOB_NAME_PREFIX}{self.pipeline}"


def dataset_naming(location: str) -> tuple[str, str]:
    """``(namespace, name)`` of a table location, after OpenLineage's dataset naming spec.

    ``file:///abs/path`` and ``/abs/path`` -> ``("file", "/abs/path")``;
    ``file://host/path`` -> ``("file://host", "/path")``;
    ``s3://bucket/key`` (also ``s3a``/``s3n``) -> ``("s3://bucket", "key")``;
    ``gs://bucket/key`` -> ``("gs://bucket", "key")``;
    ``hdfs://host:port/path`` -> ``("hdfs://host:port", "/path")``;
    any other ``scheme://authority/path`` -> ``("scheme://authority", "/path")``.
    Trailing slashes are dropped. Raises ValueError for an empty location.
    """
    from openlineage.client.naming import dataset as naming

    location = location.strip()
    if not location:
        raise ValueError("a table location cannot be empty")
    parts = urlsplit(location)
    scheme = parts.scheme.lower()
    if scheme in ("", "file"):
        path = unquote(parts.path if scheme else location).rstrip("/") or "/"
        if parts.netloc in ("", "localhost"):
            found: naming.DatasetNaming = naming.LocalFileSystem(path=path)
        else:
            found = naming.RemoteFileSystem(host=parts.netloc, path=path)
        return found.get_namespace(), found.get_name()
    path = parts.path.rstrip("/")
    key = path.lstrip("/")
    if scheme in ("s3", "s3a", "s3n") and key:
        found = naming.S3(bucket_name=parts.netloc, object_key=key)
    elif scheme in ("gs", "gcs") and key:
        found = naming.GCS(bucket_name=parts.netloc, object_key=key)
    elif scheme == "hdfs" and parts.hostname and parts.port and path:
        found = naming.HDFS(namenode_host=parts.hostname, namenode_port=str(parts.port), path=path)
    else:
        return f"{scheme}://{parts.netloc}", path or "/"
    return found.get_namespace(), found.get_name()


_URI = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.\-]*)://(?:[^@/?#]*@)?(?P<rest>[^?#]*)")


def _credential_free(uri: str) -> str:
    """``uri`` without user info, query, fragment or SQLAlchemy ``+driver`` suffix."""
    match = _URI.match(uri)
    if match is None:
        return uri
    scheme = match["scheme"].split("+", 1)[0]
    return f"{scheme}://{match['rest']}"


def catalog_namespace(catalog: Mapping[str, str] | None) -> str:
    """The namespace of catalog-table names (the ``symlinks`` facet and the fallback dataset).

    From the catalog description (``CatalogConfig.describe()``): its ``namespace`` key when
    given (an explicit override, e.g. ``arn:aws:glue:<region>:<account>`` for Glue), else the
    catalog ``uri``, else the ``warehouse``, both without credentials, query or SQLAlchemy
    driver (``postgresql+psycopg2://u:p@h:5432/db`` -> ``postgresql://h:5432/db``), else
    ``iceberg://<name>``; :data:`FALLBACK_CATALOG_NAMESPACE` when there is no description.
    """
    if not catalog:
        return FALLBACK_CATALOG_NAMESPACE
    for key in ("namespace", "uri", "warehouse"):
        value = (catalog.get(key) or "").strip()
        if value:
            return value if key == "namespace" else _credential_free(value)
    return f"iceberg://{catalog.get('name') or DEFAULT_NAMESPACE}"


def _ingestion_error_facet(**fields: Any) -> RunFacet:
    facet: RunFacet = _ingestion_error_facet_type()(**fields)
    return facet


@functools.cache
def _ingestion_error_facet_type() -> type[Any]:
    """The ``floe_ingestionError`` facet class (built on first use: openlineage loads lazily)."""
    import attr
    from openlineage.client.facet_v2 import RunFacet

    @attr.define
    class FloeIngestionErrorRunFacet(RunFacet):
        """floe's error record for a failed attempt or run (see the published schema)."""

        category: str
        code: str
        retryable: bool
        source: str
        attempts: int
        retryAfterSeconds: int | None = attr.field(default=None)
        failedRecords: int | None = attr.field(default=None)
        retryDelaySeconds: float | None = attr.field(default=None)

        @staticmethod
        def _get_schema() -> str:
            return INGESTION_ERROR_FACET_SCHEMA_URL

    return FloeIngestionErrorRunFacet


def __getattr__(name: str) -> Any:
    if name == "FloeIngestionErrorRunFacet":
        return _ingestion_error_facet_type()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class LineageEmitter:
    """Emits the OpenLineage events of ingestion runs; never raises once constructed.

    ``client`` defaults to ``OpenLineageClient()``, configured the standard OpenLineage way
    (first match wins): ``OPENLINEAGE_DISABLED=true`` (no events); a transport in the
    ``openlineage.yml`` named by ``OPENLINEAGE_CONFIG``, else ``./openlineage.yml``, else
    ``~/.openlineage/openlineage.yml``, or in ``OPENLINEAGE__TRANSPORT__*`` variables;
    ``OPENLINEAGE_URL`` (+ ``OPENLINEAGE_ENDPOINT``, ``OPENLINEAGE_API_KEY``) for HTTP; else the
    console (events logged). ``namespace``: the argument, else ``OPENLINEAGE_NAMESPACE``, else
    ``floe``. ``catalog``: ``CatalogConfig.describe()`` (``type``, ``name``, ``uri``,
    ``warehouse``, optionally ``namespace``), used for the ``symlinks`` and ``catalog`` facets.
    ``redactor`` masks secrets in every event; ``clock`` gives event times (aware datetimes).
    """

    def __init__(
        self,
        client: OpenLineageClient | None = None,
        *,
        namespace: str | None = None,
        catalog: Mapping[str, str] | None = None,
        redactor: Redactor | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.namespace = namespace or os.environ.get(NAMESPACE_ENV) or DEFAULT_NAMESPACE
        self.catalog: dict[str, str] | None = dict(catalog) if catalog else None
        self.redactor = Redactor() if redactor is None else redactor
        self._clock = clock or (lambda: datetime.now(UTC))
        if client is None:
            from openlineage.client import OpenLineageClient

            try:
                client = OpenLineageClient()
            except Exception as exc:
                raise ConfigurationError(
                    ErrorCode.INVALID_CONFIG,
                    "the OpenLineage client configuration (OPENLINEAGE_CONFIG, openlineage.yml "
                    "or OPENLINEAGE__* variables) is invalid: "
                    f"{type(exc).__name__}: {self.redactor.redact(str(exc))}; fix it, or set "
                    "OPENLINEAGE_DISABLED=true to run without lineage",
                ) from None
        self.client = client

    @classmethod
    def from_transport_config(cls, transport: Mapping[str, Any], **kwargs: Any) -> LineageEmitter:
        """An emitter whose client uses the transport described by ``transport``.

        ``transport`` is an OpenLineage transport block, as under ``transport:`` in
        ``openlineage.yml`` (``{"type": "http", "url": "http://marquez:5000"}``, ``console``,
        ``file``, ``kafka``...). Other keyword arguments go to the constructor. Raises
        ConfigurationError(``INVALID_CONFIG``) for a block the client rejects. The folder of
        a ``file`` transport's ``log_file_path`` is created (the client does not).
        """
        from openlineage.client import OpenLineageClient
        from openlineage.client.transport import get_default_factory

        redactor = kwargs.get("redactor")
        redactor = Redactor() if redactor is None else redactor
        kind = transport.get("type")
        _make_log_folders(transport)
        try:
            built = get_default_factory().create(dict(transport))
            client = OpenLineageClient(transport=built)
        except Exception as exc:
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                f"OpenLineage transport {kind!r} is misconfigured: {type(exc).__name__}: "
                f"{redactor.redact(str(exc))}; see the transport settings of the OpenLineage "
                "Python client (type, url, endpoint, timeout, auth)",
            ) from None
        return cls(client, **kwargs)

    # -- the four events --------------------------------------------------------------------

    def start(self, run: LineageRun, config: IngestionConfig) -> None:
        """``START``: the job (with its description and owners) and the destination table."""
        self._emit("START", run, lambda: self._start_event(run, config))

    def retrying(
        self, run: LineageRun, error: IngestionError, attempt: int, delay_seconds: float
    ) -> None:
        """``RUNNING``: attempt ``attempt`` failed with ``error``; the next comes in ``delay``."""
        self._emit(
            "RUNNING",
            run,
            lambda: self._event(
                "RUNNING",
                run,
                run_facets=self._error_facets(
                    error, attempts=attempt, retry_delay_seconds=delay_seconds
                ),
                outputs=[self._destination_dataset(run)],
            ),
        )

    def complete(self, run: LineageRun, result: IngestionResult) -> None:
        """``COMPLETE``: the tables written, with their statistics."""
        self._emit(
            "COMPLETE",
            run,
            lambda: self._event("COMPLETE", run, outputs=self._result_datasets(run, result)),
        )

    def fail(
        self, run: LineageRun, result: IngestionResult, stack_trace: str | None = None
    ) -> None:
        """``FAIL``: ``errorMessage`` and ``floe_ingestionError``, plus any table written."""

        def build() -> RunEvent:
            if result.error is not None:
                facets = self._error_facets(
                    result.error, attempts=result.attempts, stack_trace=stack_trace
                )
            else:
                facets = {"errorMessage": self._error_message("run failed", stack_trace)}
            outputs = self._result_datasets(run, result)
            return self._event("FAIL", run, run_facets=facets, outputs=outputs)

        self._emit("FAIL", run, build)

    def close(self, timeout: float = -1.0) -> bool:
        """Close the client's transport (flushing asynchronous ones); never raises."""
        try:
            return bool(self.client.close(timeout))
        except Exception as exc:
            log.warning("closing the OpenLineage client failed: %s", self._describe(exc))
            return False

    # -- emission -----------------------------------------------------------------------------

    def _emit(self, state: str, run: LineageRun, build: Callable[[], RunEvent]) -> None:
        try:
            event = build()
            _redact_in_place(event, self.redactor)
            self.client.emit(event)
        except Exception as exc:
            log.warning(
                "OpenLineage %s event for job %s/%s (run %s) was not emitted: %s. Lineage is "
                "best effort, the run goes on; check the OpenLineage transport settings "
                "(OPENLINEAGE_URL, openlineage.yml) and that the backend is reachable.",
                state,
                self.namespace,
                run.job_name,
                run.run_id,
                self._describe(exc),
            )
        else:
            log.debug(
                "OpenLineage %s event emitted for %s (run %s)", state, run.job_name, run.run_id
            )

    def _describe(self, exc: BaseException) -> str:
        return self.redactor.redact(f"{type(exc).__name__}: {exc}")

    # -- event building -----------------------------------------------------------------------

    def _start_event(self, run: LineageRun, config: IngestionConfig) -> RunEvent:
        from openlineage.client.facet_v2 import documentation_job, ownership_job

        job_facets: dict[str, JobFacet] = {}
        if config.description:
            job_facets["documentation"] = documentation_job.DocumentationJobFacet(
                description=config.description, contentType="text/plain", producer=producer()
            )
        if config.owners:
            job_facets["ownership"] = ownership_job.OwnershipJobFacet(
                owners=[ownership_job.Owner(name=owner) for owner in config.owners],
                producer=producer(),
            )
        return self._event(
            "START", run, job_facets=job_facets, outputs=[self._destination_dataset(run)]
        )

    def _event(
        self,
        state: str,
        run: LineageRun,
        *,
        run_facets: Mapping[str, RunFacet] | None = None,
        job_facets: Mapping[str, JobFacet] | None = None,
        outputs: list[OutputDataset],
    ) -> RunEvent:
        from openlineage.client.event_v2 import Job, Run, RunEvent, RunState
        from openlineage.client.facet_v2 import job_type_job

        jobs: dict[str, JobFacet] = {
            "jobType": job_type_job.JobTypeJobFacet(
                processingType="BATCH",
                integration=_INTEGRATION,
                jobType=_JOB_TYPE,
                producer=producer(),
            ),
            **(job_facets or {}),
        }
        runs = {**self._run_facets(run), **(run_facets or {})}
        event_time = self._clock()
        if event_time.tzinfo is None:
            raise ValueError("the lineage clock must return timezone-aware datetimes")
        return RunEvent(
            eventType=RunState[state],
            eventTime=event_time.isoformat(),
            run=Run(runId=run.run_id, facets=runs),
            job=Job(namespace=self.namespace, name=run.job_name, facets=jobs),
            inputs=[],
            outputs=outputs,
            producer=producer(),
        )

    def _run_facets(self, run: LineageRun) -> dict[str, RunFacet]:
        from openlineage.client.facet_v2 import parent_run, processing_engine_run, tags_run

        facets: dict[str, RunFacet] = {
            "processing_engine": processing_engine_run.ProcessingEngineRunFacet(
                version=floe_version(),
                name="floe",
                openlineageAdapterVersion=floe_version(),
                producer=producer(),
            ),
            "tags": tags_run.TagsRunFacet(
                tags=[tags_run.TagsRunFacetFields("plugin", run.plugin, _INTEGRATION)],
                producer=producer(),
            ),
        }
        if run.parent is not None:
            parent = run.parent
            root = parent.root
            facets["parent"] = parent_run.ParentRunFacet(
                run=parent_run.Run(runId=parent.run_id),
                job=parent_run.Job(namespace=parent.namespace, name=parent.job_name),
                root=None
                if root is None
                else parent_run.Root(
                    run=parent_run.RootRun(runId=root.run_id),
                    job=parent_run.RootJob(namespace=root.namespace, name=root.job_name),
                ),
                producer=producer(),
            )
        return facets

    def _error_message(self, message: str, stack_trace: str | None) -> RunFacet:
        from openlineage.client.facet_v2 import error_message_run

        facet: RunFacet = error_message_run.ErrorMessageRunFacet(
            message=message,
            programmingLanguage="python",
            stackTrace=stack_trace,
            producer=producer(),
        )
        return facet

    def _error_facets(
        self,
        error: IngestionError,
        *,
        attempts: int,
        stack_trace: str | None = None,
        retry_delay_seconds: float | None = None,
    ) -> dict[str, RunFacet]:
        return {
            "errorMessage": self._error_message(error.message, stack_trace),
            INGESTION_ERROR_FACET: _ingestion_error_facet(
                category=error.category.value,
                code=error.code.value,
                retryable=error.retryable,
                source=error.source,
                attempts=max(attempts, 1),
                retryAfterSeconds=error.retry_after_seconds,
                failedRecords=error.failed_records,
                retryDelaySeconds=retry_delay_seconds,
                producer=producer(),
            ),
        }

    # -- datasets -----------------------------------------------------------------------------

    def _destination_dataset(self, run: LineageRun) -> OutputDataset:
        return self._dataset(run.destination_table, run.destination_location)

    def _result_datasets(self, run: LineageRun, result: IngestionResult) -> list[OutputDataset]:
        if not result.tables:
            return [self._destination_dataset(run)]
        return [self._table_dataset(table) for table in result.tables]

    def _dataset(
        self, identifier: str, location: str | None, table: TableOutput | None = None
    ) -> OutputDataset:
        from openlineage.client.event_v2 import OutputDataset
        from openlineage.client.facet_v2 import (
            DatasetFacet,
            catalog_dataset,
            symlinks_dataset,
        )

        table_namespace = catalog_namespace(self.catalog)
        if location:
            namespace, name = dataset_naming(location)
        else:
            namespace, name = table_namespace, identifier
        facets: dict[str, DatasetFacet] = {
            "symlinks": symlinks_dataset.SymlinksDatasetFacet(
                identifiers=[
                    symlinks_dataset.Identifier(
                        namespace=table_namespace, name=identifier, type=_TABLE_SYMLINK_TYPE
                    )
                ],
                producer=producer(),
            )
        }
        if self.catalog:
            uri = (self.catalog.get("uri") or "").strip()
            warehouse = (self.catalog.get("warehouse") or "").strip()
            facets["catalog"] = catalog_dataset.CatalogDatasetFacet(
                framework="iceberg",
                type=self.catalog.get("type") or "unknown",
                name=self.catalog.get("name") or DEFAULT_NAMESPACE,
                metadataUri=_credential_free(uri) if uri else None,
                warehouseUri=_credential_free(warehouse) if warehouse else None,
                source="floe",
                producer=producer(),
            )
        if table is not None:
            facets.update(self._table_facets(table))
        return OutputDataset(
            namespace=namespace,
            name=name,
            facets=facets,
            outputFacets=self._output_facets(table) if table is not None else {},
        )

    def _table_dataset(self, table: TableOutput) -> OutputDataset:
        return self._dataset(table.identifier, table.location, table)

    @staticmethod
    def _table_facets(table: TableOutput) -> dict[str, Any]:
        from openlineage.client.facet_v2 import (
            dataset_version_dataset,
            lifecycle_state_change_dataset,
            schema_dataset,
        )

        facets: dict[str, Any] = {}
        if table.schema:
            facets["schema"] = schema_dataset.SchemaDatasetFacet(
                fields=[
                    schema_dataset.SchemaDatasetFacetFields(
                        name=column.name, type=column.type, description=column.description
                    )
                    for column in table.schema
                ],
                producer=producer(),
            )
        if table.snapshot_id is not None:
            facets["version"] = dataset_version_dataset.DatasetVersionDatasetFacet(
                datasetVersion=str(table.snapshot_id), producer=producer()
            )
        if table.created:
            facets["lifecycleStateChange"] = (
                lifecycle_state_change_dataset.LifecycleStateChangeDatasetFacet(
                    lifecycleStateChange=lifecycle_state_change_dataset.LifecycleStateChange.CREATE,
                    producer=producer(),
                )
            )
        return facets

    @staticmethod
    def _output_facets(table: TableOutput) -> dict[str, Any]:
        from openlineage.client.facet_v2 import output_statistics_output_dataset as stats

        return {
            "outputStatistics": stats.OutputStatisticsOutputDatasetFacet(
                rowCount=table.rows,
                size=table.size_bytes,
                fileCount=table.file_count,
                producer=producer(),
            )
        }


def _make_log_folders(transport: Mapping[str, Any]) -> None:
    """Create the folder of every local ``file`` transport (composite transports included)."""
    path = transport.get("log_file_path")
    if transport.get("type") == "file" and isinstance(path, str) and "://" not in path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    children = transport.get("transports")
    nested = children.values() if isinstance(children, Mapping) else children or []
    for child in nested:
        if isinstance(child, Mapping):
            _make_log_folders(child)


def _redact_in_place(node: Any, redactor: Redactor) -> None:
    """Mask known secrets in every string of an attrs event tree (facets, datasets, lists)."""
    if not len(redactor):
        return
    import attr

    if attr.has(type(node)):
        for field in attr.fields(type(node)):
            value = getattr(node, field.name)
            if isinstance(value, str):
                masked = redactor.redact(value)
                if masked != value:
                    setattr(node, field.name, masked)
            else:
                _redact_in_place(value, redactor)
    elif isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                node[key] = redactor.redact(value)
            else:
                _redact_in_place(value, redactor)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, str):
                node[index] = redactor.redact(value)
            else:
                _redact_in_place(value, redactor)
