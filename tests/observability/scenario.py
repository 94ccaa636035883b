"""The observed scenario of the observability end-to-end tests (``conftest.py`` runs it once).

:func:`observe` runs, each as its own ``floe run -p <project>`` process (as a Kubernetes job
would), five runs of four pipelines whose projects point their metrics at the real Pushgateway
(``pushgateway_url``) and their lineage at a Marquez-compatible receiver on 127.0.0.1:

=================  ===============================================================  =========
pipeline           what happens                                                     exit code
=================  ===============================================================  =========
``obs_ok``         5 rows, success; then a second process: 5 more rows, success     0, 0
``obs_retry``      the API answers 429 (``Retry-After: 1``) twice, then 7 rows      0
``obs_partial``    orders commit (6 rows), refunds fail (3 rows): PARTIAL_LOAD      1
``obs_denied``     the API answers 401: PERMANENT/AUTH_FAILED, no retry             1
=================  ===============================================================  =========

and, in this process, one Dagster run that materialises ``obs_dag_a`` and ``obs_dag_b``
(``build_definitions`` + an asset job). Every metric is pushed under a ``job`` label of its own
(:data:`JOB`), so Prometheus queries see only these runs; the Pushgateway groups are deleted
afterwards.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from test_lineage import LineageReceiver

from observability.support import (
    Answer,
    FloeRun,
    ScriptedApi,
    floe_env,
    serve_api,
    start_floe,
    write_project,
)

JOB = f"floe_obs_{uuid.uuid4().hex[:8]}"
"""The Pushgateway ``job`` label of this session's runs (isolates them in Prometheus)."""
NAMESPACE = "floe_obs"
"""The OpenLineage job namespace of the runs."""
DAGSTER_JOB = "floe_observed"
DAGSTER_PIPELINES = ("obs_dag_a", "obs_dag_b")

SOURCES = '''
import dlt
import requests


def rows(n: int, start: int = 1):
    """n deterministic rows, ids from start."""
    return [{"id": i, "name": f"row {i}"} for i in range(start, start + n)]


def fetch(url: str):
    """The items of an HTTP API (an error answer raises requests.HTTPError)."""
    response = requests.get(url, timeout=10)
    response.raise_for_status()
    return response.json()["data"]


@dlt.source
def shop(orders: int, refunds: int):
    """Two tables in one load: orders, then refunds."""
    return [
        dlt.resource(rows(orders), name="obs_orders"),
        dlt.resource(rows(refunds), name="obs_refunds"),
    ]
'''

RETRY_POLICY = (
    "{max_attempts: 3, initial_delay_seconds: 0.2, max_delay_seconds: 5, backoff_multiplier: 2}"
)


def manifest(receiver_url: str, pushgateway_url: str) -> str:
    return f"""
    plugins:
      ingestion:
        type: dlt
        retry: {RETRY_POLICY}
    observability:
      lineage:
        namespace: {NAMESPACE}
        transport: {{type: http, url: "{receiver_url}", timeout: 5}}
      metrics:
        pushgateway_url: "{pushgateway_url}"
        job: {JOB}
        push_timeout_seconds: 10
    """


@dataclass
class DagsterRun:
    """The Dagster run that materialised both Dagster pipelines."""

    run_id: str
    success: bool
    started: float
    finished: float
    metadata: dict[str, dict[str, Any]]  # pipeline -> materialisation metadata


@dataclass
class Observed:
    """What the observed runs did: processes, projects, the Dagster run, lineage received."""

    job: str
    projects: dict[str, Path]
    runs: dict[str, list[FloeRun]]
    dagster: DagsterRun
    receiver: LineageReceiver
    api: ScriptedApi

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.receiver.events


def _block_table_data(project: Path, identifier: str) -> None:
    """Create ``identifier`` with a plain file where its data folder goes: its writes fail."""
    import pyarrow as pa

    from floe_core.catalog import load_catalog

    catalog = load_catalog(None, project_dir=project)
    catalog.create_namespace_if_not_exists(identifier.split(".")[0])
    table = catalog.create_table(
        identifier, schema=pa.schema([("id", pa.int64()), ("name", pa.string())])
    )
    data = Path(table.location().removeprefix("file://")) / "data"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("not a folder: writes into this table fail")


def _run_dagster(project: Path) -> DagsterRun:
    import dagster as dg

    from floe_core.dagster import build_definitions

    job = dg.define_asset_job(DAGSTER_JOB, selection=dg.AssetSelection.groups("ingestion"))
    definitions = dg.Definitions.merge(build_definitions(project), dg.Definitions(jobs=[job]))
    started = time.time()
    result = definitions.resolve_job_def(DAGSTER_JOB).execute_in_process(raise_on_error=False)
    finished = time.time()
    metadata: dict[str, dict[str, Any]] = {}
    for pipeline in DAGSTER_PIPELINES:
        for materialization in result.asset_materializations_for_node(f"ingest_{pipeline}"):
            metadata[pipeline] = {key: v.value for key, v in materialization.metadata.items()}
    return DagsterRun(result.run_id, result.success, started, finished, metadata)


def observe(base: Path, receiver: LineageReceiver, gateway: str) -> Observed:
    """Run the scenario (see the module docstring) against a source API served meanwhile."""
    api = ScriptedApi(
        {"retry_items": [{"id": i, "name": f"item {i}"} for i in range(1, 8)], "denied_items": []},
        page_size=100,
    )
    api.fail(Answer.rate_limited("1"), times=2, path="retry_items")
    denied = Answer(401, {"WWW-Authenticate": "Bearer"}, '{"message": "Bad credentials"}')
    api.fail(denied, times=None, path="denied_items")
    with serve_api(api):
        return _observe(base, receiver, api, gateway)


def _observe(base: Path, receiver: LineageReceiver, api: ScriptedApi, gateway: str) -> Observed:
    shared = manifest(receiver.url, gateway)
    modules = {"obs_sources": SOURCES}
    pipelines = {
        "obs_ok": "obs_sources.rows, args: {n: 5}",
        "obs_retry": f'obs_sources.fetch, args: {{url: "{api.url}/retry_items"}}',
        "obs_denied": f'obs_sources.fetch, args: {{url: "{api.url}/denied_items"}}',
    }
    projects: dict[str, Path] = {}
    for name, source in pipelines.items():
        projects[name] = write_project(
            base / name,
            f"""
            ingestion:
              - name: {name}
                destination: bronze.{name}
                description: observed pipeline {name}
                owners: [team:observability]
                dlt: {{source: {source}}}
            """,
            shared,
            modules,
        )
    projects["obs_partial"] = write_project(
        base / "obs_partial",
        """
        ingestion:
          - name: obs_partial
            destination: bronze.obs_shop
            dlt: {source: obs_sources.shop, args: {orders: 6, refunds: 3}}
        """,
        shared,
        modules,
    )
    _block_table_data(projects["obs_partial"], "bronze.obs_refunds")
    projects["dagster"] = write_project(
        base / "dagster",
        """
        ingestion:
          - name: obs_dag_a
            destination: bronze.obs_dag_a
            dlt: {source: obs_sources.rows, args: {n: 3}}
          - name: obs_dag_b
            destination: bronze.obs_dag_b
            dlt: {source: obs_sources.rows, args: {n: 4, start: 100}}
        """,
        shared,
        modules,
    )
    # dlt retries a failing load job 5 times in the same run by default: once is enough here.
    env = floe_env({"LOAD__RAISE_ON_MAX_RETRIES": "1"}, home=base / "home")
    first = {
        name: start_floe(projects[name], env=env)
        for name in ("obs_ok", "obs_retry", "obs_partial", "obs_denied")
    }
    runs = {name: [process.wait()] for name, process in first.items()}
    second = start_floe(projects["obs_ok"], env=env)  # a new pod: counters must accumulate
    dagster = _run_dagster(projects["dagster"])
    runs["obs_ok"].append(second.wait())
    return Observed(JOB, projects, runs, dagster, receiver, api)
