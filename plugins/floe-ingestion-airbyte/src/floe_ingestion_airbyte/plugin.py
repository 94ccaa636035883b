"""`AirbyteIngestionPlugin`: floe's ``airbyte`` ingestion plugin (ADR-0020, issue 5).

floe never deploys Airbyte: the plugin drives connections of an Airbyte that exists (Cloud or
self-managed) through its public API, and reports each sync as an
:class:`~floe_core.result.IngestionResult`.

* ``create_pipeline(config)``: the connection is ``config.options["connection_id"]`` (the
  pipeline's ``airbyte:`` block) or else ``config.source``. It must exist, be ``active``,
  belong to the configured workspace and write to an Iceberg (S3 Data Lake) destination;
  otherwise a :class:`~floe_core.errors.ConfigurationError` says why. Returns an
  :class:`~floe_ingestion_airbyte.connection.AirbyteConnectionHandle`.
* ``run(handle, cancel_event=None, timeout_seconds=None, poll_interval_seconds=None)``: one
  sync (:mod:`floe_ingestion_airbyte.sync`): ``rows_loaded`` is Airbyte's ``rowsSynced``;
  ``details`` holds the job id, bytes, the number of HTTP requests and warnings (a sync that
  succeeded with zero rows is a success with a warning). A failed sync is a result with
  ``success=False`` and the error mapped by :mod:`floe_ingestion_airbyte.errors`.
* ``get_destination_config(catalog_config)``: the S3 Data Lake destination for floe's catalog
  (:mod:`floe_ingestion_airbyte.destination`); ``check_destination(config)`` and
  ``validate_pipeline(config)`` compare it with what the connection really uses (for
  ``floe validate``).
* ``create_dagster_assets(configs)``: see :mod:`floe_ingestion_airbyte.dagster`.

Settings come from ``self.context.settings`` (:mod:`floe_ingestion_airbyte.settings`); the API
credential is resolved through ``self.context.secrets`` and every token obtained with it is
added to the context's redactor, so neither ever appears in results, errors or logs.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import requests
from floe_core.catalog import CatalogConfig
from floe_core.config import IngestionConfig
from floe_core.errors import (
    ConfigurationError,
    ErrorCode,
    IngestionError,
    IngestionException,
)
from floe_core.plugin import IngestionPlugin, PluginContext
from floe_core.result import IngestionResult, TableOutput

from floe_ingestion_airbyte.auth import AuthMethod, BasicAuth, BearerToken, ClientCredentials
from floe_ingestion_airbyte.client import AirbyteClient
from floe_ingestion_airbyte.connection import (
    AirbyteConnectionHandle,
    StreamTable,
    is_iceberg_destination,
    stream_tables,
)
from floe_ingestion_airbyte.destination import compare_destination, destination_config
from floe_ingestion_airbyte.errors import (
    SOURCE,
    AirbyteApiError,
    AirbyteError,
    api_exception,
    job_failure,
)
from floe_ingestion_airbyte.settings import (
    AirbyteSettings,
    DestinationSettings,
    parse_options,
    parse_settings,
)
from floe_ingestion_airbyte.sync import CancelEvent, SyncOutcome, SyncSession, fetch_job_info
from floe_ingestion_airbyte.version import __version__

__all__ = ["AirbyteIngestionPlugin"]

logger = logging.getLogger("floe_ingestion_airbyte")

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
PIPELINE_SECRET = "connection_secret"
"""The one ``secret_refs`` key a pipeline may set: its own Airbyte API credential."""
_RUN_OPTIONS = frozenset({"cancel_event", "timeout_seconds", "poll_interval_seconds", "source"})


class AirbyteIngestionPlugin(IngestionPlugin):
    """Syncs existing Airbyte connections that write Iceberg (S3 Data Lake) tables."""

    name = "airbyte"
    version = __version__
    is_external = True
    floe_api_version = "1.0"

    def __init__(
        self,
        context: PluginContext | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
    ) -> None:
        super().__init__(context)
        self._sleep = sleep
        self._clock = clock
        self._session = session
        self._settings: AirbyteSettings | None = None
        self._clients: dict[str, AirbyteClient] = {}

    # --- settings and client ----------------------------------------------------------------

    @property
    def settings(self) -> AirbyteSettings:
        """The validated ``plugins.ingestion.config`` block (parsed on first use)."""
        if self._settings is None:
            self._settings = parse_settings(self.context.settings)
        return self._settings

    @property
    def client(self) -> AirbyteClient:
        """The API client of the manifest's credential, built on first use."""
        reference = self.settings.connection_secret_ref
        assert reference is not None
        return self.client_for(reference)

    def client_for(self, reference: str) -> AirbyteClient:
        """The API client that authenticates with the secret ``reference`` (one per secret)."""
        client = self._clients.get(reference)
        if client is None:
            client = self._clients[reference] = self._make_client(reference)
        return client

    def _make_client(self, reference: str) -> AirbyteClient:
        settings = self.settings
        secret = self.context.secrets.resolve(
            reference,
            purpose="the Airbyte API (plugins.ingestion.config.connection_secret_ref)",
        )
        method = settings.auth_method
        auth: AuthMethod
        if method == "client_credentials":
            assert settings.client_id is not None
            auth = ClientCredentials(settings.client_id, secret)
        elif method == "basic":
            assert settings.username is not None
            auth = BasicAuth(settings.username, secret)
        else:
            auth = BearerToken(secret)
        return AirbyteClient(
            settings.public_url,
            auth,
            workspace_id=settings.workspace_id,
            config_url=settings.config_api_url,
            connect_timeout=settings.connect_timeout_seconds,
            read_timeout=settings.request_timeout_seconds,
            max_retries=settings.max_retries,
            max_retry_after_seconds=settings.max_retry_after_seconds,
            sleep=self._sleep,
            clock=self._clock,
            session=self._session,
            on_token=self.context.secrets.redactor.add,
        )

    # --- create_pipeline --------------------------------------------------------------------

    def create_pipeline(self, config: IngestionConfig) -> AirbyteConnectionHandle:
        """Resolve and check the pipeline's connection (see module doc)."""
        options = parse_options(config.options, pipeline=config.name)
        connection_id = (options.connection_id or config.source).strip()
        where = (
            f"pipeline {config.name!r} (floe.yaml airbyte.connection_id)"
            if options.connection_id
            else f"pipeline {config.name!r} (floe.yaml source)"
        )
        if not _UUID.match(connection_id):
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                f"{connection_id!r} of {where} is not an Airbyte connection id (a UUID such "
                "as 9924bcd0-99be-453d-ba47-c2c9766f7da5, shown in the connection's URL in "
                "the Airbyte UI); set airbyte.connection_id",
                source=SOURCE,
                details={"pipeline": config.name},
            )
        settings = self.settings
        credential = self._credential_ref(config)
        client = self.client_for(credential)
        try:
            connection = client.get_connection(connection_id)
        except AirbyteApiError as exc:
            if exc.status == 404:
                raise ConfigurationError(
                    ErrorCode.CONNECTION_NOT_FOUND,
                    f"Airbyte connection {connection_id} of {where} does not exist at "
                    f"{client.api_url}: check the id in the Airbyte UI",
                    source=SOURCE,
                    details={"pipeline": config.name, "connection_id": connection_id},
                ) from None
            raise self._mapped(exc, f"reading connection {connection_id} of {where}") from None
        except AirbyteError as exc:
            raise self._mapped(exc, f"reading connection {connection_id} of {where}") from None

        label = f"{connection.get('name')!r} ({connection_id})"
        details = {"pipeline": config.name, "connection_id": connection_id}
        status = connection.get("status")
        if status != "active":
            reason = connection.get("statusReason")
            raise ConfigurationError(
                ErrorCode.CONNECTION_NOT_FOUND,
                f"Airbyte connection {label} of {where} is {status}"
                f"{f' ({reason})' if reason else ''}: floe syncs active connections only; "
                "enable it in the Airbyte UI",
                source=SOURCE,
                details={**details, "connection_status": status},
            )
        workspace = connection.get("workspaceId")
        if settings.workspace_id and workspace != settings.workspace_id:
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                f"Airbyte connection {label} of {where} belongs to workspace {workspace}, not "
                f"to {settings.workspace_id} (plugins.ingestion.config.workspace_id)",
                source=SOURCE,
                details=details,
            )
        destination_id = str(connection.get("destinationId"))
        try:
            destination = client.get_destination(destination_id)
        except AirbyteError as exc:
            raise self._mapped(
                exc, f"reading destination {destination_id} of connection {label}"
            ) from None
        if not is_iceberg_destination(destination):
            raise ConfigurationError(
                ErrorCode.DESTINATION_CONFIG_ERROR,
                f"Airbyte connection {label} of {where} writes to destination "
                f"{destination.get('name')!r} of type {destination.get('destinationType')!r}, "
                "which does not write Iceberg tables: floe needs an S3 Data Lake (Iceberg) "
                "destination; point the connection at one in Airbyte",
                source=SOURCE,
                details={**details, "destination_type": destination.get("destinationType")},
            )
        tables = stream_tables(connection, destination)
        if not tables:
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                f"Airbyte connection {label} of {where} has no streams: select the streams "
                "to sync in the Airbyte UI",
                source=SOURCE,
                details=details,
            )
        return AirbyteConnectionHandle(
            pipeline=config.name,
            connection_id=connection_id,
            connection_name=str(connection.get("name") or connection_id),
            workspace_id=str(workspace),
            destination_id=destination_id,
            destination_name=str(destination.get("name") or destination_id),
            destination_type=str(destination.get("destinationType")),
            api_url=client.api_url,
            destination_table=config.destination_table,
            poll_interval_seconds=options.poll_interval_seconds or settings.poll_interval_seconds,
            timeout_seconds=options.timeout_seconds or settings.timeout_seconds,
            credential_ref=credential,
            tables=tables,
        )

    def _credential_ref(self, config: IngestionConfig) -> str:
        """The secret reference the pipeline authenticates with: its ``secret_refs``
        ``connection_secret`` (another Airbyte credential for this pipeline), else the
        manifest's ``connection_secret_ref``. Every reference must resolve."""
        refs = dict(config.secret_refs or {})
        unknown = sorted(set(refs) - {PIPELINE_SECRET})
        if unknown:
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                f"pipeline {config.name!r} (floe.yaml secret_refs) names {', '.join(unknown)}; "
                f"the airbyte plugin takes only {PIPELINE_SECRET!r} (the Airbyte API credential "
                "for this pipeline): the connectors' own secrets live in Airbyte",
                source=SOURCE,
                details={"pipeline": config.name},
            )
        self.context.secrets.resolve_all(refs)  # SECRET_MISSING naming the reference
        default = self.settings.connection_secret_ref
        assert default is not None
        return refs.get(PIPELINE_SECRET, default)

    # --- run --------------------------------------------------------------------------------

    def run(self, pipeline: Any, **kwargs: Any) -> IngestionResult:
        """Sync the connection once and report it (see module doc).

        Keyword arguments: ``cancel_event`` (an object with ``is_set()``; when set, the job
        is cancelled), ``timeout_seconds`` and ``poll_interval_seconds`` (override the
        handle's). A ``KeyboardInterrupt`` (or any interruption) cancels the job and is
        re-raised.
        """
        handle = self._handle(pipeline)
        unknown = sorted(set(kwargs) - _RUN_OPTIONS)
        if unknown or kwargs.get("source") is not None:
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                f"the airbyte plugin's run() takes cancel_event, timeout_seconds and "
                f"poll_interval_seconds; got {', '.join(unknown) or 'source'} (an Airbyte "
                "connection's source lives in Airbyte and cannot be replaced)",
                source=SOURCE,
            )
        started = self._clock()
        client = self.client_for(handle.credential_ref or self._default_ref())
        requests_before = client.request_count
        session = SyncSession(
            client,
            poll_interval_seconds=float(
                kwargs.get("poll_interval_seconds") or handle.poll_interval_seconds
            ),
            timeout_seconds=float(kwargs.get("timeout_seconds") or handle.timeout_seconds),
            sleep=self._sleep,
            clock=self._clock,
        )
        cancel_event: CancelEvent | None = kwargs.get("cancel_event")
        try:
            outcome = session.run(handle.connection_id, cancel_event=cancel_event)
        except AirbyteError as exc:
            error = self._mapped(exc, f"syncing connection {handle.label}").error
            return self._failure(handle, error, started, (client, requests_before))
        except IngestionException as exc:
            return self._failure(handle, exc.error, started, (client, requests_before))
        job_info = (
            fetch_job_info(client, outcome.job_id) if self.settings.fetch_job_details else None
        )
        if outcome.status == "succeeded":
            return self._success(handle, outcome, job_info, started, (client, requests_before))
        failure = job_failure(outcome.job, job_info, connection=handle.label).error
        return self._failure(
            handle, failure, started, (client, requests_before), outcome=outcome, job_info=job_info
        )

    def _default_ref(self) -> str:
        reference = self.settings.connection_secret_ref
        assert reference is not None
        return reference

    def _handle(self, pipeline: Any) -> AirbyteConnectionHandle:
        if isinstance(pipeline, AirbyteConnectionHandle):
            return pipeline
        if isinstance(pipeline, Mapping):
            try:
                return AirbyteConnectionHandle.from_dict(pipeline)
            except TypeError as exc:
                raise ConfigurationError(
                    ErrorCode.INVALID_CONFIG,
                    f"not an Airbyte pipeline handle: {exc}; pass what create_pipeline returned "
                    "(or its to_dict())",
                    source=SOURCE,
                ) from None
        raise ConfigurationError(
            ErrorCode.INVALID_CONFIG,
            f"the airbyte plugin cannot run a {type(pipeline).__name__}; pass what "
            "create_pipeline returned",
            source=SOURCE,
        )

    def _success(
        self,
        handle: AirbyteConnectionHandle,
        outcome: SyncOutcome,
        job_info: Mapping[str, Any] | None,
        started: float,
        usage: tuple[AirbyteClient, int],
    ) -> IngestionResult:
        job = outcome.job
        rows = int(job.get("rowsSynced") or 0)
        details = self._details(handle, outcome, job_info, usage)
        warnings: list[str] = details["warnings"]
        if rows == 0:
            warnings.append(
                f"Airbyte sync job {outcome.job_id} succeeded but synced 0 rows: check that "
                "the source has new data and the connection's streams are selected"
            )
        tables = self._tables(handle, rows, job_info, warnings)
        return IngestionResult(
            success=True,
            rows_loaded=rows,
            tables_created=handle.table_identifiers,
            duration_seconds=max(0.0, self._clock() - started),
            plugin=self.name,
            pipeline=handle.pipeline,
            tables=tables,
            details=self._redacted(details),
        )

    def _failure(
        self,
        handle: AirbyteConnectionHandle,
        error: IngestionError,
        started: float,
        usage: tuple[AirbyteClient, int],
        *,
        outcome: SyncOutcome | None = None,
        job_info: Mapping[str, Any] | None = None,
    ) -> IngestionResult:
        redactor = self.context.secrets.redactor
        error = error.replace(
            message=redactor.redact(error.message), details=redactor.redact_data(error.details)
        )
        rows = int(outcome.job.get("rowsSynced") or 0) if outcome is not None else 0
        details: dict[str, Any] = {
            "connection_id": handle.connection_id,
            "connection_name": handle.connection_name,
            "http_requests": usage[0].request_count - usage[1],
            "warnings": [],
        }
        if outcome is not None:
            details = self._details(handle, outcome, job_info, usage)
        tables = self._tables(handle, rows, job_info, details["warnings"]) if rows else []
        return IngestionResult(
            success=False,
            rows_loaded=rows,
            tables_created=[table.identifier for table in tables],
            duration_seconds=max(0.0, self._clock() - started),
            error=error,
            plugin=self.name,
            pipeline=handle.pipeline,
            tables=tables,
            details=self._redacted(details),
        )

    def _details(
        self,
        handle: AirbyteConnectionHandle,
        outcome: SyncOutcome,
        job_info: Mapping[str, Any] | None,
        usage: tuple[AirbyteClient, int],
    ) -> dict[str, Any]:
        job = outcome.job
        warnings: list[str] = []
        if outcome.attached:
            warnings.append(
                f"floe attached to the running sync job {outcome.job_id} of connection "
                f"{handle.label} (a sync was already running, or the start request timed out) "
                "instead of starting another"
            )
        if handle.destination_table not in handle.table_identifiers:
            warnings.append(
                f"destination_table {handle.destination_table} is not among the tables the "
                f"connection writes ({', '.join(handle.table_identifiers)})"
            )
        if self.settings.fetch_job_details and job_info is None:
            warnings.append(
                "the config API's job details were not available: per-table rows and failure "
                "reasons are unknown"
            )
        details: dict[str, Any] = {
            "job_id": outcome.job_id,
            "job_status": outcome.status,
            "connection_id": handle.connection_id,
            "connection_name": handle.connection_name,
            "destination_id": handle.destination_id,
            "rows_synced": int(job.get("rowsSynced") or 0),
            "bytes_synced": int(job.get("bytesSynced") or 0),
            "airbyte_duration": job.get("duration"),
            "attached": outcome.attached,
            "polls": outcome.polls,
            "http_requests": usage[0].request_count - usage[1],
            "warnings": warnings,
        }
        if outcome.cancelled_by:
            details["cancelled_by"] = outcome.cancelled_by
        if job_info is not None:
            details["attempts"] = len(job_info.get("attempts") or [])
        return details

    def _tables(
        self,
        handle: AirbyteConnectionHandle,
        rows: int,
        job_info: Mapping[str, Any] | None,
        warnings: list[str],
    ) -> list[TableOutput]:
        committed = _rows_by_stream(job_info)
        outputs = []
        for table in handle.tables:
            table_rows = _stream_rows(committed, table)
            if table_rows is None:
                table_rows = rows if len(handle.tables) == 1 else 0
            outputs.append(TableOutput(identifier=table.identifier, rows=table_rows))
        if committed is None and len(handle.tables) > 1 and rows:
            warnings.append("rows per table are unknown (no per-stream statistics)")
        return outputs

    def _redacted(self, details: dict[str, Any]) -> dict[str, Any]:
        redacted = self.context.secrets.redactor.redact_data(details)
        assert isinstance(redacted, dict)
        return redacted

    def _mapped(self, exc: AirbyteError, context: str) -> IngestionException:
        mapped = api_exception(exc, context=context)
        redactor = self.context.secrets.redactor
        return IngestionException.from_error(
            mapped.error.replace(message=redactor.redact(mapped.error.message))
        )

    # --- destination ------------------------------------------------------------------------

    def get_destination_config(
        self,
        catalog_config: CatalogConfig | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        """The Airbyte S3 Data Lake destination configuration for floe's catalog (defaults to
        the context's), secrets as ``secret_ref:<reference>`` placeholders."""
        catalog = catalog_config if catalog_config is not None else self.context.catalog_config
        return destination_config(catalog, self._destination_settings(), namespace=namespace)

    def check_destination(self, config: IngestionConfig) -> list[str]:
        """How the pipeline's connection and destination differ from what floe expects
        (empty when they agree). Raises what ``create_pipeline`` raises."""
        handle = self.create_pipeline(config)
        differences: list[str] = []
        if config.destination_table not in handle.table_identifiers:
            differences.append(
                f"pipeline {config.name!r}: destination_table {config.destination_table} is "
                f"not among the tables connection {handle.label} writes "
                f"({', '.join(handle.table_identifiers)})"
            )
        try:
            expected = self.get_destination_config(namespace=".".join(config.namespace))
        except ConfigurationError as exc:
            differences.append(f"pipeline {config.name!r}: {exc.error.message}")
            return differences
        try:
            destination = self.client_for(handle.credential_ref).get_destination(
                handle.destination_id
            )
        except AirbyteError as exc:
            raise self._mapped(exc, f"reading destination {handle.destination_id}") from None
        ignore = frozenset({"catalog_type.namespace", "catalog_type.database_name"})
        differences.extend(
            f"pipeline {config.name!r}: {difference}"
            for difference in compare_destination(expected, destination, ignore=ignore)
        )
        return differences

    def validate_pipeline(self, config: IngestionConfig) -> list[str]:
        """Every problem ``floe validate`` should report for ``config``, as sentences: the
        connection's (missing, inactive, not writing Iceberg, unreachable) and the
        destination's differences from floe's catalog. Never raises for those."""
        try:
            return self.check_destination(config)
        except IngestionException as exc:
            return [exc.error.message]

    def _destination_settings(self) -> DestinationSettings:
        raw = self.context.settings.get("destination") or {}
        try:
            return DestinationSettings.model_validate(dict(raw))
        except ValueError:
            return self.settings.destination  # raises the explained ConfigurationError

    # --- dagster ----------------------------------------------------------------------------

    def create_dagster_assets(self, configs: list[IngestionConfig]) -> list[Any]:
        """One Dagster asset per stream of each configured connection (see
        :func:`floe_ingestion_airbyte.dagster.create_dagster_assets`)."""
        from floe_ingestion_airbyte.dagster import create_dagster_assets

        return create_dagster_assets(self, configs)


def _rows_by_stream(job_info: Mapping[str, Any] | None) -> dict[tuple[str, str], int] | None:
    """``(namespace, stream) -> recordsCommitted`` from the config API's job details."""
    if not job_info:
        return None
    stats = (job_info.get("job") or {}).get("streamAggregatedStats")
    if not isinstance(stats, list):
        return None
    rows: dict[tuple[str, str], int] = {}
    for item in stats:
        if isinstance(item, Mapping) and item.get("streamName"):
            key = (str(item.get("streamNamespace") or ""), str(item["streamName"]))
            rows[key] = int(item.get("recordsCommitted") or 0)
    return rows


def _stream_rows(committed: dict[tuple[str, str], int] | None, table: StreamTable) -> int | None:
    if committed is None:
        return None
    exact = committed.get((table.stream_namespace or "", table.stream))
    if exact is not None:
        return exact
    matches = [rows for (_, stream), rows in committed.items() if stream == table.stream]
    return matches[0] if len(matches) == 1 else 0
