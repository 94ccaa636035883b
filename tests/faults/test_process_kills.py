"""Process kills: ``floe run`` SIGKILLed across a dlt load, then rerun as a new pod would.

The lab: a PostgreSQL ``SqlCatalog`` (a database of the shared test server) and an S3
warehouse (a moto server on 127.0.0.1), and a source file with three tables behind three
pipelines, one per way of writing:

* ``k_events``: append-only events, ``append`` with an incremental cursor (``seq``);
* ``k_customers``: ``merge`` on ``id``, the whole table extracted every run;
* ``k_orders``: ``merge`` on ``id`` with an incremental cursor (``updated_at``).

Round 0 is loaded normally. Then, case after case, the source changes (new events, updated and
new customers and orders), ``floe run`` runs the three pipelines in a subprocess that is
SIGKILLed at one point (``FLOE_TEST_KILL_AT`` of the destination, or inside the source after N
rows), and the pipelines are run again in a *fresh* working directory: only ``floe.yaml``, the
manifest and the source module, no dlt state, as a new pod would start. Every table must then
equal the source row by row: nothing lost, nothing duplicated.
"""

from __future__ import annotations

import json
import shutil
import signal
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from observability.support import floe_env, run_floe, write_project

from faults.support import FaultRecord, compare_rows, table_rows
from floe_core.catalog import load_catalog
from floe_core.project import Project

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

GROUP = "kill"
PIPELINES = {  # pipeline -> (table, key column)
    "k_events": ("bronze.k_events", "seq"),
    "k_customers": ("bronze.k_customers", "id"),
    "k_orders": ("bronze.k_orders", "id"),
}
SOURCE_TABLE = {"k_events": "events", "k_customers": "customers", "k_orders": "orders"}

SOURCE = '''
import json
import os
import signal
from pathlib import Path


def table(path: str, name: str):
    """The rows of table ``name`` of the source file; FLOE_FAULT_KILL_IN_SOURCE=<name>:<n>
    SIGKILLs this process when the n-th row is about to be yielded."""
    kill_at = os.environ.get("FLOE_FAULT_KILL_IN_SOURCE", "")
    for count, row in enumerate(json.loads(Path(path).read_text())[name], start=1):
        if kill_at == f"{name}:{count}":
            os.kill(os.getpid(), signal.SIGKILL)
        yield row
'''


def floe_yaml(source_file: Path) -> str:
    path = json.dumps(str(source_file))
    return f"""
    ingestion:
      - name: k_events
        destination: bronze.k_events
        write_disposition: append
        incremental: {{cursor_column: seq}}
        dlt: {{source: kill_source.table, args: {{path: {path}, name: events}}}}
      - name: k_customers
        destination: bronze.k_customers
        write_disposition: merge
        primary_key: id
        dlt: {{source: kill_source.table, args: {{path: {path}, name: customers}}}}
      - name: k_orders
        destination: bronze.k_orders
        write_disposition: merge
        primary_key: id
        incremental: {{cursor_column: updated_at}}
        dlt: {{source: kill_source.table, args: {{path: {path}, name: orders}}}}
    """


def manifest(catalog_uri: str, bucket: str, endpoint: str, secrets: Path) -> str:
    return f"""
    plugins:
      ingestion:
        retry: {{max_attempts: 2, initial_delay_seconds: 0.2}}
    catalog:
      type: sql
      uri: "{catalog_uri}"
      warehouse: "s3://{bucket}/warehouse"
      properties:
        s3.endpoint: "{endpoint}"
        s3.region: us-east-1
      secret_refs:
        s3.access-key-id: kill-s3-key-id
        s3.secret-access-key: kill-s3-secret
    secrets:
      directory: "{secrets}"
    """


def change(data: dict[str, list[dict[str, Any]]], round_: int) -> None:
    """Round ``round_`` of the source: 25 new events, 4 customers changed and 6 added, 5
    orders changed (their cursor moves) and 8 added."""
    events, customers, orders = data["events"], data["customers"], data["orders"]
    first = len(events) + 1
    events.extend(
        {"seq": seq, "kind": ["view", "click", "buy"][seq % 3], "round": round_}
        for seq in range(first, first + 25)
    )
    for customer in customers[round_ % 3 :: 5][:4]:
        customer.update(tier=f"tier-{round_}", version=customer["version"] + 1)
    start = len(customers) + 1
    customers.extend(
        {"id": i, "name": f"customer {i}", "tier": "new", "version": 1}
        for i in range(start, start + 6)
    )
    clock = 1000 * (round_ + 1)
    for offset, order in enumerate(orders[round_ % 4 :: 3][:5]):
        order.update(status=f"status-{round_}", updated_at=clock + offset)
    start = len(orders) + 1
    orders.extend(
        {"id": i, "status": "placed", "amount": i * 7, "updated_at": clock + 10 + i}
        for i in range(start, start + 8)
    )


@dataclass
class KillLab:
    """The shared catalog, warehouse and source, and the pods run so far."""

    root: Path
    catalog_uri: str
    bucket: str
    endpoint: str
    source_file: Path
    data: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"events": [], "customers": [], "orders": []}
    )
    pods: int = 0

    def new_pod(self) -> Path:
        """A fresh working directory with only the project files (no dlt state)."""
        self.pods += 1
        return write_project(
            self.root / f"pod-{self.pods}",
            floe_yaml(self.source_file),
            manifest(self.catalog_uri, self.bucket, self.endpoint, self.root / "secrets"),
            {"kill_source": SOURCE},
        )

    def next_round(self, round_: int) -> None:
        change(self.data, round_)
        self.source_file.write_text(json.dumps(self.data), encoding="utf-8")

    def run_in_process(self, pod: Path) -> list[Any]:
        return Project.load(pod).run()

    def differences(self, pod: Path) -> dict[str, Any]:
        project = Project.load(pod)
        catalog = load_catalog(project.catalog_config, project_dir=pod, secrets=project.secrets)
        found = {}
        for pipeline, (table, key) in PIPELINES.items():
            source_rows = self.data[SOURCE_TABLE[pipeline]]
            found[pipeline] = compare_rows(
                source_rows, table_rows(catalog, table), lambda row, k=key: row[k]
            )
        return found


@pytest.fixture(scope="module")
def kill_lab(
    tmp_path_factory: pytest.TempPathFactory, postgres_server_url: str, s3_endpoint: str
) -> Iterator[KillLab]:
    import boto3
    import sqlalchemy

    root = tmp_path_factory.mktemp("kill-lab")
    secrets = root / "secrets"
    secrets.mkdir()
    (secrets / "kill-s3-key-id").write_text("testing")
    (secrets / "kill-s3-secret").write_text("testing")
    bucket = f"kill-{uuid.uuid4().hex[:8]}"
    boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    ).create_bucket(Bucket=bucket)
    database = f"floe_kill_{uuid.uuid4().hex[:10]}"
    admin = sqlalchemy.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{database}"'))
    lab = KillLab(
        root,
        postgres_server_url.rsplit("/", 1)[0] + f"/{database}",
        bucket,
        s3_endpoint,
        root / "source.json",
    )
    try:
        lab.next_round(0)
        results = lab.run_in_process(lab.new_pod())
        assert all(result.success for result in results), [r.error for r in results]
        assert all(diff.exact for diff in lab.differences(root / "pod-1").values())
        yield lab
    finally:
        with admin.connect() as connection:
            connection.execute(
                sqlalchemy.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            )
        admin.dispose()


# (kill point, pipelines in the order `floe run` is given them): spread across extraction,
# normalisation, each table's commit and dlt's own bookkeeping, over the three pipelines.
KILLS = [
    ("source:orders:7", ("k_orders", "k_events", "k_customers")),
    ("after_extract", ("k_events", "k_customers", "k_orders")),
    ("before_commit:k_customers", ("k_events", "k_customers", "k_orders")),
    ("after_commit:k_events", ("k_events", "k_customers", "k_orders")),
    ("after_commit:k_orders", ("k_customers", "k_orders", "k_events")),
    ("after_commit:k_customers", ("k_orders", "k_customers", "k_events")),
    ("before_complete", ("k_orders", "k_events", "k_customers")),
]


@pytest.mark.parametrize(("point", "order"), KILLS, ids=[point for point, _ in KILLS])
def test_killed_run_is_completed_exactly_once_by_a_fresh_pod(
    kill_lab: KillLab,
    point: str,
    order: tuple[str, ...],
    fault: Callable[[str, str], FaultRecord],
) -> None:
    round_ = KILLS.index((point, order)) + 1
    victim = next(
        (name for name in order if name in point or SOURCE_TABLE[name] in point), order[0]
    )
    record = fault(GROUP, f"SIGKILL at {point} ({victim}), fresh pod reruns (S3 + PostgreSQL)")
    kill_lab.next_round(round_)
    extra = (
        {"FLOE_FAULT_KILL_IN_SOURCE": point.removeprefix("source:")}
        if point.startswith("source:")
        else {"FLOE_TEST_KILL_AT": point}
    )
    killed = run_floe(
        kill_lab.new_pod(), *order, env=floe_env(extra, home=kill_lab.root / "home"), timeout=600
    )
    assert killed.returncode == -signal.SIGKILL, killed.describe()

    rerun_pod = kill_lab.new_pod()
    results = kill_lab.run_in_process(rerun_pod)
    differences = kill_lab.differences(rerun_pod)
    record.rows_lost = sum(diff.lost for diff in differences.values())
    record.rows_duplicated = sum(diff.duplicated for diff in differences.values())
    record.survived = all(r.success for r in results) and all(
        diff.exact for diff in differences.values()
    )
    record.note = f"round {round_}, killed after {killed.wall_seconds:.0f} s"
    assert all(result.success for result in results), [r.error for r in results]
    for pipeline, diff in differences.items():
        assert diff.exact, (pipeline, diff.examples)
    shutil.rmtree(rerun_pod / ".floe", ignore_errors=True)  # keep the tmp folder small
