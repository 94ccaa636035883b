"""Exactly once under SIGKILL: a real loader process is killed at points across the load.

Each case loads round 0 of the shop scenario (``floe_dest_scenario``), then runs round 1 in
a subprocess that SIGKILLs itself at one point (``FLOE_TEST_KILL_AT`` in the destination, or
``FLOE_TEST_KILL_IN_SOURCE`` while extracting), then runs round 2 the way the dlt plugin
does (``restore_state`` + ``pipeline.run``) either in the same working directory (dlt resumes
the pending package first) or in a fresh one (the package is lost; the catalog is the only
memory). The Iceberg tables, read back with pyiceberg, must then hold exactly the source's
rows: no duplicate, no gap, for the incremental append (``orders``), the merge with its nested
table (``customers``, ``customers__addresses``) and, in the same directory, the plain append
(``logs``; in a fresh directory a plain append without cursor re-extracts by definition).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from floe_dest_scenario import NAMESPACE, PIPELINE, Settings, actual, expected, run_round
from pyiceberg.catalog import Catalog

from floe_ingestion_dlt.destination import KILL_ENV
from floe_ingestion_dlt.destination.summary import LOAD_ID, lineage
from floe_ingestion_dlt.destination.summary import PIPELINE as PIPELINE_KEY

SCENARIO = Path(__file__).with_name("floe_dest_scenario.py")
ALL = ("orders", "customers", "logs")
MERGE_AND_INCREMENTAL = ("orders", "customers")

POINTS = [
    "source:orders:50",  # during extract: no package yet
    "after_extract",  # package extracted and normalised, nothing committed
    "before_commit:orders",
    "after_commit:orders",
    "after_commit:customers__addresses",  # between two tables of one chain
    "before_commit:customers",
    "after_commit:customers",
    "before_complete",  # everything committed, dlt not told
]


def _kill_env(point: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != KILL_ENV}
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    if point.startswith("source:"):
        env["FLOE_TEST_KILL_IN_SOURCE"] = point.removeprefix("source:")
    else:
        env[KILL_ENV] = point
    return env


def _run_killed(settings: Settings, point: str, cwd: Path) -> None:
    completed = subprocess.run(
        [sys.executable, str(SCENARIO), settings.dumps()],
        env=_kill_env(point),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == -signal.SIGKILL, (
        f"the loader was not killed at {point} (exit {completed.returncode}):\n"
        f"{completed.stderr[-3000:]}"
    )
    assert not Path(settings.pipelines_dir, "done").exists()


def _assert_each_load_committed_once(catalog: Catalog, tables: list[str]) -> None:
    for name in tables:
        table = catalog.load_table(f"{NAMESPACE}.{name}")
        loads = Counter(
            s.summary[LOAD_ID]
            for s in lineage(table)
            if s.summary is not None and s.summary[PIPELINE_KEY] == PIPELINE
        )
        assert all(count == 1 for count in loads.values()), f"{name}: {loads}"


def _scenario(tmp_path: Path, point: str, workdir: str, uri: str | None = None) -> None:
    resources = ALL if workdir == "same" else MERGE_AND_INCREMENTAL
    base = {
        "project_dir": str(tmp_path),
        "catalog_uri": uri,
        "warehouse": str(tmp_path / "warehouse") if uri else None,
        "resources": resources,
    }
    first_dir = str(tmp_path / "pod-1")
    run_round(Settings(pipelines_dir=first_dir, round=0, **base))  # type: ignore[arg-type]
    _run_killed(Settings(pipelines_dir=first_dir, round=1, **base), point, tmp_path)  # type: ignore[arg-type]
    rerun_dir = first_dir if workdir == "same" else str(tmp_path / "pod-2")
    final = Settings(pipelines_dir=rerun_dir, round=2, **base)  # type: ignore[arg-type]
    run_round(final)

    catalog = final.catalog()
    log_rounds = [0, 2] if point.startswith("source:") else [0, 1, 2]
    want = expected(2, resources, log_rounds)
    got = actual(catalog, resources)
    for table in want:
        assert got[table] == want[table], f"{table} differs after kill at {point} ({workdir})"
    _assert_each_load_committed_once(catalog, list(want))


@pytest.mark.slow
@pytest.mark.parametrize("workdir", ["same", "fresh"])
@pytest.mark.parametrize("point", POINTS)
def test_killed_load_is_completed_exactly_once_sqlite(
    tmp_path: Path, point: str, workdir: str
) -> None:
    _scenario(tmp_path, point, workdir)


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.parametrize(
    ("point", "workdir"),
    [
        ("source:customers:7", "fresh"),
        ("after_commit:orders", "same"),
        ("after_commit:customers__addresses", "fresh"),
        ("after_commit:customers", "fresh"),
        ("before_complete", "same"),
    ],
)
def test_killed_load_is_completed_exactly_once_postgres(
    tmp_path: Path, postgres_url: str, point: str, workdir: str
) -> None:
    _scenario(tmp_path, point, workdir, uri=postgres_url)
