"""`source: filesystem` reading CSV, JSON lines and Parquet files from disk."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from floe_core.errors import ErrorCategory, ErrorCode

from dlt_project import Project


def readings(start: int, count: int) -> list[dict[str, Any]]:
    return [
        {"id": i, "sensor": f"s{i % 3}", "value": i * 0.5, "seq": i}
        for i in range(start, start + count)
    ]


def write(folder: Path, name: str, rows: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if name.endswith(".csv"):
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    elif name.endswith(".jsonl"):
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), path)
    return path


def config(project: Project, reader: str, glob: str, **values: Any):
    args = {"bucket_url": "landing", "file_glob": glob, "reader": reader}
    args.update(values.pop("args", {}))
    values.setdefault("destination_table", "raw.readings")
    return project.config(source="filesystem", options={"args": args}, **values)


@pytest.mark.parametrize("reader", ["csv", "jsonl", "parquet"])
def test_files_land_in_the_destination_table(project: Project, reader: str):
    landing = project.root / "landing"
    expected = readings(1, 40) + readings(41, 25)
    write(landing, f"a.{reader}", expected[:40])
    write(landing, f"b.{reader}", expected[40:])
    (landing / "notes.txt").write_text("not data: the glob leaves it out\n")
    result = project.run(config(project, reader, f"*.{reader}"))
    assert result.success, result.error
    assert (result.rows_loaded, result.tables_created) == (65, ["raw.readings"])
    project.assert_table("raw.readings", expected)


def test_absolute_bucket_url_and_recursive_glob(project: Project, tmp_path: Path):
    outside = tmp_path / "exports"
    write(outside / "2024" / "01", "x.parquet", readings(1, 5))
    write(outside / "2024" / "02", "y.parquet", readings(6, 5))
    cfg = config(project, "parquet", "**/*.parquet", args={"bucket_url": outside.as_uri()})
    result = project.run(cfg)
    assert result.rows_loaded == 10
    project.assert_table("raw.readings", readings(1, 10))


def test_csv_column_types_can_be_pinned(project: Project):
    write(project.root / "landing", "a.csv", readings(1, 3))
    cfg = config(project, "csv", "*.csv", args={"reader_args": {"column_types": {"seq": "double"}}})
    result = project.run(cfg)
    types = {field.name: field.type for field in result.tables[0].schema}
    assert types["seq"] == "double"
    assert types["id"] == "long"


def test_incremental_over_files_loads_only_new_rows_from_a_fresh_folder(project: Project):
    landing = project.root / "landing"
    cfg = config(project, "jsonl", "*.jsonl", incremental={"cursor_column": "seq"})
    write(landing, "day1.jsonl", readings(1, 10))
    assert project.run(cfg).rows_loaded == 10
    write(landing, "day2.jsonl", readings(11, 4))
    assert project.run(cfg).rows_loaded == 4
    shutil.rmtree(project.root / ".floe" / "state")
    write(landing, "day3.jsonl", readings(15, 2))
    third = project.run(cfg, plugin=project.fresh_plugin())
    assert third.rows_loaded == 2
    project.assert_table("raw.readings", readings(1, 16))


def test_replace_swaps_the_whole_table(project: Project):
    landing = project.root / "landing"
    cfg = config(project, "parquet", "*.parquet", write_disposition="replace")
    write(landing, "full.parquet", readings(1, 30))
    project.run(cfg)
    write(landing, "full.parquet", readings(100, 3))
    result = project.run(cfg)
    assert result.rows_loaded == 3
    project.assert_table("raw.readings", readings(100, 3))


def test_no_matching_file_loads_nothing(project: Project):
    (project.root / "landing").mkdir()
    result = project.run(config(project, "csv", "*.csv"))
    assert result.success, result.error
    assert result.rows_loaded == 0


def test_unreadable_file_is_a_source_error(project: Project):
    landing = project.root / "landing"
    landing.mkdir()
    (landing / "broken.parquet").write_bytes(b"not parquet at all")
    error = project.run_through_runner(config(project, "parquet", "*.parquet")).error
    assert (error.category, error.code) == (ErrorCategory.PERMANENT, ErrorCode.SOURCE_ERROR)
