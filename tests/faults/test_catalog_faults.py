"""Catalog and storage faults: PostgreSQL restarted or down, object storage answering 503.

The PostgreSQL catalog is a private cluster (``private_postgres``: initdb in a temporary
folder, its own port), so restarting and stopping it disturbs no other test. Object storage is
a moto S3 server behind :class:`~faults.support.S3FaultProxy`, which answers ``503 SlowDown``
on demand. Every run goes through the project's runner and the real dlt plugin; tables are then
compared with the source row by row.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from observability.support import write_project

from faults.floe_runs import catalog_of, run_pipeline
from faults.support import FaultRecord, PrivatePostgres, S3FaultProxy, compare_rows, table_rows

pytestmark = pytest.mark.slow

GROUP = "catalog"
Fault = Callable[[str, str], FaultRecord]

SOURCE = '''
import subprocess
from pathlib import Path


def rows(first: int, last: int, action: list | None = None, marker: str = ""):
    """Rows first..last; halfway through, runs ``action`` once (while ``marker`` is absent)."""
    half = (first + last) // 2
    for i in range(first, last + 1):
        if i == half and action and not Path(marker).exists():
            Path(marker).write_text("done")
            subprocess.run(action, check=True, capture_output=True, stdin=subprocess.DEVNULL,
                           timeout=120)
        yield {"id": i, "name": f"row {i}", "updated": i * 10}
'''

MODES = {  # the pipeline keys of each write mode
    "append": ["write_disposition: append"],
    "append+cursor": ["write_disposition: append", "incremental: {cursor_column: id}"],
    "merge": ["write_disposition: merge", "primary_key: id"],
}


def expected(first: int, last: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"row {i}", "updated": i * 10} for i in range(first, last + 1)]


def project_on(
    root: Path,
    catalog: str,
    table: str,
    mode: str,
    args: dict[str, Any],
    retry: str = "{max_attempts: 4, initial_delay_seconds: 0.2, max_delay_seconds: 1}",
) -> Path:
    return write_project(
        root,
        f"""
        ingestion:
          - name: loader
            destination: {table}
            {(chr(10) + " " * 12).join(MODES[mode])}
            dlt: {{source: fault_source.rows, args: {json.dumps(args)}}}
        """,
        f"""
        plugins:
          ingestion:
            retry: {retry}
        catalog:
        {catalog}
        """,
        {"fault_source": SOURCE},
    )


def record_table(
    record: FaultRecord, project: Path, table: str, want: list[dict[str, Any]], ok: bool
) -> None:
    diff = compare_rows(want, table_rows(catalog_of(project), table), lambda r: r["id"])
    record.rows_lost, record.rows_duplicated = diff.lost, diff.duplicated
    record.survived = ok and diff.exact
    assert ok
    assert diff.exact, diff.examples


def _pg_catalog(cluster: PrivatePostgres, warehouse: Path) -> str:
    return f"""
          type: sql
          uri: "{cluster.url}"
          warehouse: "{warehouse}"
        """


@pytest.mark.parametrize("mode", list(MODES))
def test_postgres_restarted_during_a_run(
    tmp_path: Path, private_postgres: PrivatePostgres, fault: Fault, mode: str
) -> None:
    record = fault(GROUP, f"PostgreSQL catalog restarted mid-extract ({mode})")
    table = f"bronze.restarted_{mode.replace('+', '_')}"
    args = {
        "first": 1,
        "last": 40,
        "action": private_postgres.ctl_command("-m", "fast", "restart"),
        "marker": str(tmp_path / "restarted"),
    }
    project = project_on(
        tmp_path / "project", _pg_catalog(private_postgres, tmp_path / "wh"), table, mode, args
    )
    outcome = run_pipeline(project, "loader")
    result = outcome.result
    record.note = f"{result.attempts} attempts, errors {dict(outcome.errors)}"
    assert (tmp_path / "restarted").exists()  # the restart happened during the run
    record_table(record, project, table, expected(1, 40), result.success)
    assert result.rows_loaded == 40, "rows_loaded counts rows the failed attempt had extracted"


def test_postgres_down_when_the_run_starts(
    tmp_path: Path, private_postgres: PrivatePostgres, fault: Fault
) -> None:
    record = fault(GROUP, "PostgreSQL catalog down for 3 s when the run starts")
    table = "bronze.down_at_start"
    retry = "{max_attempts: 10, initial_delay_seconds: 0.5, max_delay_seconds: 1}"
    project = project_on(
        tmp_path / "project",
        _pg_catalog(private_postgres, tmp_path / "wh"),
        table,
        "append+cursor",
        {"first": 1, "last": 30},
        retry,
    )
    private_postgres.stop()
    starter = threading.Timer(3.0, private_postgres.start)
    starter.start()
    try:
        outcome = run_pipeline(project, "loader")
    finally:
        starter.join()
    record.note = f"{outcome.result.attempts} attempts, errors {dict(outcome.errors)}"
    record_table(record, project, table, expected(1, 30), outcome.result.success)
    assert outcome.result.attempts >= 2
    assert set(outcome.errors) <= {
        ("TRANSIENT", "CATALOG_UNAVAILABLE"),
        ("TRANSIENT", "NETWORK_ERROR"),
    }


# -- object storage -----------------------------------------------------------------------------


@pytest.fixture
def s3_proxy(s3_endpoint: str) -> Iterator[S3FaultProxy]:
    proxy = S3FaultProxy(s3_endpoint)
    try:
        yield proxy
    finally:
        proxy.stop()


def _s3_catalog(postgres_url: str, bucket: str, endpoint: str) -> str:
    return f"""
          type: sql
          uri: "{postgres_url}"
          warehouse: "s3://{bucket}/warehouse"
          properties:
            s3.endpoint: "{endpoint}"
            s3.region: us-east-1
          secret_refs:
            s3.access-key-id: fault-s3-key-id
            s3.secret-access-key: fault-s3-secret
        """


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("storm", "mode"),
    [(2, "append+cursor"), (15, "append+cursor"), (15, "append")],
    ids=["burst-absorbed-by-s3-client", "storm-append-cursor", "storm-append"],
)
def test_object_storage_answering_503(
    tmp_path: Path,
    postgres_url: str,
    s3_endpoint: str,
    s3_proxy: S3FaultProxy,
    fault: Fault,
    monkeypatch: pytest.MonkeyPatch,
    storm: int,
    mode: str,
) -> None:
    import boto3

    record = fault(GROUP, f"object storage answers 503 SlowDown to {storm} writes ({mode})")
    monkeypatch.setenv("FAULT_S3_KEY_ID", "testing")
    monkeypatch.setenv("FAULT_S3_SECRET", "testing")
    monkeypatch.setenv("LOAD__RAISE_ON_MAX_RETRIES", "1")
    bucket = f"lake-{uuid.uuid4().hex[:8]}"
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    table = "bronze.stored"
    project = project_on(
        tmp_path / "project",
        _s3_catalog(postgres_url, bucket, s3_proxy.url),
        table,
        mode,
        {"first": 1, "last": 30},
        "{max_attempts: 8, initial_delay_seconds: 0.2, max_delay_seconds: 1}",
    )
    s3_proxy.fail(times=storm)
    started = time.monotonic()
    outcome = run_pipeline(project, "loader")
    record.note = (
        f"{s3_proxy.failed} x 503, {outcome.result.attempts} attempts, "
        f"{time.monotonic() - started:.1f} s, errors {dict(outcome.errors)}"
    )
    record_table(record, project, table, expected(1, 30), outcome.result.success)
    assert s3_proxy.failed == storm


@pytest.mark.parametrize("mode", list(MODES))
def test_a_table_write_failing_once_is_retried_without_duplicates(
    tmp_path: Path, fault: Fault, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The smallest form of the catalog and storage faults: the warehouse refuses the table's
    first write (a file where its data folder goes), the runner retries, the write succeeds."""
    import pyarrow as pa

    record = fault(GROUP, f"warehouse refuses the first write of the table ({mode})")
    monkeypatch.setenv("LOAD__RAISE_ON_MAX_RETRIES", "1")
    table = "bronze.refused_once"
    local = f"""
          type: sql
          warehouse: "{tmp_path / "wh"}"
        """
    project = project_on(tmp_path / "project", local, table, mode, {"first": 1, "last": 25})
    catalog = catalog_of(project)
    catalog.create_namespace("bronze")
    created = catalog.create_table(table, pa.schema([("id", pa.int64())]))
    blocked = Path(created.location().removeprefix("file://")) / "data"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("a file where the data folder goes: the write fails")

    outcome = run_pipeline(project, "loader", sleep=lambda seconds: blocked.unlink())
    record.note = f"{outcome.result.attempts} attempts, errors {dict(outcome.errors)}"
    record_table(record, project, table, expected(1, 25), outcome.result.success)
    assert outcome.result.attempts == 2
    assert outcome.result.rows_loaded == 25, "rows_loaded counts rows the failed attempt extracted"
