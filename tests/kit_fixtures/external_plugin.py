"""An external plugin and its scripted service: proof that external plugins can pass the kit.

:class:`SyncService` is a real HTTP server on loopback standing in for an external ingestion
service (as the Airbyte emulator does for Airbyte): ``POST /sync`` runs whatever outcome was
scripted last, writing rows into the Iceberg catalog itself, the way an external service's
Iceberg destination does. :class:`ExternalPlugin` (``is_external = True``) only triggers syncs
and maps the answers; :class:`SyncServiceScenarios` is the kit's scenario driver for it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pyarrow as pa
import requests

from floe_core.config import IngestionConfig
from floe_core.errors import (
    ConfigurationError,
    ErrorCategory,
    ErrorCode,
    IngestionError,
    PermanentError,
    TransientError,
)
from floe_core.plugin import IngestionPlugin, PluginContext
from floe_core.result import IngestionResult, TableOutput
from floe_core.testing.catalogs import fresh_catalog
from floe_core.testing.scenarios import Scenario


@dataclass
class Outcome:
    """What the next sync does: write ``rows[:commit]``, then answer ``status`` / ``body``."""

    status: int = 200
    body: dict[str, Any] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    commit: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    echo_token: bool = False


class SyncService:
    """The scripted service; ``url`` is its base URL once started with :meth:`running`."""

    def __init__(self) -> None:
        self.context: PluginContext | None = None  # whose catalog syncs write to
        self.outcome = Outcome(body={"status": "succeeded", "rows_synced": 0})
        self.url = ""

    def sync(self, table: str, token: str) -> tuple[int, dict[str, str], dict[str, Any]]:
        outcome = self.outcome
        if outcome.commit:
            assert self.context is not None, "attach the service to a PluginContext first"
            data = pa.Table.from_pylist(outcome.rows[: outcome.commit])
            catalog = fresh_catalog(self.context)
            namespace, _ = table.rsplit(".", 1)
            catalog.create_namespace_if_not_exists(namespace)
            catalog.create_table_if_not_exists(table, schema=data.schema).append(data)
        body = dict(outcome.body)
        if outcome.echo_token:
            body["message"] = f"token {token} is not valid"
        return outcome.status, outcome.headers, body

    @contextmanager
    def running(self) -> Iterator[SyncService]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                request = json.loads(self.rfile.read(length) or b"{}")
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                status, headers, body = service.sync(request["table"], token)
                payload = json.dumps(body).encode()
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()
            thread.join()


class ExternalPlugin(IngestionPlugin):
    """Triggers a sync on the service named by ``settings['url']``; the service writes Iceberg."""

    name = "external_fixture"
    version = "0.0.1"
    is_external = True
    floe_api_version = "1.0"

    def create_pipeline(self, config: IngestionConfig) -> dict[str, Any]:
        unknown = sorted(set(config.options) - {"connection"})
        if unknown:
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG, f"unknown option(s) {', '.join(unknown)}"
            )
        secrets = self.context.secrets.resolve_all(config.secret_refs)
        token = secrets["token"].reveal() if "token" in secrets else ""
        return {"config": config, "token": token}

    def run(self, pipeline: dict[str, Any], **kwargs: Any) -> IngestionResult:
        config: IngestionConfig = pipeline["config"]
        try:
            response = requests.post(
                f"{self.context.settings['url']}/sync",
                json={"table": config.destination_table},
                headers={"Authorization": f"Bearer {pipeline['token']}"},
                timeout=10,
            )
        except requests.ConnectionError as exc:
            raise TransientError(ErrorCode.NETWORK_ERROR, str(exc), source=config.name) from exc
        body = response.json()
        if response.status_code in (401, 403):
            raise PermanentError(ErrorCode.AUTH_FAILED, str(body), source=config.name)
        if response.status_code == 429:
            raise TransientError(
                ErrorCode.RATE_LIMITED,
                "rate limited",
                source=config.name,
                retry_after_seconds=int(response.headers["Retry-After"]),
            )
        rows = int(body["rows_synced"])
        tables: list[TableOutput] = []
        catalog = self.context.catalog
        if rows and catalog.table_exists(config.destination_table):
            table = catalog.load_table(config.destination_table)
            tables.append(TableOutput(config.destination_table, rows, table.location()))
        created = [config.destination_table] if tables else []
        if body["status"] == "incomplete":
            error = IngestionError(
                ErrorCategory.PARTIAL,
                ErrorCode.PARTIAL_SYNC,
                f"sync committed {rows} rows, then failed",
                config.name,
                failed_records=body.get("failed_records"),
            )
            return IngestionResult(False, rows, created, 0.0, error=error, tables=tables)
        return IngestionResult(True, rows, created, 0.0, tables=tables)

    def get_destination_config(self, catalog_config: Mapping[str, Any]) -> dict[str, Any]:
        return {"destination_type": "iceberg", "catalog_uri": catalog_config.get("uri")}

    def create_dagster_assets(self, configs: list[IngestionConfig]) -> list[Any]:
        import dagster

        return [
            dagster.AssetSpec(key=[*config.namespace, config.table_name], kinds={"iceberg"})
            for config in configs
        ]


class SyncServiceScenarios:
    """The kit's scenario driver for :class:`ExternalPlugin`: scripts :class:`SyncService`."""

    def __init__(self, service: SyncService, context: PluginContext) -> None:
        self.service = service
        service.context = context

    def success(
        self, config: IngestionConfig, rows: Sequence[Mapping[str, Any]], *, shape: str
    ) -> Scenario:
        listed = [dict(row) for row in rows]
        body = {"status": "succeeded", "rows_synced": len(listed)}
        self.service.outcome = Outcome(body=body, rows=listed, commit=len(listed))
        return Scenario({}, f"syncs {len(listed)} rows", listed)

    def auth_failure(self, config: IngestionConfig, *, style: str) -> Scenario:
        self.service.outcome = Outcome(401, {"message": "unauthorized"})
        return Scenario({}, "answers 401 to the sync request")

    def rate_limit(self, config: IngestionConfig, *, retry_after: int, style: str) -> Scenario:
        headers = {"Retry-After": str(retry_after)}
        self.service.outcome = Outcome(429, {"message": "slow down"}, headers=headers)
        return Scenario({}, f"answers 429 with Retry-After: {retry_after}")

    def fail_after(
        self,
        config: IngestionConfig,
        rows: Sequence[Mapping[str, Any]],
        after: int,
        *,
        style: str,
    ) -> Scenario:
        listed = [dict(row) for row in rows]
        body = {"status": "incomplete", "rows_synced": after, "failed_records": len(listed) - after}
        self.service.outcome = Outcome(body=body, rows=listed, commit=after)
        return Scenario({}, f"commits {after} rows, then fails", listed[:after])

    def leak_secret(self, config: IngestionConfig, secret: str, *, style: str) -> Scenario:
        self.service.outcome = Outcome(401, {}, echo_token=True)
        return Scenario({}, "answers 401, echoing the token in its error body")
