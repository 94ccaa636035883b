"""The runner with real observers: OpenLineage events and Prometheus metrics, and their failures."""

from __future__ import annotations

import socket
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from floe_core.config import IngestionConfig
from floe_core.errors import PartialError, PermanentError, TransientError
from floe_core.lineage import LineageEmitter, ParentRun
from floe_core.metrics import IngestionMetrics
from floe_core.plugin import PluginContext
from floe_core.retry import RetryPolicy
from floe_core.runner import IngestionRunner
from floe_core.secrets import SecretResolver
from tests.runner_plugins import ArrowTablePlugin
from tests.test_lineage import MemoryTransport, RaisingTransport

FAST = RetryPolicy(max_attempts=3, initial_delay_seconds=1, max_delay_seconds=4)


def observed(
    tmp_path: Path, behaviours: list[Any], name: str = "orders", **runner_kwargs: Any
) -> tuple[IngestionResult, list[dict[str, Any]], CollectorRegistry]:  # noqa: F821
    from openlineage.client import OpenLineageClient

    transport = MemoryTransport()
    emitter = LineageEmitter(OpenLineageClient(transport=transport), namespace="floe-tests")
    registry = CollectorRegistry()
    plugin = ArrowTablePlugin(PluginContext(project_dir=tmp_path), behaviours=behaviours)
    runner = IngestionRunner(
        plugin,
        retry=FAST,
        lineage=emitter,
        metrics=IngestionMetrics(registry),
        sleep=lambda _: None,
        **runner_kwargs,
    )
    config = IngestionConfig(name=name, source="s", destination_table=f"bronze.{name}")
    return runner.run(config), transport.events, registry


def test_success_after_retry_emits_start_running_complete_with_one_run_id(tmp_path: Path) -> None:
    result, events, registry = observed(
        tmp_path, [TransientError("RATE_LIMITED", "429", retry_after_seconds=2), None]
    )
    assert result.success and result.attempts == 2
    assert [e["eventType"] for e in events] == ["START", "RUNNING", "COMPLETE"]
    assert len({e["run"]["runId"] for e in events}) == 1
    assert {e["job"]["name"] for e in events} == {"ingestion.orders"}
    assert {e["job"]["namespace"] for e in events} == {"floe-tests"}
    retry_facet = events[1]["run"]["facets"]["floe_ingestionError"]
    assert retry_facet["category"] == "TRANSIENT"
    assert retry_facet["code"] == "RATE_LIMITED"
    assert retry_facet["retryAfterSeconds"] == 2
    (output,) = events[2]["outputs"]
    table = PluginContext(project_dir=tmp_path).catalog.load_table("bronze.orders")
    assert output["namespace"] == "file"
    assert output["name"] == table.location().removeprefix("file://")
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 2
    assert [f["name"] for f in output["facets"]["schema"]["fields"]] == ["id"]
    symlink = output["facets"]["symlinks"]["identifiers"][0]
    assert (symlink["name"], symlink["type"]) == ("bronze.orders", "TABLE")
    sample = registry.get_sample_value
    assert sample("floe_ingestion_retry_total", {"source": "orders"}) == 1
    assert sample("floe_ingestion_runs_total", {"source": "orders", "status": "success"}) == 1
    assert sample("floe_ingestion_rows_loaded_total", {"source": "orders"}) == 2
    errors = {"source": "orders", "category": "TRANSIENT", "code": "RATE_LIMITED"}
    assert sample("floe_ingestion_errors_total", errors) == 1
    assert sample("floe_ingestion_run_duration_seconds_count", {"source": "orders"}) == 1
    assert sample("floe_ingestion_last_success_timestamp_seconds", {"source": "orders"}) > 0


def test_permanent_failure_emits_fail_with_error_facets(tmp_path: Path) -> None:
    result, events, registry = observed(tmp_path, [PermanentError("AUTH_FAILED", "401 from api")])
    assert not result.success
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    facets = events[1]["run"]["facets"]
    assert facets["errorMessage"]["message"] == "401 from api"
    assert facets["errorMessage"]["programmingLanguage"] == "python"
    assert "PermanentError" in facets["errorMessage"]["stackTrace"]
    assert facets["floe_ingestionError"]["category"] == "PERMANENT"
    assert facets["floe_ingestionError"]["retryable"] is False
    assert facets["floe_ingestionError"]["_schemaURL"].startswith("https://")
    labels = {"source": "orders", "category": "PERMANENT", "code": "AUTH_FAILED"}
    assert registry.get_sample_value("floe_ingestion_errors_total", labels) == 1
    assert (
        registry.get_sample_value(
            "floe_ingestion_runs_total", {"source": "orders", "status": "failure"}
        )
        == 1
    )


def test_partial_failure_counts_failed_rows(tmp_path: Path) -> None:
    _, events, registry = observed(
        tmp_path, [PartialError("PARTIAL_LOAD", "3 rows rejected", failed_records=3)]
    )
    assert events[-1]["run"]["facets"]["floe_ingestionError"]["failedRecords"] == 3
    assert registry.get_sample_value("floe_ingestion_rows_failed_total", {"source": "orders"}) == 3
    assert (
        registry.get_sample_value(
            "floe_ingestion_runs_total", {"source": "orders", "status": "partial"}
        )
        == 1
    )


def test_parent_run_facet_links_to_the_orchestrator_run(tmp_path: Path) -> None:
    parent = ParentRun(
        namespace="dagster", job_name="ingest_all", run_id="0190a2b4-5c6d-7e8f-9a0b-1c2d3e4f5a6b"
    )
    _, events, _ = observed(tmp_path, [None], parent=parent)
    for event in events:
        assert event["run"]["facets"]["parent"]["run"]["runId"] == parent.run_id
        assert event["run"]["facets"]["parent"]["job"]["name"] == "ingest_all"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_lineage_and_pushgateway_down_do_not_fail_the_run(tmp_path: Path) -> None:
    from openlineage.client import OpenLineageClient

    port = _closed_port()
    emitter = LineageEmitter(OpenLineageClient(transport=RaisingTransport("backend down")))
    metrics = IngestionMetrics(
        CollectorRegistry(), pushgateway_url=f"http://127.0.0.1:{port}", push_timeout_seconds=1
    )
    plugin = ArrowTablePlugin(PluginContext(project_dir=tmp_path))
    config = IngestionConfig(name="orders", source="s", destination_table="bronze.orders")
    started = time.monotonic()
    result = IngestionRunner(plugin, lineage=emitter, metrics=metrics).run(config)
    assert result.success and result.rows_loaded == 2
    assert time.monotonic() - started < 5


@pytest.mark.pushgateway
def test_run_metrics_reach_the_pushgateway(tmp_path: Path, pushgateway_url: str) -> None:
    name = f"runner_push_{int(time.time() * 1000)}"
    try:
        for behaviours in ([None], [PermanentError("AUTH_FAILED", "401")]):
            plugin = ArrowTablePlugin(PluginContext(project_dir=tmp_path), behaviours=behaviours)
            metrics = IngestionMetrics(CollectorRegistry(), pushgateway_url=pushgateway_url)
            config = IngestionConfig(name=name, source="s", destination_table=f"bronze.{name}")
            IngestionRunner(plugin, retry=FAST, metrics=metrics).run(config)
        with urllib.request.urlopen(f"{pushgateway_url}/metrics", timeout=5) as response:
            text = response.read().decode()
        samples = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.labels.get("source") == name
        }

        def value(metric: str, **labels: str) -> float:
            key = {
                "source": name,
                "pipeline": name,
                "job": "floe_ingestion",
                "instance": "",
                **labels,
            }
            return samples[(metric, tuple(sorted(key.items())))]

        assert value("floe_ingestion_runs_total", status="success") == 1
        assert value("floe_ingestion_runs_total", status="failure") == 1
        assert value("floe_ingestion_rows_loaded_total") == 2
        assert value("floe_ingestion_errors_total", category="PERMANENT", code="AUTH_FAILED") == 1
    finally:
        request = urllib.request.Request(
            f"{pushgateway_url}/metrics/job/floe_ingestion/pipeline/{name}", method="DELETE"
        )
        urllib.request.urlopen(request, timeout=5).close()


def test_canary_secret_never_reaches_lineage_or_metrics(tmp_path: Path) -> None:
    from openlineage.client import OpenLineageClient
    from prometheus_client import generate_latest

    canary = "canary-7f3a9d21-secret"
    secrets = SecretResolver(environ={"API_TOKEN": canary})
    secrets.resolve("api-token")
    transport = MemoryTransport()
    registry = CollectorRegistry()
    plugin = ArrowTablePlugin(
        PluginContext(project_dir=tmp_path, secrets=secrets),
        behaviours=[TransientError("RATE_LIMITED", f"token {canary}"), ValueError(canary)],
    )
    runner = IngestionRunner(
        plugin,
        retry=FAST,
        lineage=LineageEmitter(OpenLineageClient(transport=transport)),
        metrics=IngestionMetrics(registry),
        sleep=lambda _: None,
    )
    result = runner.run(IngestionConfig(name="orders", source="s", destination_table="bronze.o"))
    assert canary not in "".join(transport.raw)
    assert canary not in generate_latest(registry).decode()
    assert canary not in repr(result.to_dict())
