"""The benchmark script still runs: ``benchmarks/bench_dlt_iceberg.py --quick`` end to end.

Not a timed test: it asserts that every engine loaded every workload (the tables hold the
expected rows), that the table and the targets are printed, and that the script exits 0. The
figures themselves are not asserted (see ``benchmarks/README.md`` for them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_dlt_iceberg.py"

QUICK_JOBS = {
    ("pyiceberg", "arrow"),
    ("floe", "arrow"),
    ("dlt_iceberg", "arrow"),
    ("dlt_duckdb", "arrow"),
    ("source", "dicts"),
    ("pyiceberg", "dicts"),
    ("floe", "dicts"),
    ("dlt_iceberg", "dicts"),
    ("dlt_duckdb", "dicts"),
    ("floe", "append_into"),
    ("floe", "merge"),
    ("pyiceberg", "merge"),
    ("dlt_iceberg", "merge"),
}


def run_script(
    *args: str, tmp_path: Path, script: Path = SCRIPT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
        cwd=tmp_path,
        timeout=900,
        check=False,
    )


@pytest.mark.slow
def test_quick_run_loads_every_engine_and_prints_the_table(tmp_path: Path) -> None:
    figures = tmp_path / "figures.json"
    completed = run_script(
        "--quick", "--workdir", str(tmp_path / "work"), "--json", str(figures), tmp_path=tmp_path
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    lines = completed.stdout.splitlines()

    first = next(i for i, line in enumerate(lines) if line.startswith("| engine"))
    table = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines[first:]]
    columns, rows = table[0], table[2 : table.index([""])]
    assert columns[:4] == ["engine", "workload", "rows", "seconds"]
    assert {"rows/s", "peak RSS MB", "snapshots (+load)"} <= set(columns)
    assert {(row[0], row[1]) for row in rows} == QUICK_JOBS
    assert not any("FAILED" in line for line in lines), output

    start = lines.index("## targets (issue 4)")
    verdicts = [line.split()[0] for line in lines[start + 1 :] if line.strip()]
    assert len(verdicts) == 7
    assert set(verdicts) <= {"PASS", "FAIL", "n/a"}
    assert verdicts[-1] == "n/a"  # --quick skips the 10M-row stream

    results = json.loads(figures.read_text())["results"]
    assert {(r["engine"], r["workload"]) for r in results} == QUICK_JOBS
    for result in results:  # every load really landed, with its Iceberg snapshots counted
        assert result["table_rows"] == result["expected_rows"], result
        assert result["error"] is None
        if result["engine"] in ("floe", "pyiceberg", "dlt_iceberg"):
            assert result["snapshots_added"] >= 1, result


def test_an_unknown_only_name_is_refused(tmp_path: Path) -> None:
    completed = run_script("--quick", "--only", "floe,spark", tmp_path=tmp_path)
    assert completed.returncode == 2
    assert "--only: unknown ['spark']" in completed.stderr


@pytest.mark.slow
def test_shared_namespace_benchmark_runs_both_modes(tmp_path: Path) -> None:
    completed = run_script(
        "--pipelines",
        "5",
        "--rows",
        "10",
        tmp_path=tmp_path,
        script=SCRIPT.parent / "bench_shared_namespace.py",
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    rows = [line for line in completed.stdout.splitlines() if line.startswith("| ")]
    assert [row.split("|")[1].strip() for row in rows] == ["mode", "indexed", "scanned"]
    assert "indexed / scanned wall time:" in completed.stdout
