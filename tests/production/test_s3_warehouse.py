"""Warehouse on S3: floe projects whose Iceberg data and metadata live in object storage.

Every test runs a real floe project (``Project`` and the dlt plugin, or the ``floe`` CLI)
whose catalog is a ``SqlCatalog`` on PostgreSQL and whose warehouse is ``s3://<bucket>/
warehouse`` on moto's S3 server (authentication enforced: the keys must come from the
catalog's ``secret_refs``). Tables are read back through pyiceberg's S3 FileIO (pyarrow's
``S3FileSystem``) from a catalog of their own and compared with the source row by row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from floe_core.errors import ErrorCategory, ErrorCode
from floe_core.project import ProjectError

from .lake import LakeProject, lake_project, pipeline, records
from .s3server import S3Server

pytestmark = pytest.mark.postgres

PIPELINES = [
    pipeline("orders", "bronze.orders", "orders", write_disposition="append"),
    pipeline(
        "customers",
        "bronze.customers",
        "customers",
        write_disposition="merge",
        primary_key="id",
        incremental={"cursor_column": "seq"},
    ),
    pipeline(
        "events",
        "bronze.events",
        "events",
        write_disposition="append",
        incremental={"cursor_column": "seq"},
    ),
]


@pytest.fixture
def lake(tmp_path: Path, s3_server: S3Server, s3_bucket: str, postgres_url: str) -> LakeProject:
    return lake_project(
        tmp_path / "project",
        s3=s3_server,
        bucket=s3_bucket,
        catalog_uri=postgres_url,
        pipelines=PIPELINES,
    )


def _latest(rows: list[dict]) -> list[dict]:
    """One row per id, the one with the highest seq (what a merge keeps)."""
    latest: dict[int, dict] = {}
    for row in rows:
        if row["id"] not in latest or row["seq"] >= latest[row["id"]]["seq"]:
            latest[row["id"]] = row
    return [latest[key] for key in sorted(latest)]


def _sorted(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda row: (row["id"], row["seq"], row["name"]))


def test_append_writes_data_and_metadata_to_s3(lake: LakeProject) -> None:
    day1 = records(range(1, 6), seq=1, tag="day1")
    lake.write_rows("orders", day1)
    report = lake.project().validate()
    assert report.ok, report.problems
    assert "catalog 'lake' (sql) answers (0 namespace(s))" in report.checked

    first = lake.run("orders")

    assert first.success, first.error
    assert (first.rows_loaded, first.tables_created) == (5, ["bronze.orders"])
    [table] = first.tables
    assert table.location == f"{lake.warehouse}/bronze/orders"
    assert lake.table_rows("bronze.orders") == _sorted(day1)
    keys = lake.s3.keys(lake.bucket, "warehouse/bronze/orders/")
    assert any(key.startswith("warehouse/bronze/orders/data/") for key in keys)
    assert any(key.endswith(".metadata.json") for key in keys)
    iceberg = lake.catalog().load_table("bronze.orders")
    data_files = [task.file.file_path for task in iceberg.scan().plan_files()]
    assert data_files and all(p.startswith(f"{lake.warehouse}/bronze/orders/") for p in data_files)

    # the next batch of an append source is added, the first one stays
    day2 = records(range(6, 9), seq=2, tag="day2")
    lake.write_rows("orders", day2)
    second = lake.run("orders")
    assert second.success, second.error
    assert (second.rows_loaded, second.tables_created) == (3, [])
    assert lake.table_rows("bronze.orders") == _sorted(day1 + day2)


def test_merge_keeps_the_latest_row_per_key_and_a_rerun_adds_nothing(lake: LakeProject) -> None:
    version1 = records(range(1, 5), seq=1, tag="v1")
    lake.write_rows("customers", version1)
    assert lake.run("customers").rows_loaded == 4

    # ids 3, 4 change, 5, 6 are new; 1, 2 are not in this extract and must stay as they were
    version2 = records(range(3, 7), seq=2, tag="v2")
    lake.write_rows("customers", version1 + version2)
    second = lake.run("customers")
    assert second.success, second.error
    assert second.rows_loaded == 4
    expected = _latest(version1 + version2)
    assert lake.table_rows("bronze.customers") == expected
    snapshots = len(lake.catalog().load_table("bronze.customers").snapshots())

    # exactly-once: the same source again, after a completed load, changes nothing
    rerun = lake.run("customers")
    assert rerun.success, rerun.error
    assert rerun.rows_loaded == 0
    assert lake.table_rows("bronze.customers") == expected
    assert len(lake.catalog().load_table("bronze.customers").snapshots()) == snapshots


def test_incremental_loads_only_new_rows_and_a_rerun_adds_nothing(lake: LakeProject) -> None:
    batch1 = records(range(1, 6), seq=1)
    lake.write_rows("events", batch1)
    assert lake.run("events").rows_loaded == 5

    rerun = lake.run("events")
    assert rerun.success, rerun.error
    assert rerun.rows_loaded == 0
    assert lake.table_rows("bronze.events") == _sorted(batch1)

    batch2 = records(range(6, 9), seq=2)
    lake.write_rows("events", batch1 + batch2)
    more = lake.run("events")
    assert more.rows_loaded == 3
    assert lake.table_rows("bronze.events") == _sorted(batch1 + batch2)


def test_fresh_working_directory_loads_only_new_rows(lake: LakeProject) -> None:
    """A new pod: no ``.floe/state``; dlt's state comes back from the snapshot summaries."""
    events = records(range(1, 6), seq=1)
    customers = records(range(1, 5), seq=1, tag="v1")
    lake.write_rows("events", events)
    lake.write_rows("customers", customers)
    assert [r.rows_loaded for r in lake.project().run(["events", "customers"])] == [5, 4]

    lake.forget_working_directory()
    assert not (lake.root / ".floe" / "state").exists()
    new_events = records(range(6, 9), seq=2)
    changed = records([2, 5], seq=2, tag="v2")
    lake.write_rows("events", events + new_events)
    lake.write_rows("customers", customers + changed)

    completed = lake.cli("run", "events", "customers", "--json")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = {r["pipeline"]: r for r in json.loads(completed.stdout)}
    assert results["events"]["rows_loaded"] == 3
    assert results["customers"]["rows_loaded"] == 2
    assert lake.table_rows("bronze.events") == _sorted(events + new_events)
    assert lake.table_rows("bronze.customers") == _latest(customers + changed)

    # and once more from yet another fresh directory with nothing new: nothing at all
    lake.forget_working_directory()
    again = lake.run("events")
    assert (again.success, again.rows_loaded) == (True, 0)
    assert lake.table_rows("bronze.events") == _sorted(events + new_events)


def test_s3_keys_come_from_secret_references(lake: LakeProject) -> None:
    lake.write_rows("orders", records([1], seq=1))
    del lake.env["LAKE_SECRET_KEY"]

    with pytest.raises(ProjectError) as missing:
        lake.project().run(["orders"])

    assert missing.value.code is ErrorCode.SECRET_MISSING
    assert 'catalog.secret_refs["s3.secret-access-key"]' in str(missing.value)
    assert "LAKE_SECRET_KEY" in str(missing.value)
    assert lake.s3.keys(lake.bucket) == []  # nothing was written


def _with_wrong_secret(
    lake: LakeProject, *, io_impl: str | None = None, max_attempts: int = 3
) -> str:
    wrong = "wrong-secret-value-0123456789"
    lake.env["LAKE_SECRET_KEY"] = wrong
    manifest = lake.root / "platform-manifest.yaml"
    document = yaml.safe_load(manifest.read_text())
    document["plugins"]["ingestion"]["retry"]["max_attempts"] = max_attempts
    if io_impl is not None:
        document["catalog"]["properties"]["py-io-impl"] = io_impl
    manifest.write_text(yaml.safe_dump(document, sort_keys=False))
    lake.write_rows("orders", records([1, 2], seq=1))
    return wrong


def test_wrong_s3_secret_fails_the_run_without_leaking_it(lake: LakeProject) -> None:
    """pyarrow's FileIO (the default): refused keys fail the run, leak nowhere, write nothing.

    pyarrow reports S3's 403 as a bare ``OSError`` ("AWS Error ACCESS_DENIED"), which cannot be
    told from a network failure by type: the run fails as retryable, bounded by the retry policy
    (docs/operations/object-storage.md). One attempt here: dlt already retries the job 5 times.
    """
    wrong = _with_wrong_secret(lake, max_attempts=1)

    result = lake.run("orders")

    assert not result.success
    assert result.error is not None
    assert result.attempts == 1
    assert wrong not in json.dumps(result.to_dict(), default=str)
    assert lake.s3.keys(lake.bucket) == []


def test_refused_s3_credentials_are_auth_failed_with_fsspec_io(lake: LakeProject) -> None:
    """s3fs's FileIO reports S3's 403 as ``PermissionError``: PERMANENT/AUTH_FAILED, no retry."""
    wrong = _with_wrong_secret(lake, io_impl="pyiceberg.io.fsspec.FsspecFileIO")

    result = lake.run("orders")

    assert not result.success
    assert result.error is not None
    assert (result.error.category, result.error.code) == (
        ErrorCategory.PERMANENT,
        ErrorCode.AUTH_FAILED,
    )
    assert result.attempts == 1
    assert wrong not in json.dumps(result.to_dict(), default=str)
    assert lake.s3.keys(lake.bucket) == []
