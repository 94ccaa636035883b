"""OpenLineage end to end: floe processes and a Dagster run -> a Marquez-compatible receiver.

Every event the receiver got from the observed runs (``scenario.py``) validates against the
OpenLineage 2-0-2 JSON schema, each facet against the schema its ``_schemaURL`` names; each run
tells its story (START, RUNNING per retry, COMPLETE or FAIL); FAIL carries ``errorMessage`` and
``floe_ingestionError``; tables are named by location with a ``symlinks`` facet to the catalog
table; the pipelines of one Dagster run share it as their parent.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from referencing import Registry
from test_lineage import LineageReceiver, validate

from floe_core.catalog import CatalogConfig
from floe_core.lineage import INGESTION_ERROR_FACET, catalog_namespace
from observability.scenario import DAGSTER_JOB, DAGSTER_PIPELINES, NAMESPACE, SOURCES, Observed
from observability.support import moto_server, write_project

pytestmark = pytest.mark.slow

PROCESS_PIPELINES = ("obs_ok", "obs_retry", "obs_partial", "obs_denied")


def _runs(observed: Observed) -> dict[str, list[list[dict[str, Any]]]]:
    """pipeline -> its runs (events grouped by runId, in arrival order)."""
    by_run: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in observed.events:
        by_run[event["run"]["runId"]].append(event)
    found: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for events in by_run.values():
        names = {event["job"]["name"] for event in events}
        assert len(names) == 1, f"one run id, several jobs: {names}"
        found[names.pop().removeprefix("ingestion.")].append(events)
    return found


def _catalog_namespace(observed: Observed, project: str) -> str:
    return catalog_namespace(CatalogConfig.embedded().describe(observed.projects[project]))


def _table_dir(observed: Observed, project: str, table: str) -> str:
    namespace, name = table.split(".")
    return str(observed.projects[project].resolve() / ".floe" / "warehouse" / namespace / name)


def test_every_event_validates_against_the_openlineage_2_0_2_schema(
    observed: Observed, registry: Registry
) -> None:
    events = observed.events
    assert len(events) == 2 + 2 + 4 + 2 + 2 + 2 + 2  # see test_each_run_tells_its_story
    for event in events:
        validate(event, registry)
        assert event["job"]["namespace"] == NAMESPACE
    assert all(request["path"] == "/api/v1/lineage" for request in observed.receiver.requests)


def test_each_run_tells_its_story(observed: Observed) -> None:
    runs = _runs(observed)
    stories = {
        name: [[event["eventType"] for event in run] for run in pipeline_runs]
        for name, pipeline_runs in runs.items()
    }
    assert stories == {
        "obs_ok": [["START", "COMPLETE"], ["START", "COMPLETE"]],
        "obs_retry": [["START", "RUNNING", "RUNNING", "COMPLETE"]],
        "obs_partial": [["START", "FAIL"]],
        "obs_denied": [["START", "FAIL"]],
        "obs_dag_a": [["START", "COMPLETE"]],
        "obs_dag_b": [["START", "COMPLETE"]],
    }
    for pipeline_runs in runs.values():
        for run in pipeline_runs:
            times = [datetime.fromisoformat(event["eventTime"]) for event in run]
            assert times == sorted(times)


def test_retries_carry_the_error_and_the_wait(observed: Observed) -> None:
    (run,) = _runs(observed)["obs_retry"]
    for attempt, event in enumerate(run[1:3], start=1):
        facet = event["run"]["facets"][INGESTION_ERROR_FACET]
        assert facet["category"] == "TRANSIENT"
        assert facet["code"] == "RATE_LIMITED"
        assert facet["attempts"] == attempt
        assert facet["retryAfterSeconds"] == 1
        assert facet["retryDelaySeconds"] == 1.0  # Retry-After beats the 0.2 s initial delay
        assert "429" in event["run"]["facets"]["errorMessage"]["message"]


@pytest.mark.parametrize(
    ("pipeline", "category", "code", "attempts", "failed_records"),
    [
        ("obs_denied", "PERMANENT", "AUTH_FAILED", 1, None),
        ("obs_partial", "PARTIAL", "PARTIAL_LOAD", 1, 3),
    ],
)
def test_fail_events_carry_the_error_facets(
    observed: Observed,
    pipeline: str,
    category: str,
    code: str,
    attempts: int,
    failed_records: int | None,
) -> None:
    (run,) = _runs(observed)[pipeline]
    fail = run[-1]
    assert fail["eventType"] == "FAIL"
    facets = fail["run"]["facets"]
    error = facets[INGESTION_ERROR_FACET]
    assert (error["category"], error["code"], error["attempts"]) == (category, code, attempts)
    assert error.get("failedRecords") == failed_records
    assert error["retryable"] is False
    message = facets["errorMessage"]
    assert message["programmingLanguage"] == "python"
    assert message["message"]
    result = observed.runs[pipeline][0].result(pipeline)
    assert message["message"] == result["error"]["message"]


def test_a_partial_run_reports_the_table_it_committed(observed: Observed) -> None:
    (run,) = _runs(observed)["obs_partial"]
    (output,) = run[-1]["outputs"]
    assert (output["namespace"], output["name"]) == (
        "file",
        _table_dir(observed, "obs_partial", "bronze.obs_orders"),
    )
    assert output["outputFacets"]["outputStatistics"]["rowCount"] == 6


@pytest.mark.parametrize("pipeline", [*PROCESS_PIPELINES[:2], *DAGSTER_PIPELINES])
def test_tables_are_named_by_location_with_a_symlink_to_the_catalog_table(
    observed: Observed, pipeline: str
) -> None:
    project = "dagster" if pipeline in DAGSTER_PIPELINES else pipeline
    table = f"bronze.{pipeline}"
    location = _table_dir(observed, project, table)
    assert Path(location, "metadata").is_dir()
    symlink = {"namespace": _catalog_namespace(observed, project), "name": table, "type": "TABLE"}
    for run in _runs(observed)[pipeline]:
        complete = run[-1]
        (output,) = complete["outputs"]
        assert (output["namespace"], output["name"]) == ("file", location)
        assert output["facets"]["symlinks"]["identifiers"] == [symlink]
        assert output["facets"]["catalog"]["framework"] == "iceberg"
        assert output["outputFacets"]["outputStatistics"]["rowCount"] > 0
        assert "version" in output["facets"]  # the Iceberg snapshot id


def test_start_names_an_existing_table_by_its_location(observed: Observed) -> None:
    first, second = _runs(observed)["obs_ok"]
    (new_table,) = first[0]["outputs"]  # not created yet: the catalog name stands in
    assert (new_table["namespace"], new_table["name"]) == (
        _catalog_namespace(observed, "obs_ok"),
        "bronze.obs_ok",
    )
    (existing,) = second[0]["outputs"]
    assert (existing["namespace"], existing["name"]) == (
        "file",
        _table_dir(observed, "obs_ok", "bronze.obs_ok"),
    )


def test_pipelines_of_one_dagster_run_share_it_as_parent(observed: Observed) -> None:
    runs = _runs(observed)
    parents = set()
    for pipeline in DAGSTER_PIPELINES:
        (run,) = runs[pipeline]
        for event in run:
            parent = event["run"]["facets"]["parent"]
            parents.add((parent["job"]["namespace"], parent["job"]["name"], parent["run"]["runId"]))
    assert parents == {("dagster", DAGSTER_JOB, observed.dagster.run_id)}
    own_ids = {runs[pipeline][0][0]["run"]["runId"] for pipeline in DAGSTER_PIPELINES}
    assert len(own_ids) == 2 and observed.dagster.run_id not in own_ids
    for pipeline in PROCESS_PIPELINES:  # runs started by `floe run` have no parent
        for run in runs[pipeline]:
            assert all("parent" not in event["run"]["facets"] for event in run)


@pytest.mark.postgres
def test_s3_tables_are_named_by_bucket_and_key(
    tmp_path: Path, postgres_url: str, registry: Registry
) -> None:
    """A table on S3 (moto) in a PostgreSQL catalog: ``s3://bucket`` + key, symlink to the
    catalog table under the credential-free catalog URI."""
    import boto3

    from floe_core.project import Project

    bucket = "lineage-lake"
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    credentials = {"obs-s3-key-id": "AKIAOBS4F2A9C", "obs-s3-secret": "obs-secret-7d1e5b0a"}
    for name, value in credentials.items():
        (secrets / name).write_text(value)
    receiver = LineageReceiver()
    try:
        with moto_server() as endpoint:
            boto3.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id=credentials["obs-s3-key-id"],
                aws_secret_access_key=credentials["obs-s3-secret"],
                region_name="us-east-1",
            ).create_bucket(Bucket=bucket)
            project_dir = write_project(
                tmp_path / "project",
                """
                ingestion:
                  - name: obs_s3
                    destination: bronze.obs_s3
                    dlt: {source: obs_sources.rows, args: {n: 4}}
                """,
                f"""
                catalog:
                  type: sql
                  uri: "{postgres_url}"
                  warehouse: "s3://{bucket}/warehouse"
                  properties: {{s3.endpoint: "{endpoint}", s3.region: us-east-1}}
                  secret_refs:
                    s3.access-key-id: obs-s3-key-id
                    s3.secret-access-key: obs-s3-secret
                observability:
                  lineage:
                    namespace: {NAMESPACE}
                    transport: {{type: http, url: "{receiver.url}", timeout: 5}}
                secrets:
                  directory: "{secrets}"
                """,
                {"obs_sources": SOURCES},
            )
            project = Project.load(project_dir)
            (result,) = project.run()
    finally:
        receiver.stop()
    assert result.success, result.error
    events = receiver.events
    assert [event["eventType"] for event in events] == ["START", "COMPLETE"]
    for event in events:
        validate(event, registry)
    (output,) = events[-1]["outputs"]
    assert (output["namespace"], output["name"]) == (f"s3://{bucket}", "warehouse/bronze/obs_s3")
    catalog = catalog_namespace(project.catalog_config.describe(project.project_dir))
    assert catalog.startswith("postgresql://127.0.0.1:") and "@" not in catalog
    assert output["facets"]["symlinks"]["identifiers"] == [
        {"namespace": catalog, "name": "bronze.obs_s3", "type": "TABLE"}
    ]
    wire = json.dumps(events)
    assert not any(value in wire for value in credentials.values())  # no S3 credential leaks
