"""N small pipelines at once under Dagster's multiprocess executor, one shared PostgreSQL catalog.

Twenty, then a hundred pipelines (a few hundred rows each, from a dotted-path dlt source, one
table each in one namespace of one catalog) run as one Dagster job on the multiprocess executor
with 3 concurrent step processes (this machine has 2 cores), started by the ``dagster``
command line in its own process as a deployment would. Every step must succeed and every
table hold exactly the rows of its pipelines, each once.

Each test prints its figures (``-s`` shows them; ``docs/operations/scaling.md`` records them):
wall time, peak resident memory of the whole process tree, step processes, commit races the
destination retried (metadata files beyond one per table and one per snapshot: the pipelines
share the catalog, its namespace and its database, not their tables; races on one table are the
fault suite's subject) and runs the floe runner retried. The 20-pipeline run keeps Dagster's defaults: each step process starts fresh (``spawn``) and
pays for starting Python and importing Dagster, dlt, pyiceberg and pyarrow, and each step's
output is captured (two ``tail`` and two ``watch_orphans.py`` processes per step). The
100-pipeline run uses the same executor with ``forkserver`` and those modules preloaded, so a
step process is a fork of a warm one, and no output capture; that keeps it within its time
budget here, and these are the first levers of ``docs/operations/scaling.md``.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest

from load.loadproject import expected_ids, read_outcome, run_job, write_project

ROWS = 300
CONCURRENCY = 3


def _run(
    tmp_path: Path,
    postgres_url: str,
    *,
    pipelines: int,
    start_method: str,
    capture_compute_logs: bool,
    budget: float,
) -> dict[str, object]:
    project = write_project(
        tmp_path / "project", pipelines=pipelines, rows=ROWS, catalog_url=postgres_url
    )
    home = tmp_path / "dagster_home"
    run = run_job(
        project,
        home,
        concurrency=CONCURRENCY,
        start_method=start_method,
        capture_compute_logs=capture_compute_logs,
        timeout=budget,
    )
    log_tail = run.log.read_text()[-4000:]
    assert run.returncode == 0, log_tail
    outcome = read_outcome(home, postgres_url, tmp_path / "warehouse")
    assert outcome.run_status == "SUCCESS", outcome.errors or log_tail
    assert (outcome.steps_succeeded, outcome.steps_failed) == (pipelines, 0), outcome.errors

    expected = expected_ids(pipelines, ROWS)
    assert sorted(outcome.rows_by_table) == sorted(expected)
    for table, ids in outcome.rows_by_table.items():
        assert len(ids) == len(set(ids)), f"{table} holds duplicated rows"
        assert set(ids) == expected[table], f"{table} lost rows"
    total = sum(len(ids) for ids in outcome.rows_by_table.values())
    assert total == pipelines * ROWS
    assert len(outcome.runner_attempts) == pipelines

    figures: dict[str, object] = {
        "pipelines": pipelines,
        "rows": total,
        "executor": f"multiprocess, max_concurrent={CONCURRENCY}, start_method={start_method}",
        "compute_log_capture": capture_compute_logs,
        "wall_seconds": round(run.wall_seconds, 1),
        "cpu_seconds": round(run.cpu_seconds, 1),
        "load_average_1min": [round(value, 1) for value in run.load_average],
        "pipelines_per_minute": round(pipelines / run.wall_seconds * 60, 1),
        "peak_rss_mib": round(run.peak_rss_bytes / 2**20),
        "peak_processes": run.peak_processes,
        "processes_at_peak": run.peak_kinds,
        "median_step_seconds": round(statistics.median(outcome.step_seconds), 2),
        "median_floe_run_seconds": round(statistics.median(outcome.floe_seconds), 2),
        "snapshots": outcome.snapshots,
        "destination_commit_retries": outcome.lost_commit_races,
        "runner_retries": outcome.runner_retries,
    }
    print(f"\nfloe load figures: {json.dumps(figures)}")
    assert outcome.snapshots == pipelines, "one snapshot per pipeline run, no more"
    return figures


@pytest.mark.slow
@pytest.mark.postgres
def test_twenty_pipelines_with_dagsters_defaults(tmp_path: Path, postgres_url: str) -> None:
    """A fresh Python per step (spawn) and each step's output captured, as Dagster defaults."""
    figures = _run(
        tmp_path,
        postgres_url,
        pipelines=20,
        start_method="spawn",
        capture_compute_logs=True,
        budget=900,
    )
    assert figures["peak_processes"] >= 2  # the run process and its step processes


@pytest.mark.slow
@pytest.mark.postgres
def test_hundred_pipelines_with_cheap_step_processes(tmp_path: Path, postgres_url: str) -> None:
    """Step processes forked from a warm forkserver, no per-step output capture."""
    figures = _run(
        tmp_path,
        postgres_url,
        pipelines=100,
        start_method="forkserver",
        capture_compute_logs=False,
        budget=900,
    )
    assert figures["peak_processes"] >= 3  # the run process, the forkserver, step processes
