"""Airbyte faults: the Airbyte API emulator misbehaves under the runner's retry policy.

A floe project whose manifest points the airbyte plugin at the emulator
(``floe_ingestion_airbyte.testing.AirbyteEmulator``); each run goes through the project's
runner with its retry policy. The emulator, the plugin's polls and back-offs and the runner's
waits share one manual clock, so a 120 s ``Retry-After`` costs nothing; only the slow-POST
fault waits in real time (it must trip a real HTTP timeout).

Rows: one logical run must end with exactly one successful sync of the connection (the rows of
a failed job are not committed). ``rows lost`` are the rows of the planned successful sync that
no successful job committed; ``rows duplicated`` are rows committed by more successful syncs
than one (a POST repeated blindly would start a second sync). floe's reported ``rows_loaded``
must equal what the emulator committed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from floe_ingestion_airbyte.plugin import AirbyteIngestionPlugin
from floe_ingestion_airbyte.testing import (
    CLIENT_ID,
    CLIENT_SECRET,
    ICEBERG_CONNECTION_ID,
    WORKSPACE_ID,
    AirbyteEmulator,
    FailureSpec,
    Fault,
    JobPlan,
    ManualClock,
)
from observability.support import write_project

from faults.floe_runs import Outcome, run_pipeline
from faults.support import FaultRecord
from floe_core.project import Project

GROUP = "airbyte"
ROWS = 1000
JOB_ROUTE = "GET /jobs/{jobId}"


@dataclass
class Airbyte:
    emulator: AirbyteEmulator
    clock: ManualClock
    project: Path

    def run(self) -> Outcome:
        """One run of pipeline ``orders_sync`` through the project's runner (manual time)."""

        def plugin(project: Project) -> AirbyteIngestionPlugin:
            return AirbyteIngestionPlugin(
                project.context("airbyte"), sleep=self.clock.sleep, clock=self.clock
            )

        return run_pipeline(
            self.project, "orders_sync", sleep=self.clock.sleep, clock=self.clock, plugin=plugin
        )

    def jobs(self) -> list[dict[str, Any]]:
        return self.emulator.jobs(ICEBERG_CONNECTION_ID)


@pytest.fixture
def airbyte(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Airbyte]:
    clock = ManualClock()
    monkeypatch.setenv("AIRBYTE_CLIENT_SECRET", CLIENT_SECRET)
    with AirbyteEmulator(clock=clock) as emulator:
        project = write_project(
            tmp_path / "project",
            f"""
            ingestion:
              - name: orders_sync
                destination: bronze.orders
                airbyte: {{connection_id: "{ICEBERG_CONNECTION_ID}"}}
            """,
            f"""
            plugins:
              ingestion:
                type: airbyte
                config:
                  workspace_url: "{emulator.url}"
                  workspace_id: "{WORKSPACE_ID}"
                  client_id: "{CLIENT_ID}"
                  connection_secret_ref: airbyte-client-secret
                  poll_interval_seconds: 10
                  request_timeout_seconds: 0.3
                  max_retry_after_seconds: 30
                retry:
                  max_attempts: 4
                  initial_delay_seconds: 30
                  max_delay_seconds: 600
            """,
        )
        yield Airbyte(emulator, clock, project)


def account(record: FaultRecord, airbyte: Airbyte, outcome: Outcome, planned_rows: int) -> None:
    """Record rows lost/duplicated from the emulator's jobs, then assert floe survived."""
    jobs = airbyte.jobs()
    succeeded = [job for job in jobs if job["status"] == "succeeded"]
    committed = sum(job.get("rowsSynced", 0) for job in jobs)
    committed_by_successes = sum(job.get("rowsSynced", 0) for job in succeeded)
    record.rows_lost = max(0, planned_rows - committed_by_successes)
    record.rows_duplicated = max(0, committed_by_successes - planned_rows)
    result = outcome.result
    record.survived = (
        result.success
        and result.rows_loaded == committed
        and record.rows_lost == 0
        and record.rows_duplicated == 0
    )
    record.note = f"{result.attempts} attempts, {len(jobs)} job(s), runner waits {outcome.sleeps}"
    assert result.success, result.error
    assert result.rows_loaded == committed == planned_rows
    assert len(succeeded) == 1, jobs


Record = Callable[[str, str], FaultRecord]


def test_rate_limited_start_waits_retry_after_between_attempts(
    airbyte: Airbyte, fault: Record
) -> None:
    record = fault(GROUP, "429 with Retry-After: 120 on POST /jobs (twice)")
    airbyte.emulator.add_fault(Fault.rate_limit("POST /jobs", retry_after=120, times=2))
    outcome = airbyte.run()
    account(record, airbyte, outcome, ROWS)
    assert outcome.sleeps == [120.0, 120.0]  # the runner waited what Airbyte asked
    assert outcome.errors == {("TRANSIENT", "RATE_LIMITED"): 2}


def test_5xx_burst_while_polling_is_absorbed(airbyte: Airbyte, fault: Record) -> None:
    record = fault(GROUP, "5xx burst while polling (503 x3 on GET /jobs/{jobId})")
    airbyte.emulator.add_fault(Fault.server_errors(JOB_ROUTE, status=503, times=3, skip=1))
    outcome = airbyte.run()
    account(record, airbyte, outcome, ROWS)
    assert [r.status for r in airbyte.emulator.requests if r.route == JOB_ROUTE].count(503) == 3


def test_5xx_burst_longer_than_the_client_retries_is_retried_by_the_runner(
    airbyte: Airbyte, fault: Record
) -> None:
    record = fault(GROUP, "5xx burst beyond the client's retries (503 x6 while polling)")
    airbyte.emulator.add_fault(Fault.server_errors(JOB_ROUTE, status=503, times=6, skip=1))
    outcome = airbyte.run()
    account(record, airbyte, outcome, ROWS)
    assert outcome.result.attempts == 2  # the second attempt attached to the running job
    assert outcome.errors == {("TRANSIENT", "SERVICE_UNAVAILABLE"): 1}


def test_slow_post_is_attached_never_repeated(airbyte: Airbyte, fault: Record) -> None:
    record = fault(GROUP, "POST /jobs answers after the 0.3 s timeout (job created)")
    airbyte.emulator.add_fault(Fault.slow("POST /jobs", delay=1.0))
    outcome = airbyte.run()
    account(record, airbyte, outcome, ROWS)
    assert airbyte.emulator.request_count("POST /jobs") == 1
    assert outcome.result.details["attached"] is True


def test_token_expiring_mid_sync_is_refreshed(airbyte: Airbyte, fault: Record) -> None:
    record = fault(GROUP, "access token expires mid-sync")
    airbyte.emulator.add_fault(Fault.token_expiry(JOB_ROUTE, skip=2))
    outcome = airbyte.run()
    account(record, airbyte, outcome, ROWS)
    assert [r.status for r in airbyte.emulator.requests].count(401) == 1
    assert outcome.result.attempts == 1


def test_dropped_connections_while_polling(airbyte: Airbyte, fault: Record) -> None:
    record = fault(GROUP, "connections dropped without an answer (GET /jobs/{jobId} x2)")
    airbyte.emulator.add_fault(Fault.disconnects(JOB_ROUTE, times=2))
    outcome = airbyte.run()
    account(record, airbyte, outcome, ROWS)


def test_a_sync_failing_transiently_is_run_again(airbyte: Airbyte, fault: Record) -> None:
    record = fault(GROUP, "sync job fails (transient_error), next one succeeds")
    airbyte.emulator.plan_jobs(
        ICEBERG_CONNECTION_ID,
        JobPlan.failed(FailureSpec.transient(), rows=ROWS),
        JobPlan.succeeded(rows=ROWS),
    )
    outcome = airbyte.run()
    account(record, airbyte, outcome, ROWS)
    assert [job["status"] for job in airbyte.jobs()] == ["failed", "succeeded"]
    assert outcome.sleeps == [30.0]


def test_a_partial_sync_reports_what_was_committed(airbyte: Airbyte, fault: Record) -> None:
    record = fault(GROUP, "sync ends partial (600 committed, 400 rejected)")
    airbyte.emulator.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.partial(rows=ROWS, rows_rejected=400))
    outcome = airbyte.run()
    result, error = outcome.result, outcome.result.error
    committed = sum(job.get("rowsSynced", 0) for job in airbyte.jobs())
    # Nothing is lost silently: every record is either committed and counted, or reported.
    record.rows_lost = ROWS - committed - ((error.failed_records or 0) if error else 0)
    record.rows_duplicated = max(0, result.rows_loaded - committed)
    record.survived = (
        error is not None
        and error.category.value == "PARTIAL"
        and result.rows_loaded == committed
        and record.rows_lost == 0
    )
    record.note = f"{error.category.value}/{error.code.value}" if error else "no error"
    assert error is not None
    assert (error.category.value, error.code.value) == ("PARTIAL", "PARTIAL_SYNC")
    assert (result.rows_loaded, committed, error.failed_records) == (600, 600, 400)
    assert record.rows_lost == 0 and record.rows_duplicated == 0
    assert len(airbyte.jobs()) == 1  # PARTIAL is not retried by default
