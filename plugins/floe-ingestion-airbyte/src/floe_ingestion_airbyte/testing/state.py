"""What the emulated Airbyte knows and how its endpoints answer (no HTTP here).

Entities are kept in the public API's own shapes (``WorkspaceResponse``,
``DestinationResponse``, ``ConnectionResponse``), so what a test seeds is what the API
returns. Each endpoint method takes the caller (:class:`Principal`), the query parameters,
the JSON body and the path parameters, and returns a :class:`Reply`. The server holds
:attr:`AirbyteState.lock` around every call.

Behaviour that follows the contract in ``reference/airbyte/``:

* every endpoint but ``/health`` and ``/applications/token`` needs credentials: a token from
  ``POST /applications/token`` (it expires after ``token_ttl_seconds`` of the emulator's
  clock), a static API token, or basic auth; otherwise 401 ``invalid-api-key``. Credentials
  limited to some workspaces get 403 ``forbidden`` elsewhere;
* unknown ids answer 404 ``resource-not-found``; malformed ones 400 ``bad-request``;
* ``POST /jobs`` while a job of the connection is in progress answers 409
  ``state-conflict``; ``DELETE /jobs/{jobId}`` of a finished job answers 409 as well;
* destination secrets (``airbyte_secret`` fields) come back masked as ``**********``.
"""

from __future__ import annotations

import secrets as random_secrets
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from floe_ingestion_airbyte.testing.jobs import (
    Job,
    JobPlan,
    with_step_seconds,
)
from floe_ingestion_airbyte.testing.problems import config_api_error, problem

__all__ = ["MASK", "SECRET_FIELDS", "AirbyteState", "Principal", "Reply"]

MASK = "**********"
SECRET_FIELDS = frozenset(
    {
        "access_key_id",
        "secret_access_key",
        "access_token",
        "client_id",
        "client_secret",
        "password",
        "api_key",
        "token",
        "credentials_json",
        "private_key",
    }
)
"""Configuration keys the emulator masks (the S3 Data Lake spec's ``airbyte_secret`` fields
and the usual secret names of other connectors)."""

_JOB_TYPES = ("sync", "reset", "refresh", "clear")
_JOB_STATUSES = ("pending", "queued", "running", "incomplete", "failed", "succeeded", "cancelled")
_ORDER_FIELDS = {"createdAt", "updatedAt"}
_CONNECTION_STATUSES = ("active", "inactive", "deprecated", "locked")
_SYNC_MODES = (
    "full_refresh_overwrite",
    "full_refresh_overwrite_deduped",
    "full_refresh_append",
    "full_refresh_update",
    "full_refresh_soft_delete",
    "incremental_append",
    "incremental_deduped_history",
    "incremental_update",
    "incremental_soft_delete",
)

Params = Mapping[str, list[str]]


@dataclass(frozen=True)
class Principal:
    """Who is calling: an application's token, a static API token or a basic-auth user."""

    kind: Literal["application", "token", "basic"]
    name: str
    workspace_ids: frozenset[str] | None = None

    def allows(self, workspace_id: str | None) -> bool:
        return self.workspace_ids is None or workspace_id in self.workspace_ids


@dataclass
class Reply:
    """An HTTP answer: status, JSON body (None: empty) and extra headers."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


def _problem_reply(kind: str, detail: str | None = None, **data: Any) -> Reply:
    status, body = problem(kind, detail, data or None)
    return Reply(status, body, content_type="application/problem+json")


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _masked(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: (MASK if key in SECRET_FIELDS and item is not None else _masked(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _param(params: Params, name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _when(value: str | None) -> float | None:
    """A date filter of ``GET /jobs``: ISO 8601 date-time, or epoch milliseconds (as the
    spec's examples show)."""
    if value is None:
        return None
    if value.isdigit():
        return int(value) / 1000.0
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise ValueError(f"{value!r} is not a date-time (ISO 8601) or epoch milliseconds") from None


def _param_list(params: Params, name: str) -> list[str]:
    items: list[str] = []
    for value in params.get(name, []):
        items.extend(part for part in value.split(",") if part)
    return items


class AirbyteState:
    """The emulated Airbyte: entities, credentials, jobs, and the endpoint logic."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        token_ttl_seconds: float = 180.0,
        step_seconds: float | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.token_ttl_seconds = token_ttl_seconds
        self.step_seconds = step_seconds
        self.workspaces: dict[str, dict[str, Any]] = {}
        self.destinations: dict[str, dict[str, Any]] = {}
        self.connections: dict[str, dict[str, Any]] = {}
        self.applications: dict[str, tuple[str, frozenset[str] | None]] = {}
        self.static_tokens: dict[str, frozenset[str] | None] = {}
        self.basic_users: dict[str, tuple[str, frozenset[str] | None]] = {}
        self.tokens: dict[str, tuple[float, Principal]] = {}
        self.tokens_issued = 0
        self.jobs: dict[int, Job] = {}
        self.plans: dict[str, deque[JobPlan]] = {}
        self.default_plan = JobPlan()
        self._next_job_id = 1

    # --- seeding ----------------------------------------------------------------------------

    def add_workspace(
        self, workspace_id: str | None = None, name: str = "Default Workspace", **extra: Any
    ) -> dict[str, Any]:
        workspace_id = workspace_id or str(uuid.uuid4())
        channel = {"email": {"enabled": False}, "webhook": {"enabled": False}}
        workspace = {
            "workspaceId": workspace_id,
            "name": name,
            "dataResidency": extra.pop("dataResidency", "auto"),
            "notifications": extra.pop(
                "notifications", {"failure": dict(channel), "success": dict(channel)}
            ),
        }
        if extra:
            raise ValueError(f"unknown workspace fields {sorted(extra)}")
        with self.lock:
            self.workspaces[workspace_id] = workspace
        return workspace

    def _default_workspace(self) -> str:
        if not self.workspaces:
            self.add_workspace()
        return next(iter(self.workspaces))

    def add_destination(
        self,
        *,
        name: str,
        destination_type: str,
        configuration: Mapping[str, Any],
        destination_id: str | None = None,
        definition_id: str | None = None,
        workspace_id: str | None = None,
    ) -> dict[str, Any]:
        destination_id = destination_id or str(uuid.uuid4())
        with self.lock:
            destination: dict[str, Any] = {
                "destinationId": destination_id,
                "name": name,
                "destinationType": destination_type,
                "definitionId": definition_id or str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
                "workspaceId": workspace_id or self._default_workspace(),
                "configuration": dict(configuration),
                "createdAt": int(self.clock()),
            }
            self.destinations[destination_id] = destination
        return destination

    def add_connection(
        self,
        *,
        name: str,
        destination_id: str,
        connection_id: str | None = None,
        source_id: str | None = None,
        workspace_id: str | None = None,
        status: str = "active",
        streams: Iterable[str | Mapping[str, Any]] = ("users",),
        namespace_definition: str = "destination",
        namespace_format: str | None = None,
        prefix: str | None = None,
        status_reason: str | None = None,
    ) -> dict[str, Any]:
        if status not in _CONNECTION_STATUSES:
            raise ValueError(f"status must be one of {_CONNECTION_STATUSES}")
        with self.lock:
            destination = self.destinations.get(destination_id)
            if destination is None:
                raise ValueError(f"unknown destination {destination_id}; add it first")
            stream_list = []
            for stream in streams:
                item = {"name": stream} if isinstance(stream, str) else dict(stream)
                item.setdefault("syncMode", "full_refresh_overwrite")
                if item["syncMode"] not in _SYNC_MODES:
                    raise ValueError(f"syncMode must be one of {_SYNC_MODES}")
                stream_list.append(item)
            connection: dict[str, Any] = {
                "connectionId": connection_id or str(uuid.uuid4()),
                "name": name,
                "sourceId": source_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"source:{name}")),
                "destinationId": destination_id,
                "workspaceId": workspace_id or destination["workspaceId"],
                "status": status,
                "schedule": {"scheduleType": "manual"},
                "nonBreakingSchemaUpdatesBehavior": "ignore",
                "namespaceDefinition": namespace_definition,
                "configurations": {"streams": stream_list},
                "createdAt": int(self.clock()),
                "tags": [],
            }
            if namespace_format is not None:
                connection["namespaceFormat"] = namespace_format
            if prefix is not None:
                connection["prefix"] = prefix
            if status_reason is not None:
                connection["statusReason"] = status_reason
            self.connections[connection["connectionId"]] = connection
        return connection

    def add_application(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        workspace_ids: Iterable[str] | None = None,
    ) -> tuple[str, str]:
        client_id = client_id or str(uuid.uuid4())
        client_secret = client_secret or random_secrets.token_urlsafe(24)
        scope = frozenset(workspace_ids) if workspace_ids is not None else None
        with self.lock:
            self.applications[client_id] = (client_secret, scope)
        return client_id, client_secret

    def add_api_token(self, token: str, workspace_ids: Iterable[str] | None = None) -> None:
        with self.lock:
            self.static_tokens[token] = (
                frozenset(workspace_ids) if workspace_ids is not None else None
            )

    def add_basic_user(
        self, username: str, password: str, workspace_ids: Iterable[str] | None = None
    ) -> None:
        with self.lock:
            self.basic_users[username] = (
                password,
                frozenset(workspace_ids) if workspace_ids is not None else None,
            )

    def plan_jobs(self, connection_id: str, plans: Sequence[JobPlan]) -> None:
        """Queue plans for the next sync jobs of a connection (then the default plan)."""
        with self.lock:
            self.plans.setdefault(connection_id, deque()).extend(plans)

    # --- credentials ------------------------------------------------------------------------

    def authenticate(self, header: str | None) -> Principal | None:
        """The caller for an ``Authorization`` header, or None when it is not valid."""
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        credentials = credentials.strip()
        if scheme.lower() == "bearer":
            with self.lock:
                issued = self.tokens.get(credentials)
                if issued is not None:
                    expires_at, principal = issued
                    if self.clock() < expires_at:
                        return principal
                    return None
                if credentials in self.static_tokens:
                    return Principal("token", "api-token", self.static_tokens[credentials])
            return None
        if scheme.lower() == "basic":
            import base64
            import binascii

            try:
                decoded = base64.b64decode(credentials, validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return None
            username, _, password = decoded.partition(":")
            with self.lock:
                user = self.basic_users.get(username)
            if user is not None and random_secrets.compare_digest(user[0], password):
                return Principal("basic", username, user[1])
        return None

    def expire_tokens(self) -> int:
        """Make every issued token expire now; returns how many there were."""
        with self.lock:
            count = len(self.tokens)
            now = self.clock()
            self.tokens = {token: (now, principal) for token, (_, principal) in self.tokens.items()}
            return count

    # --- endpoints: applications ------------------------------------------------------------

    def create_token(self, body: Any) -> Reply:
        """``POST /applications/token``."""
        if not isinstance(body, Mapping):
            return _problem_reply("bad-request", message="the body must be a JSON object or form")
        client_id, client_secret = body.get("client_id"), body.get("client_secret")
        grant = body.get("grant_type", body.get("grant-type", "client_credentials"))
        if not isinstance(client_id, str) or not isinstance(client_secret, str):
            return _problem_reply("bad-request", message="client_id and client_secret are required")
        if grant != "client_credentials":
            return _problem_reply("bad-request", message="grant_type must be client_credentials")
        with self.lock:
            application = self.applications.get(client_id)
            if application is None or not random_secrets.compare_digest(
                application[0], client_secret
            ):
                return _problem_reply("forbidden", message="invalid client credentials")
            token = random_secrets.token_urlsafe(32)
            self.tokens[token] = (
                self.clock() + self.token_ttl_seconds,
                Principal("application", client_id, application[1]),
            )
            self.tokens_issued += 1
        return Reply(
            200,
            {
                "access_token": token,
                "token_type": "Bearer",
                "expires_in": int(self.token_ttl_seconds),
            },
        )

    # --- endpoints: workspaces, connections, destinations -----------------------------------

    def list_workspaces(self, who: Principal, params: Params, base: str) -> Reply:
        wanted = set(_param_list(params, "workspaceIds"))
        items = [
            workspace
            for workspace in self.workspaces.values()
            if who.allows(workspace["workspaceId"])
            and (not wanted or workspace["workspaceId"] in wanted)
        ]
        return self._page(items, params, f"{base}/workspaces")

    def get_workspace(self, who: Principal, workspace_id: str) -> Reply:
        return self._get(self.workspaces, "workspace", workspace_id, who, "workspaceId")

    def list_connections(self, who: Principal, params: Params, base: str) -> Reply:
        wanted = set(_param_list(params, "workspaceIds"))
        include_deleted = (_param(params, "includeDeleted") or "false").lower() == "true"
        items = [
            connection
            for connection in self.connections.values()
            if who.allows(connection["workspaceId"])
            and (not wanted or connection["workspaceId"] in wanted)
            and (include_deleted or connection["status"] != "deprecated")
        ]
        return self._page(items, params, f"{base}/connections")

    def get_connection(self, who: Principal, connection_id: str) -> Reply:
        return self._get(self.connections, "connection", connection_id, who, "workspaceId")

    def list_destinations(self, who: Principal, params: Params, base: str) -> Reply:
        wanted = set(_param_list(params, "workspaceIds"))
        items = [
            _masked(destination)
            for destination in self.destinations.values()
            if who.allows(destination["workspaceId"])
            and (not wanted or destination["workspaceId"] in wanted)
        ]
        return self._page(items, params, f"{base}/destinations")

    def get_destination(self, who: Principal, destination_id: str) -> Reply:
        reply = self._get(self.destinations, "destination", destination_id, who, "workspaceId")
        if reply.status == 200:
            reply.body = _masked(reply.body)
        return reply

    def _get(
        self,
        table: Mapping[str, dict[str, Any]],
        resource: str,
        resource_id: str,
        who: Principal,
        workspace_key: str,
    ) -> Reply:
        if not _is_uuid(resource_id):
            return _problem_reply(
                "bad-request",
                f"{resource_id!r} is not a valid {resource} id (a UUID)",
                message=f"invalid {resource} id",
            )
        item = table.get(resource_id)
        if item is None:
            return _problem_reply(
                "resource-not-found", resourceType=resource, resourceId=resource_id
            )
        if not who.allows(item.get(workspace_key)):
            return _problem_reply(
                "forbidden", message=f"the credentials may not read {resource} {resource_id}"
            )
        return Reply(200, dict(item))

    def _page(self, items: list[dict[str, Any]], params: Params, url: str) -> Reply:
        try:
            limit = int(_param(params, "limit") or 20)
            offset = int(_param(params, "offset") or 0)
        except ValueError:
            return _problem_reply("bad-request", message="limit and offset must be integers")
        if not 1 <= limit <= 100 or offset < 0:
            return _problem_reply(
                "bad-request", message="limit must be 1-100 and offset must be >= 0"
            )
        page: dict[str, Any] = {"data": items[offset : offset + limit]}
        if offset + limit < len(items):
            page["next"] = f"{url}?limit={limit}&offset={offset + limit}"
        if offset > 0:
            page["previous"] = f"{url}?limit={limit}&offset={max(0, offset - limit)}"
        return Reply(200, page)

    # --- endpoints: jobs --------------------------------------------------------------------

    def _in_progress_job(self, connection_id: str) -> Job | None:
        now = self.clock()
        for job in self.jobs.values():
            if job.connection_id == connection_id and not job.is_final(now):
                return job
        return None

    def create_job(self, who: Principal, body: Any) -> Reply:
        """``POST /jobs``."""
        if not isinstance(body, Mapping):
            return _problem_reply("bad-request", message="the body must be a JSON object")
        connection_id, job_type = body.get("connectionId"), body.get("jobType")
        if not isinstance(connection_id, str) or not isinstance(job_type, str):
            return _problem_reply("bad-request", message="connectionId and jobType are required")
        if job_type not in _JOB_TYPES:
            return _problem_reply("value-not-found", value=job_type)
        if not _is_uuid(connection_id):
            return _problem_reply("bad-request", message=f"{connection_id!r} is not a UUID")
        connection = self.connections.get(connection_id)
        if connection is None:
            return _problem_reply(
                "resource-not-found", resourceType="connection", resourceId=connection_id
            )
        if not who.allows(connection["workspaceId"]):
            return _problem_reply(
                "forbidden", message=f"the credentials may not sync connection {connection_id}"
            )
        if connection["status"] == "locked":
            return _problem_reply(
                "connection-locked",
                connectionId=connection_id,
                statusReason=connection.get("statusReason", "locked"),
            )
        if connection["status"] != "active":
            return _problem_reply(
                "bad-request", message=f"connection {connection_id} is {connection['status']}"
            )
        running = self._in_progress_job(connection_id)
        if running is not None:
            text = f"A sync is already running for: {connection_id}"
            return _problem_reply("state-conflict", text, message=text)
        job = self.start_job(connection_id, job_type)
        return Reply(200, job.to_public(self.clock()))

    def start_job(self, connection_id: str, job_type: str = "sync") -> Job:
        """Create a job of the connection (as ``POST /jobs`` or a schedule would)."""
        with self.lock:
            connection = self.connections[connection_id]
            if job_type == "sync":
                queue = self.plans.get(connection_id)
                plan = queue.popleft() if queue else self.default_plan
            else:
                plan = JobPlan(rows=0)
            plan = with_step_seconds(plan, self.step_seconds)
            streams = tuple(
                (str(stream["name"]), stream.get("namespace"))
                for stream in connection["configurations"]["streams"]
            )
            job = Job(
                job_id=self._next_job_id,
                connection_id=connection_id,
                workspace_id=connection["workspaceId"],
                job_type=job_type,
                plan=plan,
                streams=streams,
                created_at=self.clock(),
            )
            self._next_job_id += 1
            self.jobs[job.job_id] = job
            return job

    def list_jobs(self, who: Principal, params: Params, base: str) -> Reply:
        """``GET /jobs`` with its filters and ``orderBy``."""
        now = self.clock()
        connection_id = _param(params, "connectionId")
        status = _param(params, "status")
        job_type = _param(params, "jobType")
        workspaces = set(_param_list(params, "workspaceIds"))
        if status is not None and status not in _JOB_STATUSES:
            return _problem_reply("value-not-found", value=status)
        if job_type is not None and job_type not in _JOB_TYPES:
            return _problem_reply("value-not-found", value=job_type)
        order = _param(params, "orderBy") or "createdAt|DESC"
        field_name, _, direction = order.partition("|")
        if field_name not in _ORDER_FIELDS or direction.upper() not in ("ASC", "DESC"):
            return _problem_reply(
                "bad-request",
                message="orderBy must be createdAt|ASC, createdAt|DESC, "
                "updatedAt|ASC or updatedAt|DESC",
            )
        try:
            windows = {
                name: _when(_param(params, name))
                for name in ("createdAtStart", "createdAtEnd", "updatedAtStart", "updatedAtEnd")
            }
        except ValueError as exc:
            return _problem_reply("bad-request", message=str(exc))

        def in_windows(job: Job) -> bool:
            updated = job.ended_at(now) or now
            checks = (
                (windows["createdAtStart"], job.created_at, 1),
                (windows["createdAtEnd"], job.created_at, -1),
                (windows["updatedAtStart"], updated, 1),
                (windows["updatedAtEnd"], updated, -1),
            )
            return all(
                bound is None or (value >= bound if sign > 0 else value <= bound)
                for bound, value, sign in checks
            )

        jobs = [
            job
            for job in self.jobs.values()
            if who.allows(job.workspace_id)
            and in_windows(job)
            and (connection_id is None or job.connection_id == connection_id)
            and (status is None or job.status(now) == status)
            and (job_type is None or job.job_type == job_type)
            and (not workspaces or job.workspace_id in workspaces)
        ]

        def key(job: Job) -> tuple[float, int]:
            if field_name == "updatedAt":
                return (job.ended_at(now) or now, job.job_id)
            return (job.created_at, job.job_id)

        jobs.sort(key=key, reverse=direction.upper() == "DESC")
        return self._page([job.to_public(now) for job in jobs], params, f"{base}/jobs")

    def _job(self, who: Principal, job_id: str) -> Job | Reply:
        try:
            number = int(job_id)
        except ValueError:
            return _problem_reply("bad-request", message=f"{job_id!r} is not a job id")
        job = self.jobs.get(number)
        if job is None:
            return _problem_reply("resource-not-found", resourceType="job", resourceId=job_id)
        if not who.allows(job.workspace_id):
            return _problem_reply("forbidden", message=f"the credentials may not read job {job_id}")
        return job

    def get_job(self, who: Principal, job_id: str) -> Reply:
        """``GET /jobs/{jobId}``: a poll moves a poll-mode job one step."""
        job = self._job(who, job_id)
        if isinstance(job, Reply):
            return job
        now = self.clock()
        job.poll(now)
        return Reply(200, job.to_public(now))

    def cancel_job(self, who: Principal, job_id: str) -> Reply:
        """``DELETE /jobs/{jobId}``."""
        job = self._job(who, job_id)
        if isinstance(job, Reply):
            return job
        now = self.clock()
        if job.is_final(now):
            text = f"Job {job.job_id} is not running (status: {job.status(now)})"
            return _problem_reply("state-conflict", text, message=text)
        job.cancel(now)
        return Reply(200, job.to_public(now))

    def job_info(self, who: Principal, body: Any) -> Reply:
        """Config API ``POST /v1/jobs/get`` (``JobInfoRead``)."""
        job_id = body.get("id") if isinstance(body, Mapping) else None
        if not isinstance(job_id, int) or isinstance(job_id, bool):
            return Reply(
                422,
                {
                    "message": "Invalid input: id must be an integer job id",
                    "validationErrors": [
                        {"propertyPath": "id", "invalidValue": str(job_id), "message": "integer"}
                    ],
                },
            )
        job = self.jobs.get(job_id)
        if job is None or not who.allows(job.workspace_id):
            return Reply(
                404,
                config_api_error(
                    f"Could not find configuration for JOB: {job_id}.", resource_id=str(job_id)
                ),
            )
        return Reply(200, job.to_info(self.clock()))
