"""One SqlCatalog on PostgreSQL shared by concurrent runs: conflicts retried, nothing lost.

Writers are real processes (``concurrent_writer.py``: ``Project.run`` of one pipeline, as
``floe run`` does) on one PostgreSQL catalog and one S3 warehouse. Their catalog object
synchronises them so that the commit conflicts the tests are about happen every time:

* several pipelines commit to the SAME table at the same instant: appends are rebased by
  pyiceberg's own commit retry, merges are refused by Iceberg's serializable validation and
  recomputed by floe's destination;
* a rival writer commits before each of a merge's first five commit attempts: the
  destination's four attempts end in ``TRANSIENT``/``COMMIT_CONFLICT``, the runner retries the
  run, and the pending load package is committed exactly once.

Each test compares the final table with the union of every writer's rows, row by row, and
prints the conflict and retry counts (``pytest -s`` shows them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from .lake import LakeProject, lake_project, pipeline, records
from .s3server import S3Server

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

WRITER = Path(__file__).with_name("concurrent_writer.py")


def _start(lake: LakeProject, *args: str, log: Path) -> subprocess.Popen[str]:
    with log.open("w") as stderr:
        return subprocess.Popen(
            [sys.executable, str(WRITER), args[0], str(lake.root), *args[1:]],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=lake.process_env(),
        )


def _outcome(process: subprocess.Popen[str], log: Path) -> dict[str, Any]:
    stdout, _ = process.communicate(timeout=240)
    assert process.returncode == 0, f"writer failed:\n{log.read_text()[-4000:]}"
    return json.loads(stdout.strip().splitlines()[-1])


def _sorted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda row: (row["id"], row["seq"], row["name"]))


def test_pipelines_committing_to_one_table_at_once_lose_and_duplicate_nothing(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str, postgres_url: str
) -> None:
    appenders = {f"append_{i}": records(range(i * 100, i * 100 + 40), seq=1) for i in (1, 2)}
    mergers = {f"merge_{i}": records(range(i * 100, i * 100 + 30), seq=1) for i in (3, 4)}
    lake = lake_project(
        tmp_path / "project",
        s3=s3_server,
        bucket=s3_bucket,
        catalog_uri=postgres_url,
        pipelines=[
            *(pipeline(n, "bronze.events", n, write_disposition="append") for n in appenders),
            *(
                pipeline(n, "bronze.accounts", n, write_disposition="merge", primary_key="id")
                for n in mergers
            ),
        ],
    )
    for name, rows in {**appenders, **mergers}.items():
        lake.write_rows(name, rows)
    sync = tmp_path / "sync"
    sync.mkdir()
    names = [*appenders, *mergers]

    processes = {
        name: _start(
            lake, "writer", name, str(sync), "--parties", str(len(names)), log=tmp_path / name
        )
        for name in names
    }
    outcomes = {name: _outcome(process, tmp_path / name) for name, process in processes.items()}

    for name, outcome in outcomes.items():
        result = outcome["result"]
        assert result["success"], (name, result["error"])
        assert result["rows_loaded"] == (40 if name in appenders else 30)
    events = [row for rows in appenders.values() for row in rows]
    accounts = [row for rows in mergers.values() for row in rows]
    assert lake.table_rows("bronze.events") == _sorted(events)
    assert lake.table_rows("bronze.accounts") == _sorted(accounts)
    conflicts = {name: outcome["conflicts"] for name, outcome in outcomes.items()}
    # all four committed at once on two tables: on each table one writer won, one conflicted
    assert sum(conflicts[n] for n in appenders) >= 1
    assert sum(conflicts[n] for n in mergers) >= 1
    print(
        f"\nshared catalog, {len(names)} simultaneous writers on 2 tables: "
        f"conflicts {conflicts}, pyiceberg in-transaction retries "
        f"{ {n: o['pyiceberg_retries'] for n, o in outcomes.items()} }, data commits sent "
        f"{ {n: o['data_commits'] for n, o in outcomes.items()} }, runner attempts "
        f"{ {n: o['result']['attempts'] for n, o in outcomes.items()} }"
    )


def test_a_merge_outrun_by_a_rival_writer_is_retried_by_the_runner_exactly_once(
    tmp_path: Path, s3_server: S3Server, s3_bucket: str, postgres_url: str
) -> None:
    lake = lake_project(
        tmp_path / "project",
        s3=s3_server,
        bucket=s3_bucket,
        catalog_uri=postgres_url,
        pipelines=[
            pipeline(
                "accounts",
                "bronze.accounts",
                "accounts",
                write_disposition="merge",
                primary_key="id",
            )
        ],
        retry={"max_attempts": 3, "initial_delay_seconds": 0.1, "max_delay_seconds": 1},
    )
    first = records(range(1, 21), seq=1, tag="v1")
    lake.write_rows("accounts", first)
    assert lake.run("accounts").rows_loaded == 20  # creates the table
    changed = records(range(11, 31), seq=2, tag="v2")
    lake.write_rows("accounts", changed)
    sync = tmp_path / "sync"
    sync.mkdir()
    turns = 5  # one more than the destination's own commit attempts

    rival = _start(
        lake, "rival", "bronze.accounts", str(sync), "--rival-turns", str(turns), log=tmp_path / "r"
    )
    writer = _start(
        lake, "writer", "accounts", str(sync), "--rival-turns", str(turns), log=tmp_path / "w"
    )
    written = _outcome(writer, tmp_path / "w")
    rival_rows = _outcome(rival, tmp_path / "r")["rows"]

    result = written["result"]
    assert result["success"], result["error"]
    assert result["attempts"] == 2  # the runner retried the COMMIT_CONFLICT once
    assert written["conflicts"] == turns
    # the pending package lands on the 6th commit and the retried run ends there: reading the
    # source again would load the same data twice (one load, committed exactly once)
    assert written["data_commits"] == turns + 1
    assert result["rows_loaded"] == 20
    assert result["details"]["resumed_pending_load"] is True
    load_ids = result["details"]["load_ids"]
    assert len(load_ids) == 1
    table = lake.catalog().load_table("bronze.accounts")
    committed = [s.summary.get("floe.load-id") for s in table.snapshots() if s.summary]
    assert sorted(i for i in committed if i in load_ids) == sorted(load_ids)
    log = (tmp_path / "w").read_text()
    assert "TRANSIENT/COMMIT_CONFLICT" in log
    latest = {row["id"]: row for row in first + changed}
    expected = _sorted([*latest.values(), *rival_rows])
    assert lake.table_rows("bronze.accounts") == expected
    print(
        f"\nrival writer: {written['conflicts']} conflicts, "
        f"{written['data_commits']} data commits sent, runner attempts {result['attempts']}"
    )
