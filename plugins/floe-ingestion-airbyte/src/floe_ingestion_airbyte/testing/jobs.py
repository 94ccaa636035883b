"""Sync jobs in the emulator: how each one behaves (:class:`JobPlan`), why it fails
(:class:`FailureSpec`), and its timeline rendered as the public ``JobResponse`` and the config
API's ``JobInfoRead``.

A job walks through ``plan.statuses`` (default ``pending, queued, running, incomplete,
running``: the real sequence, with one failed attempt that Airbyte retries) and then ends in
``plan.final`` (``succeeded``, ``failed`` or ``cancelled``). It moves one status per *step*:

* **poll mode** (default): one step each time the job is read with ``GET /jobs/{jobId}``, so
  a test knows exactly how many polls a sync takes;
* **clock mode** (``step_seconds``): one step every ``step_seconds`` of the emulator's clock
  (real time, or a :class:`~floe_ingestion_airbyte.testing.clock.ManualClock` that the code
  under test advances through its ``sleep``).

Attempts follow the statuses: the first ``running`` opens attempt 0, each ``incomplete``
closes the open attempt as failed (a retryable ``transient_error``), the next ``running``
opens another, and the final status closes the last one. ``lastUpdatedAt``, ``rowsSynced``
and ``bytesSynced`` appear once the job is final.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "FINAL_STATUSES",
    "IN_PROGRESS_STATUSES",
    "FailureSpec",
    "Job",
    "JobPlan",
    "iso_duration",
    "iso_time",
]

IN_PROGRESS_STATUSES = ("pending", "queued", "running", "incomplete")
FINAL_STATUSES = ("succeeded", "failed", "cancelled")
_FAILURE_TYPES = (
    "config_error",
    "system_error",
    "manual_cancellation",
    "refresh_schema",
    "heartbeat_timeout",
    "destination_timeout",
    "transient_error",
)
_ORIGINS = (
    "source",
    "destination",
    "replication",
    "persistence",
    "airbyte_platform",
    "normalization",
    "dbt",
    "unknown",
)


@dataclass(frozen=True)
class FailureSpec:
    """A config-API ``FailureReason``: why an attempt failed.

    The class methods build the failures real connectors report; ``auth`` and ``rate_limit``
    carry the Airbyte CDK's ``HTTP Status Code: NNN.`` message prefix.
    """

    failure_type: str | None = "system_error"
    origin: str | None = "source"
    message: str = "Something went wrong in the connector. See the logs for more details."
    retryable: bool | None = False
    stream: str | None = None
    from_trace_message: bool = True
    internal_message: str | None = None

    def __post_init__(self) -> None:
        if self.failure_type is not None and self.failure_type not in _FAILURE_TYPES:
            raise ValueError(f"failure_type must be one of {_FAILURE_TYPES}")
        if self.origin is not None and self.origin not in _ORIGINS:
            raise ValueError(f"origin must be one of {_ORIGINS}")

    @classmethod
    def auth(cls, status: int = 401, origin: str = "source") -> FailureSpec:
        """The connector's credentials were refused (CDK: ``config_error``, HTTP 401/403)."""
        text = (
            "Unauthorized. Please ensure you are authenticated correctly."
            if status == 401
            else "Forbidden. You don't have permission to access this resource."
        )
        return cls("config_error", origin, f"HTTP Status Code: {status}. Error: {text}", False)

    @classmethod
    def rate_limit(cls, origin: str = "source") -> FailureSpec:
        """The connector was rate-limited until it gave up (CDK: ``transient_error``, 429)."""
        return cls(
            "transient_error", origin, "HTTP Status Code: 429. Error: Too many requests.", True
        )

    @classmethod
    def config(cls, origin: str = "source", message: str | None = None) -> FailureSpec:
        """The connector's settings are wrong (``config_error``)."""
        return cls(
            "config_error",
            origin,
            message or f"The {origin} configuration is invalid: required property missing.",
            False,
        )

    @classmethod
    def transient(cls, origin: str = "source") -> FailureSpec:
        text = "A transient error occurred; retrying may help."
        return cls("transient_error", origin, text, True)

    @classmethod
    def system(cls, origin: str = "source") -> FailureSpec:
        return cls("system_error", origin, f"The {origin} connector crashed.", False)

    @classmethod
    def heartbeat_timeout(cls) -> FailureSpec:
        return cls("heartbeat_timeout", "source", "The source stopped sending heartbeats.", True)

    @classmethod
    def destination_timeout(cls) -> FailureSpec:
        return cls("destination_timeout", "destination", "The destination timed out.", True)

    @classmethod
    def refresh_schema(cls) -> FailureSpec:
        return cls("refresh_schema", "source", "The source schema changed; refresh it.", False)

    @classmethod
    def manual_cancellation(cls) -> FailureSpec:
        return cls(
            "manual_cancellation", "airbyte_platform", "The job was cancelled.", False, None, False
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FailureSpec:
        """From a seed file: ``{"preset": "auth"}`` or the fields of this class."""
        values = dict(data)
        preset = values.pop("preset", None)
        if preset is not None:
            builder = getattr(cls, str(preset).replace("-", "_"), None)
            if builder is None or preset == "from_dict":
                raise ValueError(f"unknown failure preset {preset!r}")
            spec: FailureSpec = builder(**values)
            return spec
        return cls(**values)

    def to_api(self, timestamp_ms: int) -> dict[str, Any]:
        """The ``FailureReason`` object."""
        reason: dict[str, Any] = {"timestamp": timestamp_ms, "externalMessage": self.message}
        if self.failure_origin is not None:
            reason["failureOrigin"] = self.failure_origin
        if self.failure_type is not None:
            reason["failureType"] = self.failure_type
        reason["internalMessage"] = self.internal_message or self.message
        if self.retryable is not None:
            reason["retryable"] = self.retryable
        reason["fromTraceMessage"] = self.from_trace_message
        if self.stream:
            reason["streamDescriptor"] = {"name": self.stream}
        return reason

    @property
    def failure_origin(self) -> str | None:
        return self.origin


_ATTEMPT_FAILURE = FailureSpec(
    "transient_error",
    "replication",
    "The attempt failed; Airbyte retries it.",
    True,
    from_trace_message=False,
)


@dataclass(frozen=True)
class JobPlan:
    """How one sync job behaves: the statuses it shows, how it ends, what it synced.

    ``rows`` is what the source emits for the job; the rows *committed* are all of them when
    it succeeds, none when it fails or is cancelled, unless ``partial_success`` (then all but
    ``rows_rejected``). ``rows_by_stream`` splits the committed rows (default: evenly).
    ``step_seconds`` switches this job to clock mode.
    """

    statuses: tuple[str, ...] = ("pending", "queued", "running", "incomplete", "running")
    final: str = "succeeded"
    rows: int = 1000
    bytes_per_row: int = 128
    failure: FailureSpec | None = None
    partial_success: bool = False
    rows_rejected: int = 0
    rows_by_stream: Mapping[str, int] | None = None
    step_seconds: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "statuses", tuple(self.statuses))
        unknown = [status for status in self.statuses if status not in IN_PROGRESS_STATUSES]
        if unknown:
            raise ValueError(f"statuses must be in-progress statuses {IN_PROGRESS_STATUSES}")
        if self.final not in FINAL_STATUSES:
            raise ValueError(f"final must be one of {FINAL_STATUSES}")
        if self.rows < 0 or self.rows_rejected < 0:
            raise ValueError("rows must be >= 0")
        if self.step_seconds is not None and self.step_seconds <= 0:
            raise ValueError("step_seconds must be > 0")
        if self.final == "failed" and self.failure is None:
            object.__setattr__(self, "failure", FailureSpec())

    @classmethod
    def succeeded(cls, rows: int = 1000, **kwargs: Any) -> JobPlan:
        return cls(final="succeeded", rows=rows, **kwargs)

    @classmethod
    def failed(cls, failure: FailureSpec | None = None, **kwargs: Any) -> JobPlan:
        return cls(final="failed", failure=failure or FailureSpec(), **kwargs)

    @classmethod
    def partial(
        cls,
        rows: int = 1000,
        rows_rejected: int = 400,
        failure: FailureSpec | None = None,
        **kwargs: Any,
    ) -> JobPlan:
        """Fails with ``partialSuccess``: of ``rows`` emitted, all but ``rows_rejected``
        were committed."""
        return cls(
            final="failed",
            rows=rows,
            rows_rejected=rows_rejected,
            partial_success=True,
            failure=failure or FailureSpec.system("destination"),
            **kwargs,
        )

    @classmethod
    def cancelled(cls, **kwargs: Any) -> JobPlan:
        """Cancelled in Airbyte (by someone else than floe) while running."""
        return cls(final="cancelled", failure=FailureSpec.manual_cancellation(), **kwargs)

    @classmethod
    def long(cls, running_steps: int, **kwargs: Any) -> JobPlan:
        """``pending, queued`` then ``running`` for ``running_steps`` steps."""
        return cls(statuses=("pending", "queued", *("running",) * running_steps), **kwargs)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobPlan:
        """From a seed file (``failure`` as in :meth:`FailureSpec.from_dict`)."""
        values = dict(data)
        failure = values.get("failure")
        if isinstance(failure, Mapping):
            values["failure"] = FailureSpec.from_dict(failure)
        if "statuses" in values:
            values["statuses"] = tuple(values["statuses"])
        return cls(**values)

    @property
    def rows_committed(self) -> int:
        if self.final == "succeeded":
            return self.rows
        return max(0, self.rows - self.rows_rejected) if self.partial_success else 0


def iso_time(epoch_seconds: float) -> str:
    """``2026-01-01T00:00:00Z``."""
    return (datetime.fromtimestamp(epoch_seconds, UTC).replace(microsecond=0).isoformat()).replace(
        "+00:00", "Z"
    )


def iso_duration(seconds: float) -> str:
    """ISO 8601 duration: ``PT8H6M12S``."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if secs or text == "PT":
        text += f"{secs}S"
    return text


@dataclass
class Job:
    """One job in the emulator. Not thread-safe: the emulator holds its lock around it."""

    job_id: int
    connection_id: str
    workspace_id: str
    job_type: str
    plan: JobPlan
    streams: tuple[tuple[str, str | None], ...]
    created_at: float
    step_seconds: float | None = None
    step: int = 0
    step_times: list[float] = field(default_factory=list)
    cancelled_at: float | None = None
    final_seen_at: float | None = None

    def __post_init__(self) -> None:
        if self.plan.step_seconds is not None:
            self.step_seconds = self.plan.step_seconds
        self.step_times = [self.created_at]

    # --- timeline ---------------------------------------------------------------------------

    def _index(self, now: float) -> int:
        if self.step_seconds is not None:
            return max(0, int((now - self.created_at) // self.step_seconds))
        return self.step

    def _step_time(self, index: int) -> float:
        if self.step_seconds is not None:
            return self.created_at + index * self.step_seconds
        return self.step_times[min(index, len(self.step_times) - 1)]

    def status(self, now: float) -> str:
        if self.cancelled_at is not None:
            return "cancelled"
        index = self._index(now)
        statuses = self.plan.statuses
        return statuses[index] if index < len(statuses) else self.plan.final

    def is_final(self, now: float) -> bool:
        return self.status(now) in FINAL_STATUSES

    def ended_at(self, now: float) -> float | None:
        if self.cancelled_at is not None:
            return self.cancelled_at
        if not self.is_final(now):
            return None
        if self.step_seconds is not None:
            return self._step_time(len(self.plan.statuses))
        return self.final_seen_at if self.final_seen_at is not None else now

    def poll(self, now: float) -> None:
        """``GET /jobs/{jobId}`` read the job: in poll mode it moves one step."""
        if self.step_seconds is None and not self.is_final(now):
            self.step += 1
            self.step_times.append(now)
        if self.is_final(now) and self.final_seen_at is None:
            self.final_seen_at = now

    def advance(self, now: float, steps: int = 1) -> None:
        """Move a poll-mode job ``steps`` steps without a poll."""
        for _ in range(steps):
            if self.is_final(now):
                break
            self.step += 1
            self.step_times.append(now)
        if self.is_final(now) and self.final_seen_at is None:
            self.final_seen_at = now

    def cancel(self, now: float) -> None:
        self.cancelled_at = now

    # --- public API -------------------------------------------------------------------------

    def rows_committed(self, now: float) -> int:
        status = self.status(now)
        if status == "succeeded":
            return self.plan.rows
        if status == "cancelled" and self.cancelled_at is not None:
            return 0
        return self.plan.rows_committed if status in FINAL_STATUSES else 0

    def to_public(self, now: float) -> dict[str, Any]:
        """The public API's ``JobResponse``."""
        status = self.status(now)
        body: dict[str, Any] = {
            "jobId": self.job_id,
            "status": status,
            "jobType": self.job_type,
            "startTime": iso_time(self.created_at),
            "connectionId": self.connection_id,
        }
        ended = self.ended_at(now)
        body["duration"] = iso_duration((ended if ended is not None else now) - self.created_at)
        if ended is not None:
            rows = self.rows_committed(now)
            body["lastUpdatedAt"] = iso_time(ended)
            body["bytesSynced"] = rows * self.plan.bytes_per_row
            body["rowsSynced"] = rows
        return body

    # --- config API -------------------------------------------------------------------------

    def to_info(self, now: float) -> dict[str, Any]:
        """The config API's ``JobInfoRead`` (``job`` and ``attempts``)."""
        status = self.status(now)
        ended = self.ended_at(now)
        updated = ended if ended is not None else self._step_time(self._index(now))
        rows = self.rows_committed(now)
        bpr = self.plan.bytes_per_row
        job: dict[str, Any] = {
            "id": self.job_id,
            "configType": "sync" if self.job_type == "sync" else _config_type(self.job_type),
            "configId": self.connection_id,
            "enabledStreams": [_descriptor(name, ns) for name, ns in self.streams],
            "createdAt": int(self.created_at),
            "updatedAt": int(updated),
            "startedAt": int(self.created_at),
            "status": status,
        }
        attempts = self._attempts(now)
        if ended is not None:
            rejected = self.plan.rows_rejected if status == "failed" else 0
            emitted = rows + rejected
            job["aggregatedStats"] = {
                "recordsEmitted": emitted,
                "bytesEmitted": emitted * bpr,
                "recordsCommitted": rows,
                "bytesCommitted": rows * bpr,
                "recordsRejected": rejected,
            }
            job["streamAggregatedStats"] = [
                {
                    "streamName": name,
                    **({"streamNamespace": ns} if ns else {}),
                    "recordsEmitted": stream_rows,
                    "bytesEmitted": stream_rows * bpr,
                    "recordsCommitted": stream_rows,
                    "bytesCommitted": stream_rows * bpr,
                    "recordsRejected": 0,
                }
                for (name, ns), stream_rows in zip(self.streams, self._split(rows), strict=True)
            ]
        return {"job": job, "attempts": attempts}

    def _split(self, rows: int) -> list[int]:
        if not self.streams:
            return []
        wanted = self.plan.rows_by_stream
        if wanted:
            return [int(wanted.get(name, 0)) for name, _ in self.streams]
        share, remainder = divmod(rows, len(self.streams))
        return [share + (1 if i < remainder else 0) for i in range(len(self.streams))]

    def _attempts(self, now: float) -> list[dict[str, Any]]:
        index = self._index(now)
        statuses = self.plan.statuses
        seen = list(statuses[: min(index + 1, len(statuses))])
        status = self.status(now)
        attempts: list[dict[str, Any]] = []
        open_at: float | None = None
        for i, step_status in enumerate(seen):
            at = self._step_time(i)
            if step_status == "running" and open_at is None:
                open_at = at
            elif step_status == "incomplete" and open_at is not None:
                attempts.append(
                    self._attempt(
                        len(attempts),
                        open_at,
                        at,
                        "failed",
                        _ATTEMPT_FAILURE,
                        partial=False,
                        rows=0,
                    )
                )
                open_at = None
        if status in FINAL_STATUSES:
            ended = self.ended_at(now)
            assert ended is not None
            if status == "cancelled" and open_at is None and not attempts:
                return []
            start = open_at if open_at is not None else ended
            if status == "succeeded":
                attempts.append(
                    self._attempt(
                        len(attempts),
                        start,
                        ended,
                        "succeeded",
                        None,
                        partial=False,
                        rows=self.rows_committed(now),
                    )
                )
            else:
                cancelled = status == "cancelled" and (
                    self.cancelled_at is not None or self.plan.failure is None
                )
                failure = (
                    FailureSpec.manual_cancellation()
                    if cancelled
                    else self.plan.failure or FailureSpec()
                )
                rows = self.rows_committed(now)
                attempts.append(
                    self._attempt(
                        len(attempts), start, ended, "failed", failure, partial=rows > 0, rows=rows
                    )
                )
        elif open_at is not None:
            attempts.append(
                self._attempt(
                    len(attempts), open_at, None, "running", None, partial=False, rows=0, now=now
                )
            )
        return attempts

    def _attempt(
        self,
        number: int,
        started: float,
        ended: float | None,
        status: str,
        failure: FailureSpec | None,
        *,
        partial: bool,
        rows: int,
        now: float | None = None,
    ) -> dict[str, Any]:
        bpr = self.plan.bytes_per_row
        attempt: dict[str, Any] = {
            "id": number,
            "status": status,
            "createdAt": int(started),
            "updatedAt": int(ended if ended is not None else (now or started)),
            "bytesSynced": rows * bpr,
            "recordsSynced": rows,
            "totalStats": {
                "recordsEmitted": rows,
                "bytesEmitted": rows * bpr,
                "recordsCommitted": rows,
                "bytesCommitted": rows * bpr,
            },
            "streamStats": [
                {
                    "streamName": name,
                    **({"streamNamespace": ns} if ns else {}),
                    "stats": {"recordsCommitted": stream_rows, "bytesCommitted": stream_rows * bpr},
                }
                for (name, ns), stream_rows in zip(self.streams, self._split(rows), strict=True)
            ],
        }
        if ended is not None:
            attempt["endedAt"] = int(ended)
        if failure is not None:
            attempt["failureSummary"] = {
                "failures": [failure.to_api(int((ended or started) * 1000))],
                "partialSuccess": partial,
            }
        return {"attempt": attempt, "logType": "formatted", "logs": {"logLines": []}}


def _descriptor(name: str, namespace: str | None) -> dict[str, Any]:
    return {"name": name, "namespace": namespace} if namespace else {"name": name}


def _config_type(job_type: str) -> str:
    return {"reset": "reset_connection", "refresh": "refresh", "clear": "clear"}.get(
        job_type, "sync"
    )


def plans_from(items: Sequence[JobPlan | Mapping[str, Any]]) -> list[JobPlan]:
    """Plans given as :class:`JobPlan` or seed-file dicts."""
    return [item if isinstance(item, JobPlan) else JobPlan.from_dict(item) for item in items]


def with_step_seconds(plan: JobPlan, step_seconds: float | None) -> JobPlan:
    """``plan`` in clock mode with ``step_seconds`` unless it has its own."""
    if step_seconds is None or plan.step_seconds is not None:
        return plan
    return replace(plan, step_seconds=step_seconds)
