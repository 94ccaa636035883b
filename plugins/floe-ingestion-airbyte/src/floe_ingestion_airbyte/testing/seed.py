"""What the emulator starts with: the default seed, and seeds from Python or a file.

A seed is a mapping (or a JSON/YAML file holding one)::

    token_ttl_seconds: 180            # lifetime of tokens from POST /applications/token
    step_seconds: null                # null: jobs move one status per poll; else per N seconds
    applications: [{client_id: ..., client_secret: ..., workspace_ids: [...]}]
    api_tokens: [{token: ..., workspace_ids: [...]}]     # static bearer tokens
    basic_auth: [{username: ..., password: ...}]
    workspaces: [{workspaceId: ..., name: ...}]
    destinations: [{destinationId: ..., name: ..., destinationType: s3-data-lake,
                    definitionId: ..., workspaceId: ..., configuration: {...}}]
    connections: [{connectionId: ..., name: ..., destinationId: ..., status: active,
                   namespaceDefinition: destination, prefix: ..., streams: [users, orders]}]
    plans: {<connectionId>: [{final: failed, failure: {preset: auth}}, ...]}
    default_plan: {rows: 1000}
    faults: [{route: POST /jobs, status: 429, retry_after: 2}]

Entities use the public API's field names (so real API output can be pasted in); the
emulator's own settings use snake_case. Without a seed the emulator loads :data:`DEFAULT_SEED`:
one workspace, an application, a static token, a basic-auth user, an S3 Data Lake (Iceberg)
destination, a Postgres destination, and three connections: ``ICEBERG_CONNECTION_ID``
(active, Iceberg, streams ``users`` and ``orders`` into namespace ``bronze``),
``POSTGRES_CONNECTION_ID`` (active, not Iceberg) and ``INACTIVE_CONNECTION_ID``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from floe_ingestion_airbyte.testing.faults import Fault
from floe_ingestion_airbyte.testing.jobs import JobPlan, plans_from
from floe_ingestion_airbyte.testing.state import AirbyteState

__all__ = [
    "API_TOKEN",
    "BASIC_PASSWORD",
    "BASIC_USERNAME",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DEFAULT_SEED",
    "ICEBERG_CONNECTION_ID",
    "ICEBERG_DESTINATION_ID",
    "INACTIVE_CONNECTION_ID",
    "POSTGRES_CONNECTION_ID",
    "POSTGRES_DESTINATION_ID",
    "S3_DATA_LAKE_DEFINITION_ID",
    "WORKSPACE_ID",
    "apply_seed",
    "load_seed",
]

WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
ICEBERG_DESTINATION_ID = "0c3b5f2e-5a4e-4b6f-9d3c-1b2a3c4d5e6f"
POSTGRES_DESTINATION_ID = "7a1e6f40-2b3c-4d5e-8f90-a1b2c3d4e5f6"
ICEBERG_CONNECTION_ID = "9924bcd0-99be-453d-ba47-c2c9766f7da5"
POSTGRES_CONNECTION_ID = "e735894a-e773-4938-969f-45f53957b75b"
INACTIVE_CONNECTION_ID = "18dccc91-0ab1-4f72-9ed7-0b8fc27c5826"
S3_DATA_LAKE_DEFINITION_ID = "716ca874-520b-4902-9f80-9fad66754b89"
CLIENT_ID = "0da998a2-0d7b-49c7-bb6e-9f7eb9cc68a0"
CLIENT_SECRET = "emulator-client-secret"  # test credentials of the emulator, not a real secret
API_TOKEN = "emulator-api-token"
BASIC_USERNAME = "airbyte"
BASIC_PASSWORD = "password"

DEFAULT_SEED: Mapping[str, Any] = {
    "applications": [{"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}],
    "api_tokens": [{"token": API_TOKEN}],
    "basic_auth": [{"username": BASIC_USERNAME, "password": BASIC_PASSWORD}],
    "workspaces": [{"workspaceId": WORKSPACE_ID, "name": "floe emulator workspace"}],
    "destinations": [
        {
            "destinationId": ICEBERG_DESTINATION_ID,
            "name": "Iceberg lake",
            "destinationType": "s3-data-lake",
            "definitionId": S3_DATA_LAKE_DEFINITION_ID,
            "workspaceId": WORKSPACE_ID,
            "configuration": {
                "s3_bucket_name": "floe-lake",
                "s3_bucket_region": "us-east-1",
                "warehouse_location": "s3://floe-lake/warehouse",
                "main_branch_name": "main",
                "access_key_id": "emulator-access-key",
                "secret_access_key": "emulator-secret-key",
                "catalog_type": {
                    "catalog_type": "REST",
                    "server_uri": "http://127.0.0.1:8181/catalog",
                    "namespace": "bronze",
                },
            },
        },
        {
            "destinationId": POSTGRES_DESTINATION_ID,
            "name": "Analytics Postgres",
            "destinationType": "postgres",
            "definitionId": "25c5221d-dce2-4163-ade9-739ef790f503",
            "workspaceId": WORKSPACE_ID,
            "configuration": {
                "host": "127.0.0.1",
                "port": 5432,
                "database": "analytics",
                "schema": "public",
                "username": "airbyte",
                "password": "emulator-postgres-password",
            },
        },
    ],
    "connections": [
        {
            "connectionId": ICEBERG_CONNECTION_ID,
            "name": "Postgres to Iceberg",
            "destinationId": ICEBERG_DESTINATION_ID,
            "status": "active",
            "namespaceDefinition": "destination",
            "streams": ["users", "orders"],
        },
        {
            "connectionId": POSTGRES_CONNECTION_ID,
            "name": "Salesforce to Postgres",
            "destinationId": POSTGRES_DESTINATION_ID,
            "status": "active",
            "streams": ["accounts"],
        },
        {
            "connectionId": INACTIVE_CONNECTION_ID,
            "name": "Disabled sync",
            "destinationId": ICEBERG_DESTINATION_ID,
            "status": "inactive",
            "streams": ["events"],
        },
    ],
}
"""The default seed (see module doc)."""

_TOP_LEVEL = {
    "token_ttl_seconds",
    "step_seconds",
    "applications",
    "api_tokens",
    "basic_auth",
    "workspaces",
    "destinations",
    "connections",
    "plans",
    "default_plan",
    "faults",
}


def load_seed(path: str | Path) -> dict[str, Any]:
    """Read a seed file: JSON, or YAML for ``.yaml`` / ``.yml``."""
    file = Path(path)
    text = file.read_text(encoding="utf-8")
    if file.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"seed file {file} must hold a mapping")
    return data


def apply_seed(state: AirbyteState, seed: Mapping[str, Any]) -> list[Fault]:
    """Load ``seed`` into ``state``; returns the seed's faults (the server keeps those)."""
    unknown = set(seed) - _TOP_LEVEL
    if unknown:
        raise ValueError(f"unknown seed keys {sorted(unknown)}; known: {sorted(_TOP_LEVEL)}")
    if "token_ttl_seconds" in seed:
        state.token_ttl_seconds = float(seed["token_ttl_seconds"])
    if seed.get("step_seconds") is not None:
        state.step_seconds = float(seed["step_seconds"])
    for app in seed.get("applications", []):
        state.add_application(
            app.get("client_id"), app.get("client_secret"), app.get("workspace_ids")
        )
    for token in seed.get("api_tokens", []):
        state.add_api_token(token["token"], token.get("workspace_ids"))
    for user in seed.get("basic_auth", []):
        state.add_basic_user(user["username"], user["password"], user.get("workspace_ids"))
    for workspace in seed.get("workspaces", []):
        values = dict(workspace)
        state.add_workspace(
            values.pop("workspaceId", None), values.pop("name", "Workspace"), **values
        )
    for destination in seed.get("destinations", []):
        state.add_destination(
            name=destination["name"],
            destination_type=destination["destinationType"],
            configuration=destination.get("configuration", {}),
            destination_id=destination.get("destinationId"),
            definition_id=destination.get("definitionId"),
            workspace_id=destination.get("workspaceId"),
        )
    for connection in seed.get("connections", []):
        streams = connection.get("streams")
        if streams is None:
            streams = (connection.get("configurations") or {}).get("streams", ["users"])
        state.add_connection(
            name=connection["name"],
            destination_id=connection["destinationId"],
            connection_id=connection.get("connectionId"),
            source_id=connection.get("sourceId"),
            workspace_id=connection.get("workspaceId"),
            status=connection.get("status", "active"),
            streams=streams,
            namespace_definition=connection.get("namespaceDefinition", "destination"),
            namespace_format=connection.get("namespaceFormat"),
            prefix=connection.get("prefix"),
            status_reason=connection.get("statusReason"),
        )
    for connection_id, plans in (seed.get("plans") or {}).items():
        state.plan_jobs(connection_id, plans_from(plans))
    if seed.get("default_plan") is not None:
        plan = seed["default_plan"]
        state.default_plan = plan if isinstance(plan, JobPlan) else JobPlan.from_dict(plan)
    return [
        fault if isinstance(fault, Fault) else Fault.from_dict(fault)
        for fault in seed.get("faults", [])
    ]
