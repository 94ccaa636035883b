"""`Project`: contexts, secrets, runners wired from the manifest, and real runs into Iceberg."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import requests
from project_helpers import (
    NUMBERS_FLOE_YAML,
    IcebergTestPlugin,
    files_under,
    read_rows,
    test_registry,
    write_project,
)

from floe_core.errors import ErrorCategory, ErrorCode
from floe_core.project import Project, ProjectError
from floe_core.secrets import MASK

SECRET_PIPELINE = """\
ingestion:
  - name: numbers
    type: testsource
    destination: bronze.numbers
    testsource: {source: numbers, rows: 2}
    secret_refs:
      token: source-token
"""


def load(root: Path, env: dict[str, str] | None = None) -> Project:
    return Project.load(root, registry=test_registry(), environ=env or {})


def test_run_writes_iceberg_tables_through_the_embedded_catalog(tmp_path: Path) -> None:
    project = load(write_project(tmp_path, NUMBERS_FLOE_YAML))
    results = project.run()
    assert [(r.pipeline, r.plugin, r.success, r.rows_loaded) for r in results] == [
        ("numbers", "testsource", True, 3),
        ("letters", "testsource", True, 2),
    ]
    assert results[0].tables_created == ["bronze.numbers"]
    assert results[0].tables[0].location is not None
    assert results[0].tables[0].location.startswith(f"file://{tmp_path}/.floe/warehouse")
    assert read_rows(tmp_path, "bronze.numbers") == [
        {"id": 1, "value": "numbers-1"},
        {"id": 2, "value": "numbers-2"},
        {"id": 3, "value": "numbers-3"},
    ]
    # merge on the primary key: a second run leaves one row per id
    again = load(tmp_path).run(["letters"])
    assert again[0].success and again[0].tables_created == []
    assert [row["id"] for row in read_rows(tmp_path, "bronze.letters")] == [1, 2]


def test_context_settings_catalog_and_secrets_directory(tmp_path: Path) -> None:
    manifest = """\
    plugins:
      ingestion:
        type: testsource
        config: {api_token_secret_ref: api-token}
        additional:
          other: {config: {level: 2}}
    secrets:
      directory: secrets
    """
    write_project(tmp_path, SECRET_PIPELINE.replace("    type: testsource\n", ""), manifest)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "api-token").write_text("api-value\n")
    project = load(tmp_path)
    context = project.context()
    assert context.settings == {"api_token_secret_ref": "api-token"}
    assert project.context("other").settings == {"level": 2}
    assert project.context("unknown").settings == {}
    assert context.project_dir == tmp_path.resolve()
    assert context.catalog_config.uri == "sqlite:///.floe/catalog.db"
    assert project.secrets_dir == tmp_path.resolve() / "secrets"
    assert context.secrets.resolve("api-token").reveal() == "api-value"
    plugin = project.plugin("testsource")
    assert isinstance(plugin, IcebergTestPlugin)
    assert plugin.context is context
    assert project.plugin("testsource") is plugin


def test_floe_secrets_dir_wins_over_the_manifest(tmp_path: Path) -> None:
    write_project(tmp_path, SECRET_PIPELINE, f"secrets: {{directory: {tmp_path / 'absent'}}}\n")
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    (mounted / "source-token").write_text("from-mount")
    project = load(tmp_path, {"FLOE_SECRETS_DIR": str(mounted)})
    assert project.secrets.resolve("source-token").reveal() == "from-mount"
    env_project = load(tmp_path, {"FLOE_SECRETS_DIR": str(mounted), "SOURCE_TOKEN": "from-env"})
    assert env_project.secrets.resolve("source-token").reveal() == "from-env"


def test_missing_secret_stops_the_run_before_anything_is_written(tmp_path: Path) -> None:
    project = load(write_project(tmp_path, SECRET_PIPELINE))
    before = files_under(tmp_path)
    with pytest.raises(ProjectError) as caught:
        project.run()
    error = caught.value
    assert error.code is ErrorCode.SECRET_MISSING
    assert error.error.category is ErrorCategory.CONFIGURATION
    assert str(error).startswith(
        f"{tmp_path}/floe.yaml:7: ingestion[0].secret_refs.token: secret 'source-token' "
        "(needed for numbers.token) is not set: set environment variable SOURCE_TOKEN"
    )
    assert files_under(tmp_path) == before
    assert not (tmp_path / ".floe").exists()


def test_empty_secret_is_missing_too(tmp_path: Path) -> None:
    write_project(tmp_path, SECRET_PIPELINE, "secrets: {directory: s}\n")
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "source-token").write_text("\n")
    with pytest.raises(ProjectError, match=r"secret 'source-token' .* is empty") as caught:
        load(tmp_path).run()
    assert caught.value.code is ErrorCode.SECRET_MISSING
    assert not (tmp_path / ".floe").exists()


def test_runner_is_wired_from_the_manifest(tmp_path: Path) -> None:
    manifest = """\
    plugins:
      ingestion:
        type: dlt
        retry: {max_attempts: 2, initial_delay_seconds: 5, max_delay_seconds: 5}
        additional:
          testsource:
            retry: {max_attempts: 4, initial_delay_seconds: 1, max_delay_seconds: 8}
    """
    floe_yaml = NUMBERS_FLOE_YAML.replace("rows: 3", "rows: 3\n      fail: transient")
    project = load(write_project(tmp_path, floe_yaml, manifest))
    assert project.retry_policy().max_attempts == 2
    runner = project.runner("numbers")
    assert runner.retry.max_attempts == 4
    assert runner.lineage is None and runner.metrics is None
    assert runner.redactor is project.redactor
    slept: list[float] = []
    result = project.runner("numbers", sleep=slept.append).run(project.pipeline("numbers"))
    assert not result.success
    assert result.attempts == 4
    assert slept == [1.0, 2.0, 4.0]
    assert result.error is not None and result.error.code is ErrorCode.NETWORK_ERROR
    with pytest.raises(ProjectError, match="no pipeline named 'nope'"):
        project.runner("nope")


def test_failures_are_results_not_exceptions(tmp_path: Path) -> None:
    floe_yaml = NUMBERS_FLOE_YAML.replace("rows: 3", "rows: 3\n      fail: permanent")
    results = load(write_project(tmp_path, floe_yaml)).run()
    assert [r.success for r in results] == [False, True]
    error = results[0].error
    assert error is not None
    assert (error.category, error.code) == (ErrorCategory.PERMANENT, ErrorCode.AUTH_FAILED)


def test_lineage_events_go_to_the_file_transport_of_the_manifest(tmp_path: Path) -> None:
    manifest = """\
    observability:
      lineage:
        transport: {type: file, log_file_path: lineage/events.jsonl, append: true}
        namespace: tests
    """
    (tmp_path / "lineage").mkdir()
    project = load(write_project(tmp_path, NUMBERS_FLOE_YAML, manifest))
    project.run(["numbers"])
    lines = (tmp_path / "lineage" / "events.jsonl").read_text().splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    assert {e["job"]["namespace"] for e in events} == {"tests"}
    assert events[0]["job"]["name"] == "ingestion.numbers"
    assert events[1]["outputs"], events[1]


def test_lineage_transport_secrets_are_filled_in(tmp_path: Path) -> None:
    manifest = """\
    observability:
      lineage:
        transport: {type: http, url: "http://127.0.0.1:9", auth: {type: api_key}}
        secret_refs: {auth.apiKey: lineage-key}
    """
    project = load(write_project(tmp_path, NUMBERS_FLOE_YAML, manifest), {"LINEAGE_KEY": "k-123"})
    emitter = project.build_lineage(catalog=None)
    assert emitter is not None
    transport = emitter.client.transport
    assert transport.config.auth.get_bearer() == "Bearer k-123"
    settings = project.manifest.observability.lineage
    assert settings is not None and settings.transport is not None
    assert settings.transport["auth"] == {"type": "api_key"}  # the manifest is not changed


@pytest.mark.pushgateway
def test_metrics_are_pushed_to_the_pushgateway_of_the_manifest(
    tmp_path: Path, pushgateway_url: str
) -> None:
    job = f"floe_project_{uuid.uuid4().hex[:8]}"
    manifest = f"observability: {{metrics: {{pushgateway_url: '{pushgateway_url}', job: {job}}}}}\n"
    project = load(write_project(tmp_path, NUMBERS_FLOE_YAML, manifest))
    project.run()
    exposition = requests.get(f"{pushgateway_url}/metrics", timeout=5).text
    runs = [
        line
        for line in exposition.splitlines()
        if line.startswith("floe_ingestion_runs_total{") and f'job="{job}"' in line
    ]
    counted = {line.split("pipeline=")[1].split(",")[0] for line in runs if line.endswith(" 1")}
    assert counted == {'"numbers"', '"letters"'}, runs
    assert all('status="success"' in line for line in runs if line.endswith(" 1"))


@pytest.mark.postgres
def test_run_through_a_postgresql_catalog(tmp_path: Path, postgres_url: str) -> None:
    manifest = f"""\
    catalog:
      type: sql
      name: warehouse
      warehouse: {tmp_path / "warehouse"}
      secret_refs: {{uri: catalog-uri}}
    """
    project_dir = write_project(tmp_path / "proj", NUMBERS_FLOE_YAML, manifest)
    project = load(project_dir, {"CATALOG_URI": postgres_url})
    results = project.run(["numbers"])
    assert results[0].success, results[0].error
    catalog = project.context("testsource").catalog
    assert catalog.load_table("bronze.numbers").scan().to_arrow().num_rows == 3
    assert not (project_dir / ".floe" / "catalog.db").exists()


def test_validate_reports_what_passed(tmp_path: Path) -> None:
    project = load(write_project(tmp_path, NUMBERS_FLOE_YAML))
    report = project.validate()
    assert report.ok, report.problems
    assert report.pipelines == ["numbers", "letters"]
    assert "plugin testsource 0.1.0 loads (2 pipelines)" in report.checked
    assert any("will be created on first run" in line for line in report.checked)
    assert "pipeline letters accepted by plugin testsource" in report.checked
    assert not (tmp_path / ".floe").exists()
    project.run(["numbers"])
    assert "catalog 'floe' (sql) answers (1 namespace(s))" in load(tmp_path).validate().checked


def test_redactor_masks_resolved_secrets(tmp_path: Path) -> None:
    project = load(write_project(tmp_path, SECRET_PIPELINE), {"SOURCE_TOKEN": "s3cr3t-value"})
    project.check()
    assert project.redactor.redact("token=s3cr3t-value") == f"token={MASK}"
