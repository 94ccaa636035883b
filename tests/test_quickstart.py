"""The quickstart end to end (what `make demo` runs): Dagster -> floe runner -> dlt -> Iceberg.

The project is copied to a temporary folder and its demo run as a user would; the Iceberg
tables are then compared, row by row, with the shop's SQLite database and event files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

QUICKSTART = Path(__file__).resolve().parents[1] / "examples" / "quickstart"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("quickstart") / "quickstart"
    shutil.copytree(
        QUICKSTART, target, ignore=shutil.ignore_patterns(".floe", "data", "__pycache__")
    )
    return target


def run_demo(project: Path) -> str:
    env = {**os.environ, "COLUMNS": "120"}
    completed = subprocess.run(
        [sys.executable, str(project / "demo.py")],
        capture_output=True, text=True, env=env, timeout=600, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed.stdout


def iceberg_rows(project: Path, table: str) -> list[dict[str, object]]:
    from floe_core.project import Project

    catalog = Project.load(project).context().catalog
    data = catalog.load_table(table).scan().to_arrow()
    return data.select([n for n in data.column_names if not n.startswith("_dlt")]).to_pylist()


def sqlite_rows(project: Path, table: str) -> list[dict[str, object]]:
    with sqlite3.connect(project / "data" / "shop.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY id")]


def test_first_demo_loads_two_days_and_the_second_only_new_rows(project: Path) -> None:
    first = run_demo(project)
    assert "day 1" in first and "day 2" in first
    assert "what this load committed to Iceberg" in first
    assert "dagster dev -f examples/quickstart/definitions.py" in first

    second = run_demo(project)
    assert "day 3" in second and "day 1" not in second
    # Only day 3's data: 1,500 orders, 3,000 events, 65 changed customers.
    assert loaded_and_total(second, "bronze/orders") == (1500, 4500)
    assert loaded_and_total(second, "bronze/web_events") == (3000, 9000)
    assert loaded_and_total(second, "bronze/customers") == (65, 450)


def loaded_and_total(output: str, asset: str) -> tuple[int, int]:
    """(rows loaded, rows in table) from the demo's summary table row of ``asset``."""
    match = re.search(rf"{asset}\s*│\s*([\d,]+)\s*│\s*([\d,]+)", output)
    assert match, output
    return int(match[1].replace(",", "")), int(match[2].replace(",", ""))


def test_tables_equal_the_source_row_by_row(project: Path) -> None:
    customers = sorted(iceberg_rows(project, "bronze.customers"), key=lambda r: r["id"])
    expected = sqlite_rows(project, "customers")
    assert [c["id"] for c in customers] == [e["id"] for e in expected]  # merge: one row each
    for got, want in zip(customers, expected, strict=True):
        assert (got["tier"], got["city"], got["email"]) == (
            want["tier"],
            want["city"],
            want["email"],
        )

    orders = sorted(iceberg_rows(project, "bronze.orders"), key=lambda r: r["id"])
    assert [o["id"] for o in orders] == [o["id"] for o in sqlite_rows(project, "orders")]

    events = [
        json.loads(line)["event_id"]
        for path in sorted((project / "data" / "events").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    loaded = sorted(row["event_id"] for row in iceberg_rows(project, "bronze.web_events"))
    assert loaded == sorted(events)  # no duplicate, no gap


def test_lineage_events_were_written_for_every_run(project: Path) -> None:
    lines = (project / ".floe" / "lineage" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    completes = [e for e in events if e["eventType"] == "COMPLETE"]
    assert len(completes) == 9  # three pipelines, three days
    assert {e["job"]["name"] for e in completes} == {
        "ingestion.customers", "ingestion.orders", "ingestion.web_events"
    }  # fmt: skip
    for event in completes:
        assert event["run"]["facets"]["parent"]["job"]["namespace"] == "dagster"
        assert event["outputs"][0]["namespace"] == "file"
