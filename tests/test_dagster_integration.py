"""A floe project as Dagster assets, end to end (issue 6).

* every ``examples/*/definitions.py`` loads (imported, and through ``dagster definitions
  validate`` for the quickstart) and writes nothing;
* the quickstart's assets are one per Iceberg table, with floe's key, group, kinds,
  description and owners;
* materialising them in process (twice: the second day loads only new rows) and with the
  multiprocess executor (each step in its own process) writes the rows of the shop's SQLite
  database and event files, emits START/COMPLETE per pipeline with the Dagster run as parent,
  pushes metrics to a real Pushgateway and reports schema, row count and snapshot id;
* each error category of a failing source ends the step the documented way
  (:mod:`floe_core.dagster.outcome`), with the structured error in the failure metadata.

The failing source is ``FlakyPlugin`` (``tests/dagster_fixtures``), installed for the test as
a distribution that publishes it under ``floe.ingestion``, so definitions and the ``floe``
resource find it exactly as they find an installed plugin.
"""

from __future__ import annotations

import importlib.util
import json
import os
import runpy
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import pytest
import yaml

from floe_core.dagster import asset_key_for, build_definitions, dagster_failure_for
from floe_core.errors import ErrorCategory, ErrorCode, IngestionError
from floe_core.project import Project, ProjectError
from floe_core.pushgateway import GatewayFamily, PushgatewayClient
from floe_core.result import IngestionResult, TableOutput
from floe_core.retry import RetryPolicy

ROOT = Path(__file__).resolve().parents[1]
QUICKSTART = ROOT / "examples" / "quickstart"
EXAMPLES = sorted(ROOT.glob("examples/*/definitions.py"))
FIXTURES_DIR = Path(__file__).resolve().parent / "dagster_fixtures"
PIPELINES = ("customers", "orders", "web_events")
DAGSTER = Path(sys.executable).parent / "dagster"


# -- the quickstart project, in a temporary folder ------------------------------------------


def copy_example(example: Path, target: Path) -> Path:
    """A copy of an example project without its generated data and state."""
    ignored = shutil.ignore_patterns(".floe", "data", "__pycache__", ".tmp_dagster_home*")
    shutil.copytree(example, target, ignore=ignored)
    return target


def files_under(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def _load_shop_data() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "quickstart_shop_data", QUICKSTART / "shop_data.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shop_data = _load_shop_data()


def quickstart(target: Path, pushgateway_url: str, metrics_job: str) -> Path:
    """The quickstart, its manifest pushing metrics to the test Pushgateway as ``metrics_job``."""
    project = copy_example(QUICKSTART, target)
    manifest_path = project / "platform-manifest.yaml"
    manifest = yaml.safe_load(manifest_path.read_text())
    manifest["observability"]["metrics"] = {"pushgateway_url": pushgateway_url, "job": metrics_job}
    manifest_path.write_text(yaml.safe_dump(manifest, sort_keys=False))
    return project


def next_day(project: Path) -> int:
    """One more day of shop data, and the database URL as a mounted secret (as demo.py does)."""
    day = shop_data.advance(project / "data")
    secrets = project / ".floe" / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "shop-db-url").write_text(f"sqlite:///{project / 'data' / 'shop.db'}\n")
    return day


def changed_customers(project: Path, day: int) -> int:
    """Customers created or updated on ``day`` (what an incremental merge loads that day)."""
    start = shop_data.START + timedelta(days=day - 1)
    with sqlite3.connect(project / "data" / "shop.db") as db:
        query = "SELECT COUNT(*) FROM customers WHERE updated_at >= ?"
        return int(db.execute(query, (start.strftime("%Y-%m-%d %H:%M:%S"),)).fetchone()[0])


def iceberg_rows(project: Path, table: str) -> list[dict[str, Any]]:
    catalog = Project.load(project).context().catalog
    return catalog.load_table(table).scan().to_arrow().to_pylist()


def source_rows(project: Path, table: str) -> list[dict[str, Any]]:
    with sqlite3.connect(project / "data" / "shop.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute(f"SELECT * FROM {table} ORDER BY id")]


def _as_source(value: Any) -> Any:
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else value


def assert_tables_equal_the_source(project: Path) -> None:
    """Every Iceberg table holds exactly the source's rows (merge: one row per customer)."""
    for table in ("customers", "orders"):
        expected = source_rows(project, table)
        loaded = sorted(iceberg_rows(project, f"bronze.{table}"), key=lambda row: row["id"])
        assert [row["id"] for row in loaded] == [row["id"] for row in expected], table
        for got, want in zip(loaded, expected, strict=True):
            assert {key: _as_source(got[key]) for key in want} == want, table
    events = [
        json.loads(line)["event_id"]
        for path in sorted((project / "data" / "events").glob("*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    loaded_events = [row["event_id"] for row in iceberg_rows(project, "bronze.web_events")]
    assert sorted(loaded_events) == sorted(events)  # no duplicate, no gap


def checked_materialisations(project: Path, result: Any) -> dict[str, int]:
    """Rows loaded per table; each materialisation's metadata matches the Iceberg table."""
    catalog = Project.load(project).context().catalog
    loaded: dict[str, int] = {}
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        identifier = ".".join(event.asset_key.path)
        table = catalog.load_table(identifier)
        snapshot = table.current_snapshot()
        assert metadata["floe/snapshot_id"].value == str(snapshot.snapshot_id)
        assert metadata["dagster/row_count"].value == len(table.scan().to_arrow())
        schema = metadata["dagster/column_schema"].value
        assert [(c.name, c.type) for c in schema.columns] == [
            (f.name, str(f.field_type)) for f in table.schema().fields
        ]
        assert metadata["floe/location"].value == table.location()
        assert metadata["floe/attempts"].value == 1
        loaded[identifier] = metadata["floe/rows_loaded"].value
    return loaded


# -- lineage and metrics ---------------------------------------------------------------------


def lineage_events(project: Path) -> list[dict[str, Any]]:
    path = project / ".floe" / "lineage" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def runs_of(events: list[dict[str, Any]], dagster_run_id: str) -> dict[str, list[dict[str, Any]]]:
    """The events whose parent is ``dagster_run_id``, by job name, in time order."""
    by_job: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in sorted(events, key=lambda e: e["eventTime"]):
        parent = event["run"]["facets"].get("parent")
        if parent and parent["run"]["runId"] == dagster_run_id:
            by_job[event["job"]["name"]].append(event)
    return by_job


def assert_quickstart_lineage(
    project: Path, dagster_run_id: str, dagster_job: str, loaded: dict[str, int]
) -> None:
    """One START and one COMPLETE per pipeline, parented by the Dagster run."""
    by_job = runs_of(lineage_events(project), dagster_run_id)
    assert set(by_job) == {f"ingestion.{name}" for name in PIPELINES}
    for job_name, events in by_job.items():
        assert [event["eventType"] for event in events] == ["START", "COMPLETE"], job_name
        assert len({event["run"]["runId"] for event in events}) == 1
        for event in events:
            assert event["job"]["namespace"] == "quickstart"
            parent = event["run"]["facets"]["parent"]
            assert parent["job"]["namespace"] == "dagster"
            assert parent["job"]["name"] == dagster_job
        (output,) = events[-1]["outputs"]
        (table,) = output["facets"]["symlinks"]["identifiers"]
        assert output["outputFacets"]["outputStatistics"]["rowCount"] == loaded[table["name"]]


def gateway_value(families: dict[str, GatewayFamily], name: str, **labels: str) -> float:
    (series,) = [
        s
        for s in families[name].series
        if all(s.labels.get(key) == value for key, value in labels.items())
    ]
    return series.count if series.value is None else series.value  # type: ignore[return-value]


def assert_quickstart_metrics(
    pushgateway_url: str, job: str, runs: int, loaded: dict[str, int], since: float
) -> None:
    """The gateway's group of each pipeline counts ``runs`` successful runs and their rows."""
    client = PushgatewayClient(pushgateway_url)
    for pipeline in PIPELINES:
        families = client.read_group(job, {"pipeline": pipeline}, timeout=5)
        assert families, f"no metrics pushed for {pipeline}"
        ok = {"source": pipeline}
        assert gateway_value(families, "floe_ingestion_runs_total", **ok, status="success") == runs
        assert gateway_value(families, "floe_ingestion_runs_total", **ok, status="failure") == 0
        assert (
            gateway_value(families, "floe_ingestion_rows_loaded_total", **ok)
            == loaded[f"bronze.{pipeline}"]
        )
        assert gateway_value(families, "floe_ingestion_run_duration_seconds", **ok) == runs
        last_success = gateway_value(
            families, "floe_ingestion_last_success_timestamp_seconds", **ok
        )
        assert since <= last_success <= time.time()


@pytest.fixture
def metrics_job(pushgateway_url: str) -> Iterator[str]:
    """A Pushgateway job of this test alone; its groups are deleted afterwards."""
    job = f"floe_test_dagster_{uuid.uuid4().hex[:10]}"
    yield job
    client = PushgatewayClient(pushgateway_url)
    for pipeline in PIPELINES:
        client.delete_group(job, {"pipeline": pipeline}, timeout=5)


# -- definitions -----------------------------------------------------------------------------


def test_every_example_with_definitions_is_found() -> None:
    assert QUICKSTART / "definitions.py" in EXAMPLES


@contextmanager
def services_for(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """What an example needs to load: the Airbyte example reads its connection from Airbyte.

    Its manifest names floe's Airbyte API emulator on port 8006 (its README starts one); here
    an emulator on a free port stands in, with the application's secret in the environment.
    """
    if project.name != "airbyte":
        yield
        return
    from floe_ingestion_airbyte.testing import AirbyteEmulator

    with AirbyteEmulator() as airbyte:
        manifest = project / "platform-manifest.yaml"
        manifest.write_text(manifest.read_text().replace("http://127.0.0.1:8006", airbyte.url))
        monkeypatch.setenv("AIRBYTE_CLIENT_SECRET", "emulator-client-secret")
        yield


@pytest.mark.parametrize("definitions_file", EXAMPLES, ids=lambda path: path.parent.name)
def test_example_definitions_load_by_import_and_write_nothing(
    definitions_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_example(definitions_file.parent, tmp_path / definitions_file.parent.name)
    with services_for(project, monkeypatch):
        before = files_under(project)
        definitions = runpy.run_path(str(project / "definitions.py"))["defs"]
        dg.Definitions.validate_loadable(definitions)
        assert files_under(project) == before, "loading definitions must not write anything"

    assert isinstance(definitions, dg.Definitions)
    ops = {asset.op.name for asset in definitions.assets or []}
    assert ops == {f"ingest_{config.name}" for config in Project.load(project).pipelines}
    keys = {spec.key for asset in definitions.assets or [] for spec in asset.specs}
    for config in Project.load(project).pipelines:  # the destination is one of the assets
        assert asset_key_for(config.destination_table) in keys


@pytest.mark.slow
def test_dagster_definitions_validate_accepts_the_quickstart(tmp_path: Path) -> None:
    project = copy_example(QUICKSTART, tmp_path / "quickstart")
    completed = subprocess.run(
        [str(DAGSTER), "definitions", "validate", "-f", "definitions.py"],
        cwd=project, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "Validation successful for code location definitions.py" in output


def test_a_broken_project_fails_loading_naming_the_file_and_key(tmp_path: Path) -> None:
    project = copy_example(QUICKSTART, tmp_path / "quickstart")
    floe_yaml = project / "floe.yaml"
    lines = floe_yaml.read_text().splitlines()
    line = lines.index("      write_disposition: merge") + 1
    lines[line - 1] = "      write_disposition: upsert"
    floe_yaml.write_text("\n".join(lines) + "\n")
    with pytest.raises(ProjectError) as raised:
        build_definitions(project / "definitions.py")
    assert f"floe.yaml:{line}: ingestion[0].dlt.write_disposition" in str(raised.value)
    assert "upsert" in str(raised.value)


def test_quickstart_assets_are_one_per_iceberg_table_with_floe_yaml_metadata(
    tmp_path: Path,
) -> None:
    project = copy_example(QUICKSTART, tmp_path / "quickstart")
    definitions = build_definitions(project)
    specs = {spec.key: spec for asset in definitions.assets or [] for spec in asset.specs}
    configs = Project.load(project).pipelines

    assert set(specs) == {dg.AssetKey(["bronze", name]) for name in PIPELINES}
    for config in configs:
        spec = specs[asset_key_for(config.destination_table)]
        assert spec.key.path == config.destination_table.split(".")  # bronze/customers
        assert spec.group_name == "ingestion"
        assert spec.kinds == {"dlt", "iceberg"}
        assert spec.description == config.description
        assert list(spec.owners) == config.owners
        assert spec.metadata["dagster/table_name"] == config.destination_table
        assert spec.metadata["floe/pipeline"] == config.name
        assert spec.metadata["floe/write_disposition"] == config.write_disposition.value
    assert not (project / ".floe").exists()


# -- materialising the quickstart --------------------------------------------------------------


def test_quickstart_materialised_in_process_twice(
    tmp_path: Path, pushgateway_url: str, metrics_job: str
) -> None:
    """Day 1 loads everything; day 2, same definitions, same process, loads only new rows."""
    started = time.time()
    project = quickstart(tmp_path / "quickstart", pushgateway_url, metrics_job)
    definitions = build_definitions(project)
    assets, resources = list(definitions.assets or []), definitions.resources

    loaded: list[dict[str, int]] = []
    for day in (1, 2):
        assert next_day(project) == day
        result = dg.materialize(assets, resources=resources)
        assert result.success
        loaded.append(checked_materialisations(project, result))
        assert_tables_equal_the_source(project)
        assert_quickstart_lineage(project, result.run_id, result.dagster_run.job_name, loaded[-1])

    expected_day = {
        "bronze.orders": shop_data.ORDERS_PER_DAY,
        "bronze.web_events": shop_data.EVENTS_PER_DAY,
    }
    assert loaded[0] == {**expected_day, "bronze.customers": shop_data.CUSTOMERS_DAY_ONE}
    assert loaded[1] == {**expected_day, "bronze.customers": changed_customers(project, 2)}
    assert loaded[1]["bronze.customers"] < shop_data.CUSTOMERS_DAY_ONE
    totals = {table: loaded[0][table] + loaded[1][table] for table in loaded[0]}
    assert_quickstart_metrics(pushgateway_url, metrics_job, 2, totals, started)


@pytest.mark.slow
def test_quickstart_materialised_with_the_multiprocess_executor(
    tmp_path: Path, pushgateway_url: str, metrics_job: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each step in its own process, as in a Kubernetes job per run: nothing in memory."""
    started = time.time()
    project = quickstart(tmp_path / "quickstart", pushgateway_url, metrics_job)
    next_day(project)
    # Step processes import the job's module afresh, with this sys.path minus its first entry
    # (dagster drops sys.path[0], the script's folder): put the fixtures second.
    monkeypatch.setattr(sys, "path", [sys.path[0], str(FIXTURES_DIR), *sys.path[1:]])
    from floe_dagster_fixtures.jobs import PROJECT_ENV, project_asset_job

    monkeypatch.setenv(PROJECT_ENV, str(project))
    run_config = {"execution": {"config": {"multiprocess": {"max_concurrent": 3}}}}
    with (
        dg.instance_for_test() as instance,
        dg.execute_job(
            dg.reconstructable(project_asset_job), instance=instance, run_config=run_config
        ) as result,
    ):
        assert result.success
        step_pids = {
            event.step_key: event.pid
            for event in result.all_events
            if event.event_type_value == "STEP_START"
        }
        loaded = checked_materialisations(project, result)
        run_id, job_name = result.run_id, result.dagster_run.job_name

    assert set(step_pids) == {f"ingest_{name}" for name in PIPELINES}
    assert len(set(step_pids.values())) == len(PIPELINES)
    assert os.getpid() not in step_pids.values()
    assert loaded == {
        "bronze.customers": shop_data.CUSTOMERS_DAY_ONE,
        "bronze.orders": shop_data.ORDERS_PER_DAY,
        "bronze.web_events": shop_data.EVENTS_PER_DAY,
    }
    assert_tables_equal_the_source(project)
    assert_quickstart_lineage(project, run_id, job_name, loaded)
    assert_quickstart_metrics(pushgateway_url, metrics_job, 1, loaded, started)


# -- failures: each error category's Dagster outcome ---------------------------------------------


@pytest.fixture
def flaky_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Installs ``FlakyPlugin`` as the ``flaky`` entry point of floe.ingestion for this test."""
    dist_info = tmp_path / "site" / "floe_dagster_fixtures-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: floe-dagster-fixtures\nVersion: 0.1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[floe.ingestion]\nflaky = floe_dagster_fixtures.plugin:FlakyPlugin\n"
    )
    monkeypatch.syspath_prepend(str(FIXTURES_DIR))
    monkeypatch.syspath_prepend(str(dist_info.parent))


def flaky_project(root: Path, options: dict[str, Any], *, max_delay_seconds: float = 0) -> Path:
    """One ``flaky`` pipeline ``orders``; retry: 2 attempts, no wait beyond the cap given."""
    floe_yaml = {
        "ingestion": [
            {
                "name": "orders",
                "type": "flaky",
                "destination": "bronze.orders",
                "description": "Orders from a source that fails on purpose.",
                "owners": ["team:ingest"],
                "flaky": {"source": "orders", **options},
            }
        ]
    }
    manifest = {
        "plugins": {
            "ingestion": {
                "type": "flaky",
                "retry": {
                    "max_attempts": 2,
                    "initial_delay_seconds": 0,
                    "max_delay_seconds": max_delay_seconds,
                },
            }
        },
        "observability": {
            "lineage": {
                "namespace": "flaky",
                "transport": {
                    "type": "file",
                    "log_file_path": ".floe/lineage/events.jsonl",
                    "append": True,
                },
            }
        },
    }
    root.mkdir(parents=True)
    (root / "floe.yaml").write_text(yaml.safe_dump(floe_yaml, sort_keys=False))
    (root / "platform-manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    return root


def attempts_made(project: Path) -> int:
    from floe_dagster_fixtures.plugin import attempts_made as made

    return made(project / ".floe" / "state", "orders")


def events_of(result: Any, event_type: str) -> list[Any]:
    return [event for event in result.all_events if event.event_type_value == event_type]


def table_exists(project: Path, identifier: str) -> bool:
    return bool(Project.load(project).context().catalog.table_exists(identifier))


def materialize(project: Path, *, op_retries: int = 0) -> Any:
    """Materialise every asset of the project in process (no exception on failure).

    ``op_retries`` gives the job a Dagster RetryPolicy too, to show what it does not retry.
    """
    definitions = build_definitions(project)
    job = dg.define_asset_job(
        "ingest", op_retry_policy=dg.RetryPolicy(max_retries=op_retries) if op_retries else None
    )
    with_job = dg.Definitions(
        assets=definitions.assets, resources=definitions.resources, jobs=[job]
    )
    return with_job.resolve_job_def("ingest").execute_in_process(raise_on_error=False)


def failure_metadata(result: Any) -> dict[str, Any]:
    (failure,) = events_of(result, "STEP_FAILURE")
    data = failure.step_failure_data.user_failure_data
    assert data is not None, failure.step_failure_data.error
    return {key: value.value for key, value in data.metadata.items()}


def test_transient_error_is_retried_by_dagster_then_fails_with_the_error(
    tmp_path: Path, flaky_plugin: None
) -> None:
    project = flaky_project(tmp_path / "project", {"fail": "transient"})
    result = materialize(project)

    assert not result.success
    retries = events_of(result, "STEP_UP_FOR_RETRY")
    assert len(retries) == 2  # RetryRequested(max_retries = the policy's max_attempts)
    assert [event.event_specific_data.seconds_to_wait for event in retries] == [0, 0]
    assert attempts_made(project) == 6  # 2 runner attempts in each of 3 Dagster attempts
    (failure,) = events_of(result, "STEP_FAILURE")
    assert "Exceeded max_retries of 2" in failure.step_failure_data.error.message
    metadata = failure_metadata(result)
    assert metadata["floe/error_category"] == "TRANSIENT"
    assert metadata["floe/error_code"] == "RATE_LIMITED"
    assert metadata["floe/error_retryable"] is True
    assert metadata["floe/attempts"] == 2
    assert metadata["floe/error"]["message"] == "the source rate-limited attempt 6"
    assert result.get_asset_materialization_events() == []

    by_job = runs_of(lineage_events(project), result.run_id)
    states = [event["eventType"] for event in by_job["ingestion.orders"]]
    assert states == ["START", "RUNNING", "FAIL"] * 3  # one lineage run per Dagster attempt


def test_transient_error_cured_by_a_dagster_retry_after_the_wait_the_source_asked(
    tmp_path: Path, flaky_plugin: None
) -> None:
    options = {"fail": "transient", "failures": 2, "retry_after_seconds": 1}
    project = flaky_project(tmp_path / "project", options, max_delay_seconds=5)
    result = materialize(project)

    assert result.success
    (retry,) = events_of(result, "STEP_UP_FOR_RETRY")
    assert retry.event_specific_data.seconds_to_wait == 1  # the source's retry_after_seconds
    assert attempts_made(project) == 3
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["floe/rows_loaded"].value == 3
    assert len(iceberg_rows(project, "bronze.orders")) == 3

    states = [
        e["eventType"] for e in runs_of(lineage_events(project), result.run_id)["ingestion.orders"]
    ]
    assert states == ["START", "RUNNING", "FAIL", "START", "COMPLETE"]


@pytest.mark.parametrize(
    ("fail", "category", "code", "plugin_runs"),
    [
        ("permanent", "PERMANENT", "AUTH_FAILED", 1),
        ("configuration", "CONFIGURATION", "INVALID_CONFIG", 0),
    ],
)
def test_permanent_and_configuration_errors_fail_the_step_at_once(
    tmp_path: Path, flaky_plugin: None, fail: str, category: str, code: str, plugin_runs: int
) -> None:
    project = flaky_project(tmp_path / "project", {"fail": fail})
    result = materialize(project, op_retries=3)  # a Dagster retry policy does not retry them

    assert not result.success
    assert events_of(result, "STEP_UP_FOR_RETRY") == []
    assert attempts_made(project) == plugin_runs
    metadata = failure_metadata(result)
    assert metadata["floe/error_category"] == category
    assert metadata["floe/error_code"] == code
    assert metadata["floe/error_retryable"] is False
    assert metadata["floe/error"]["source"] == "flaky"
    assert metadata["floe/tables_committed"] == {}
    assert result.get_asset_materialization_events() == []
    assert not table_exists(project, "bronze.orders")

    (fail_event,) = [
        event
        for event in runs_of(lineage_events(project), result.run_id)["ingestion.orders"]
        if event["eventType"] == "FAIL"
    ]
    facet = fail_event["run"]["facets"]["floe_ingestionError"]
    assert (facet["category"], facet["code"], facet["attempts"]) == (category, code, 1)


def test_partial_load_materialises_the_committed_table_then_fails(
    tmp_path: Path, flaky_plugin: None
) -> None:
    options = {"fail": "partial", "tables": ["bronze.orders", "bronze.order_lines"]}
    project = flaky_project(tmp_path / "project", options)
    result = materialize(project)

    assert not result.success
    assert events_of(result, "STEP_UP_FOR_RETRY") == []  # PARTIAL is not retryable by default
    assert attempts_made(project) == 1
    (event,) = result.get_asset_materialization_events()
    assert event.asset_key == dg.AssetKey(["bronze", "orders"])
    metadata = event.materialization.metadata
    assert metadata["floe/rows_loaded"].value == 3
    assert metadata["floe/error_category"].value == "PARTIAL"
    snapshot = (
        Project.load(project).context().catalog.load_table("bronze.orders").current_snapshot()
    )
    assert metadata["floe/snapshot_id"].value == str(snapshot.snapshot_id)

    failure = failure_metadata(result)
    assert failure["floe/error_category"] == "PARTIAL"
    assert failure["floe/error_code"] == "PARTIAL_LOAD"
    assert failure["floe/tables_committed"] == {"bronze.orders": 3}
    assert failure["floe/failed_records"] == 3
    assert len(iceberg_rows(project, "bronze.orders")) == 3
    assert not table_exists(project, "bronze.order_lines")


# -- the mapping itself ---------------------------------------------------------------------------


def failed(
    error: IngestionError | None, tables: list[TableOutput] | None = None
) -> IngestionResult:
    return IngestionResult(
        success=False,
        rows_loaded=sum(table.rows for table in tables or []),
        tables_created=[],
        duration_seconds=1.0,
        error=error,
        pipeline="orders",
        tables=tables or [],
        attempts=3,
    )


def test_transient_retry_waits_what_the_source_asked_capped_by_the_policy() -> None:
    policy = RetryPolicy(max_attempts=4, initial_delay_seconds=30, max_delay_seconds=600)
    asked = IngestionError(ErrorCategory.TRANSIENT, ErrorCode.RATE_LIMITED, "slow down", "api",
                           retry_after_seconds=7200)  # fmt: skip
    request = dagster_failure_for(failed(asked), policy)
    assert isinstance(request, dg.RetryRequested)
    assert (request.max_retries, request.seconds_to_wait) == (4, 600)
    assert isinstance(request.__cause__, dg.Failure)
    assert request.__cause__.metadata["floe/error_code"].value == "RATE_LIMITED"

    silent = IngestionError(ErrorCategory.TRANSIENT, ErrorCode.NETWORK_ERROR, "reset", "api")
    request = dagster_failure_for(failed(silent), policy)
    assert isinstance(request, dg.RetryRequested)
    assert request.seconds_to_wait == 30  # no retry_after: the policy's initial delay


def test_a_failed_result_without_an_error_is_a_permanent_failure() -> None:
    failure = dagster_failure_for(failed(None))
    assert isinstance(failure, dg.Failure)
    assert not failure.allow_retries
    assert failure.metadata["floe/error_code"].value == "UNKNOWN"
    assert failure.metadata["floe/error_category"].value == "PERMANENT"
