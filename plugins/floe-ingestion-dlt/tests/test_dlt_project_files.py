"""Pipelines declared in a real ``floe.yaml``, loaded by floe_core.project, run by the plugin."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from floe_core.project.project import Project as FloeProject

from dlt_http_api import HttpApi, serve

TOKEN = "ghp-yaml-token-99d1"


@pytest.fixture
def api() -> Iterator[HttpApi]:
    items = [{"id": i, "title": f"issue {i}", "updated_at": 100 + i} for i in range(1, 24)]
    with serve(HttpApi({"issues": items}, page_size=5)) as server:
        server.token = TOKEN
        yield server


def write_project(root: Path, api: HttpApi) -> None:
    (root / "landing").mkdir(parents=True)
    rows = [{"id": i, "sensor": f"s{i % 2}", "value": i / 4} for i in range(1, 11)]
    pq.write_table(pa.Table.from_pylist(rows), root / "landing" / "day1.parquet")
    (root / "floe.yaml").write_text(
        textwrap.dedent(
            f"""
            ingestion:
              - name: github_issues
                destination: bronze.github_issues
                write_disposition: merge
                primary_key: id
                incremental: {{cursor_column: updated_at}}
                dlt:
                  source: rest_api
                  args:
                    client:
                      base_url: "{api.url}"
                      paginator: {{type: json_link, next_url_path: next}}
                    resources:
                      - name: issues
                        endpoint: {{path: issues, data_selector: data}}
                secret_refs:
                  token: github-api-token
              - name: sensor_readings
                destination: raw.readings
                dlt:
                  source: filesystem
                  args: {{bucket_url: landing, file_glob: "*.parquet", reader: parquet}}
            """
        )
    )


def test_floe_yaml_pipelines_run_end_to_end(tmp_path: Path, api: HttpApi):
    root = tmp_path / "project"
    root.mkdir()
    write_project(root, api)
    environ = {"GITHUB_API_TOKEN": TOKEN, "RUNTIME__DLTHUB_TELEMETRY": "false"}
    project = FloeProject.load(root, environ=environ)
    results = project.run()
    by_name = {result.pipeline: result for result in results}
    assert by_name["github_issues"].success, by_name["github_issues"].error
    assert by_name["github_issues"].rows_loaded == 23
    assert by_name["sensor_readings"].rows_loaded == 10
    assert TOKEN not in json.dumps([r.to_dict() for r in results], default=repr)

    catalog = project.context("dlt").catalog
    issues = catalog.load_table("bronze.github_issues").scan().to_arrow()
    assert sorted(issues.column("id").to_pylist()) == list(range(1, 24))

    # a second `floe run`: only new rows
    api.collections["issues"].append({"id": 24, "title": "new", "updated_at": 500})
    again = {r.pipeline: r for r in FloeProject.load(root, environ=environ).run()}
    assert again["github_issues"].rows_loaded == 1


def test_dagster_assets_of_a_project_run_through_its_runner(tmp_path: Path, api: HttpApi):
    import dagster as dg

    root = tmp_path / "project"
    root.mkdir()
    write_project(root, api)
    project = FloeProject.load(root, environ={"GITHUB_API_TOKEN": TOKEN})
    plugin = project.plugin("dlt")
    assets = plugin.create_dagster_assets(
        project.pipelines, runner=lambda config: project.runner(config.name)
    )
    keys = {spec.key.to_user_string() for asset in assets for spec in asset.specs}
    assert keys == {"bronze/github_issues", "raw/readings"}
    result = dg.materialize(assets)
    assert result.success
    rows = {
        event.asset_key.to_user_string(): event.materialization.metadata["floe/rows_loaded"].value
        for event in result.get_asset_materialization_events()
    }
    assert rows == {"bronze/github_issues": 23, "raw/readings": 10}
