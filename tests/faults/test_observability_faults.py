"""Observability backends down or slow: runs still succeed, load every row, and finish on time.

Each run loads 20 rows with the real dlt plugin while its lineage endpoint or Pushgateway is
down (a closed port), hangs (accepts and never answers) or answers 503. "On time" is the same
run without observability plus what the manifest's settings allow the backends to cost:
``push_timeout_seconds`` for the Pushgateway, and per OpenLineage event at most
``(retry.total + 1) * timeout`` plus the back-off for the HTTP transport (two events: START and
COMPLETE), with a margin for the machine's load. The settings are those recommended in
``docs/operations/observability.md``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from observability.support import free_port, write_project
from test_lineage import LineageReceiver

from faults.floe_runs import catalog_of, run_pipeline
from faults.support import FaultRecord, HangingServer, compare_rows, table_rows

pytestmark = pytest.mark.slow

GROUP = "observability"
ROWS = [{"id": i, "name": f"row {i}"} for i in range(1, 21)]
SOURCE = """
def rows(n: int):
    return [{"id": i, "name": f"row {i}"} for i in range(1, n + 1)]
"""
# The recommended HTTP transport settings: 2 s timeout, 1 retry after a short back-off.
LINEAGE_TIMEOUT, LINEAGE_RETRIES, LINEAGE_BACKOFF = 2.0, 1, 0.2
PUSH_TIMEOUT = 2.0
EVENTS = 2  # START and COMPLETE


def lineage_budget() -> float:
    """Upper bound of the time the lineage transport may take for one run's events."""
    backoff = sum(LINEAGE_BACKOFF * 2**i for i in range(LINEAGE_RETRIES))
    return EVENTS * ((LINEAGE_RETRIES + 1) * LINEAGE_TIMEOUT + backoff)


def project_with(root: Path, observability: str) -> Path:
    return write_project(
        root,
        """
        ingestion:
          - name: observed
            destination: bronze.observed
            dlt: {source: obs_source.rows, args: {n: 20}}
        """,
        f"""
        plugins:
          ingestion:
            retry: {{max_attempts: 2, initial_delay_seconds: 0.1}}
        {observability}
        """,
        {"obs_source": SOURCE},
    )


def lineage_block(url: str) -> str:
    return f"""
        observability:
          lineage:
            transport:
              type: http
              url: "{url}"
              timeout: {LINEAGE_TIMEOUT}
              retry: {{total: {LINEAGE_RETRIES}, backoff_factor: {LINEAGE_BACKOFF}}}
        """


def metrics_block(url: str) -> str:
    return f"""
        observability:
          metrics:
            pushgateway_url: "{url}"
            push_timeout_seconds: {PUSH_TIMEOUT}
        """


def both_blocks(lineage_url: str, gateway_url: str) -> str:
    return f"""
        observability:
          lineage:
            transport:
              type: http
              url: "{lineage_url}"
              timeout: {LINEAGE_TIMEOUT}
              retry: {{total: {LINEAGE_RETRIES}, backoff_factor: {LINEAGE_BACKOFF}}}
          metrics:
            pushgateway_url: "{gateway_url}"
            push_timeout_seconds: {PUSH_TIMEOUT}
        """


@pytest.fixture(scope="module")
def baseline_seconds(tmp_path_factory: pytest.TempPathFactory) -> float:
    """Wall time of the same run without observability (the second of two: imports warm)."""
    times = []
    for attempt in range(2):
        project = project_with(tmp_path_factory.mktemp(f"baseline{attempt}"), "")
        outcome = run_pipeline(project, "observed")
        assert outcome.result.success, outcome.result.error
        times.append(outcome.wall_seconds)
    return times[-1]


@dataclass
class Backend:
    """A broken backend for one test: the manifest block using it, its budget, its trace."""

    block: str
    budget: float
    expect_log: str


@pytest.fixture
def hanging() -> Iterator[HangingServer]:
    server = HangingServer()
    yield server
    server.stop()


@pytest.fixture
def slow_receiver() -> Iterator[LineageReceiver]:
    receiver = LineageReceiver(delay=30)  # answers after 30 s (released when stopped)
    yield receiver
    receiver.stop()


@pytest.fixture
def failing_receiver() -> Iterator[LineageReceiver]:
    receiver = LineageReceiver(status=503)
    yield receiver
    receiver.stop()


CASES = [
    "lineage endpoint down",
    "lineage endpoint hangs",
    "lineage endpoint answers 503",
    "Pushgateway down",
    "Pushgateway hangs",
    "lineage endpoint and Pushgateway both hang",
]


@pytest.fixture
def backend(
    request: pytest.FixtureRequest,
    hanging: HangingServer,
    slow_receiver: LineageReceiver,
    failing_receiver: LineageReceiver,
) -> Backend:
    closed = f"http://127.0.0.1:{free_port()}"
    not_emitted = "was not emitted"
    not_pushed = "were not pushed"
    return {
        "lineage endpoint down": Backend(lineage_block(closed), lineage_budget(), not_emitted),
        "lineage endpoint hangs": Backend(
            lineage_block(slow_receiver.url), lineage_budget(), not_emitted
        ),
        "lineage endpoint answers 503": Backend(
            lineage_block(failing_receiver.url), lineage_budget(), not_emitted
        ),
        "Pushgateway down": Backend(metrics_block(closed), PUSH_TIMEOUT, not_pushed),
        "Pushgateway hangs": Backend(metrics_block(hanging.url), PUSH_TIMEOUT, not_pushed),
        "lineage endpoint and Pushgateway both hang": Backend(
            both_blocks(slow_receiver.url, hanging.url),
            lineage_budget() + PUSH_TIMEOUT,
            not_pushed,
        ),
    }[request.param]


@pytest.mark.parametrize("backend", CASES, indirect=True, ids=CASES)
def test_runs_succeed_on_time_whatever_the_observability_backends_do(
    tmp_path: Path,
    backend: Backend,
    baseline_seconds: float,
    fault: Callable[[str, str], FaultRecord],
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    name = request.node.callspec.id
    record = fault(GROUP, name)
    project = project_with(tmp_path / "project", backend.block)
    caplog.set_level(logging.WARNING)
    started = time.monotonic()
    outcome = run_pipeline(project, "observed")
    wall = time.monotonic() - started
    bound = baseline_seconds + backend.budget + max(5.0, baseline_seconds)
    diff = compare_rows(ROWS, table_rows(catalog_of(project), "bronze.observed"), lambda r: r["id"])
    record.rows_lost, record.rows_duplicated = diff.lost, diff.duplicated
    record.survived = outcome.result.success and diff.exact and wall <= bound
    record.note = (
        f"{wall:.1f} s, bound {bound:.1f} s (without observability {baseline_seconds:.1f} s)"
    )
    assert outcome.result.success, outcome.result.error
    assert diff.exact, diff.examples
    assert wall <= bound, record.note
    assert backend.expect_log in caplog.text  # the backend really failed, and it was logged
