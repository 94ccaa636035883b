"""The life of one Airbyte sync: start (or attach), poll, and cancel when floe gives up.

:meth:`SyncSession.run` is the whole lifecycle:

1. **Start** with ``POST /jobs``. Airbyte runs at most one sync per connection, so:

   * a **409** means a sync is already running: floe finds it (``GET /jobs?connectionId=...``,
     newest first, first job whose status is in progress) and *attaches* to it;
   * a **timeout, dropped connection or 5xx** leaves it unknown whether the job was created:
     floe looks for a running job the same way and attaches if there is one. Only when there
     is none does it send ``POST /jobs`` again, which is safe: if the first request created a
     job meanwhile, Airbyte answers 409 and floe attaches. A ``POST /jobs`` is therefore never
     repeated blindly, and a connection never gets two syncs from floe.

2. **Poll** ``GET /jobs/{jobId}`` every ``poll_interval_seconds`` while the status is
   ``pending``, ``queued``, ``running`` or ``incomplete`` (``incomplete``: an attempt failed
   and Airbyte retries it), until ``succeeded``, ``failed`` or ``cancelled``.

3. **Cancel** with ``DELETE /jobs/{jobId}`` when the overall ``timeout_seconds`` runs out, when
   the caller's ``cancel_event`` is set, or when the waiting thread is interrupted
   (``KeyboardInterrupt``, a Dagster run termination: any ``BaseException`` that is not an
   ``Exception``; it is re-raised after the cancel). A 409 answer means the job finished
   first: its final state is fetched and reported as it is.

API errors while polling are raised (mapped by the plugin) without cancelling: the job goes on
in Airbyte, and the next run attaches to it. Time is read from an injected ``clock`` and
waited with an injected ``sleep``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from floe_core.errors import ErrorCode, PermanentError, TransientError

from floe_ingestion_airbyte.client import IN_PROGRESS_STATUSES, AirbyteClient
from floe_ingestion_airbyte.errors import (
    SOURCE,
    AirbyteApiError,
    AirbyteError,
    AirbyteTransportError,
    api_exception,
)

__all__ = ["CancelEvent", "SyncOutcome", "SyncSession", "fetch_job_info"]

logger = logging.getLogger("floe_ingestion_airbyte.sync")

_AMBIGUOUS_STATUSES = frozenset({500, 502, 503, 504})


class CancelEvent(Protocol):
    """Anything with ``is_set()``, such as :class:`threading.Event`."""

    def is_set(self) -> bool: ...


@dataclass(frozen=True)
class SyncOutcome:
    """How a sync ended: the final ``JobResponse`` and how floe got there.

    ``attached``: floe joined a sync that was already running instead of starting one.
    ``cancelled_by``: ``"timeout"`` or ``"caller"`` when floe cancelled the job (the job's
    final status may still be ``succeeded`` if it finished first), else None.
    """

    job: Mapping[str, Any]
    attached: bool
    polls: int
    cancelled_by: Literal["timeout", "caller"] | None = None

    @property
    def job_id(self) -> int:
        return int(self.job["jobId"])

    @property
    def status(self) -> str:
        return str(self.job.get("status"))


class SyncSession:
    """Runs syncs of connections through one client, with the timing settings given."""

    def __init__(
        self,
        client: AirbyteClient,
        *,
        poll_interval_seconds: float = 10.0,
        timeout_seconds: float = 24 * 3600.0,
        max_start_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if poll_interval_seconds <= 0:
            raise ValueError("poll_interval_seconds must be > 0")
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be > 0")
        self.client = client
        self.poll_interval_seconds = poll_interval_seconds
        self.timeout_seconds = timeout_seconds
        self.max_start_attempts = max_start_attempts
        self._sleep = sleep
        self._clock = clock

    def run(self, connection_id: str, *, cancel_event: CancelEvent | None = None) -> SyncOutcome:
        """Start or attach to a sync of ``connection_id`` and wait until it ends.

        Raises a floe ``TransientError(TIMEOUT)`` when ``timeout_seconds`` ran out and the job
        was cancelled, ``PermanentError(SYNC_CANCELLED)`` when ``cancel_event`` was set and
        the job was cancelled, and the client's errors for API failures.
        """
        deadline = self._clock() + self.timeout_seconds
        job, attached = self.start_or_attach(connection_id)
        return self.wait(job, attached=attached, deadline=deadline, cancel_event=cancel_event)

    def start_or_attach(self, connection_id: str) -> tuple[Mapping[str, Any], bool]:
        """``POST /jobs``, or the sync already running for the connection (see module doc)."""
        last: AirbyteError | None = None
        for attempt in range(1, self.max_start_attempts + 1):
            try:
                job = self.client.create_job(connection_id)
            except AirbyteApiError as exc:
                if exc.problem_type == "error:connection/locked":
                    raise
                if exc.status != 409 and exc.status not in _AMBIGUOUS_STATUSES:
                    raise
                last = exc
            except AirbyteTransportError as exc:
                if not exc.sent:
                    raise
                last = exc
            else:
                logger.info(
                    "started Airbyte sync job %s for connection %s", job.get("jobId"), connection_id
                )
                return job, False
            running = self.find_running(connection_id)
            if running is not None:
                logger.info(
                    "a sync of connection %s is already running (%s); attaching to job %s",
                    connection_id,
                    last,
                    running.get("jobId"),
                )
                return running, True
            if attempt < self.max_start_attempts:
                delay = min(self.poll_interval_seconds, 2.0**attempt)
                logger.warning(
                    "starting a sync of connection %s: %s, and no running job found; "
                    "trying again in %.1f s",
                    connection_id,
                    last,
                    delay,
                )
                self._sleep(delay)
        assert last is not None
        if isinstance(last, AirbyteApiError) and last.status == 409:
            raise TransientError(
                ErrorCode.SYNC_FAILED_TRANSIENT,
                f"Airbyte refused to start a sync of connection {connection_id} (409: "
                f"{last.summary}) but lists no running sync job to attach to (a reset or "
                "refresh may be running); retry later",
                source=SOURCE,
                details={"connection_id": connection_id, "http_status": 409},
            )
        raise api_exception(last, context=f"starting a sync of connection {connection_id}")

    def find_running(self, connection_id: str) -> Mapping[str, Any] | None:
        """The newest sync job of the connection whose status is in progress, if any."""
        jobs = self.client.list_jobs(connection_id=connection_id, job_type="sync", limit=20)
        for job in jobs:
            if job.get("status") in IN_PROGRESS_STATUSES and job.get("jobId") is not None:
                return job
        return None

    def wait(
        self,
        job: Mapping[str, Any],
        *,
        attached: bool = False,
        deadline: float | None = None,
        cancel_event: CancelEvent | None = None,
    ) -> SyncOutcome:
        """Poll ``job`` until it is final; cancel it on timeout, cancellation or interruption."""
        if deadline is None:
            deadline = self._clock() + self.timeout_seconds
        job_id = int(job["jobId"])
        status = str(job.get("status"))
        polls = 0
        try:
            while status in IN_PROGRESS_STATUSES:
                if cancel_event is not None and cancel_event.is_set():
                    return self._cancelled(job_id, attached, polls, "caller")
                remaining = deadline - self._clock()
                if remaining <= 0:
                    return self._cancelled(job_id, attached, polls, "timeout")
                self._sleep(min(self.poll_interval_seconds, remaining))
                if cancel_event is not None and cancel_event.is_set():
                    return self._cancelled(job_id, attached, polls, "caller")
                job = self.client.get_job(job_id)
                polls += 1
                new_status = str(job.get("status"))
                if new_status != status:
                    logger.info("Airbyte sync job %s: %s -> %s", job_id, status, new_status)
                status = new_status
        except Exception:
            raise
        except BaseException as interruption:
            logger.warning(
                "interrupted (%s) while waiting for Airbyte sync job %s; cancelling it",
                type(interruption).__name__,
                job_id,
            )
            try:
                self.cancel(job_id)
            except Exception as exc:  # the interruption matters more than a failed cancel
                logger.error("could not cancel Airbyte sync job %s: %s", job_id, exc)
            raise
        logger.info("Airbyte sync job %s finished: %s", job_id, status)
        return SyncOutcome(job=job, attached=attached, polls=polls)

    def cancel(self, job_id: int) -> Mapping[str, Any]:
        """``DELETE /jobs/{jobId}``; a 409 (already finished) gives the job's final state."""
        try:
            job = self.client.cancel_job(job_id)
        except AirbyteApiError as exc:
            if exc.status != 409:
                raise
            logger.info("Airbyte sync job %s had already finished when cancelled", job_id)
            return self.client.get_job(job_id)
        logger.info("cancelled Airbyte sync job %s", job_id)
        return job if job else self.client.get_job(job_id)

    def _cancelled(
        self,
        job_id: int,
        attached: bool,
        polls: int,
        by: Literal["timeout", "caller"],
    ) -> SyncOutcome:
        logger.warning(
            "cancelling Airbyte sync job %s (%s)",
            job_id,
            f"no result after {self.timeout_seconds:g} s" if by == "timeout" else "asked by caller",
        )
        try:
            job = self.cancel(job_id)
        except AirbyteError as exc:
            raise api_exception(exc, context=f"cancelling Airbyte sync job {job_id}") from None
        outcome = SyncOutcome(job=job, attached=attached, polls=polls, cancelled_by=by)
        if outcome.status in ("succeeded", "failed"):
            return outcome  # it finished before the cancel arrived: report what it did
        details = {"job_id": job_id, "job_status": outcome.status, "attached": attached}
        if by == "timeout":
            raise TransientError(
                ErrorCode.TIMEOUT,
                f"Airbyte sync job {job_id} did not finish within timeout_seconds="
                f"{self.timeout_seconds:g}; floe cancelled it. Raise timeout_seconds in "
                "plugins.ingestion.config (or the pipeline's airbyte block) if syncs take longer",
                source=SOURCE,
                details=details,
            )
        raise PermanentError(
            ErrorCode.SYNC_CANCELLED,
            f"Airbyte sync job {job_id} was cancelled by floe's caller",
            source=SOURCE,
            details={**details, "cancelled_by": "caller"},
        )


def fetch_job_info(client: AirbyteClient, job_id: int) -> Mapping[str, Any] | None:
    """The config API's ``JobInfoRead`` for ``job_id``, or None when it is not available
    (Cloud tokens may not reach it; floe then works from the public API alone)."""
    try:
        return client.get_job_info(job_id)
    except AirbyteError as exc:
        logger.info("no failure details for Airbyte job %s from the config API: %s", job_id, exc)
        return None
