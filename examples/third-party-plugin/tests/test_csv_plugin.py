"""The csv plugin on real files and a real HTTP server, beyond what the conformance kit checks."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from floe_ingestion_csv import CsvIngestionPlugin

from floe_core.config import IngestionConfig
from floe_core.errors import ConfigurationError, ErrorCode
from floe_core.plugin import PluginContext
from floe_core.retry import RetryPolicy
from floe_core.runner import IngestionRunner
from floe_core.testing import make_context, read_table_rows

CSV = "id,name,amount\n1,ada,1.5\n2,grace,2.25\n3,linus,3.0\n"
ROWS = [
    {"id": 1, "name": "ada", "amount": 1.5},
    {"id": 2, "name": "grace", "amount": 2.25},
    {"id": 3, "name": "linus", "amount": 3.0},
]


@pytest.fixture
def context(tmp_path: Path) -> PluginContext:
    return make_context(tmp_path)


def config(**values: Any) -> IngestionConfig:
    base = {"name": "people", "source": "people.csv", "destination_table": "bronze.people"}
    return IngestionConfig(plugin="csv", **{**base, **values})


def run(context: PluginContext, pipeline: IngestionConfig) -> Any:
    return IngestionRunner(CsvIngestionPlugin(context), retry=RetryPolicy.no_retry()).run(pipeline)


def test_loads_a_csv_file_with_inferred_types(context: PluginContext) -> None:
    (context.project_dir / "people.csv").write_text(CSV)
    result = run(context, config())
    assert result.success, result.error
    assert result.rows_loaded == 3
    assert result.tables_created == ["bronze.people"]
    assert read_table_rows(context.catalog, "bronze.people") == ROWS
    assert [(f.name, f.type) for f in result.tables[0].schema] == [
        ("id", "long"),
        ("name", "string"),
        ("amount", "double"),
    ]


def test_loads_json_lines(context: PluginContext) -> None:
    lines = "".join(
        f'{{"id": {r["id"]}, "name": "{r["name"]}", "amount": {r["amount"]}}}\n' for r in ROWS
    )
    (context.project_dir / "people.jsonl").write_text(lines)
    result = run(context, config(source="people.jsonl"))
    assert result.success, result.error
    assert read_table_rows(context.catalog, "bronze.people") == ROWS


def test_append_then_replace(context: PluginContext) -> None:
    (context.project_dir / "people.csv").write_text(CSV)
    assert run(context, config()).success
    second = run(context, config())
    assert second.tables_created == [], "the table existed already"
    assert len(read_table_rows(context.catalog, "bronze.people") or []) == 6
    (context.project_dir / "people.csv").write_text("id,name,amount\n9,new,0.5\n")
    replaced = run(context, config(write_disposition="replace"))
    assert replaced.success, replaced.error
    assert read_table_rows(context.catalog, "bronze.people") == [
        {"id": 9, "name": "new", "amount": 0.5}
    ]


def test_commits_in_batches(context: PluginContext) -> None:
    (context.project_dir / "people.csv").write_text(CSV)
    result = run(context, config(options={"batch_size": 1}))
    assert result.success, result.error
    table = context.catalog.load_table("bronze.people")
    assert len(table.history()) == 3, "one Iceberg commit per batch of one row"


def test_missing_file_is_source_not_found(context: PluginContext) -> None:
    result = run(context, config(source="nowhere.csv"))
    assert result.error is not None
    assert result.error.code is ErrorCode.SOURCE_NOT_FOUND
    assert "nowhere.csv" in result.error.message
    assert not context.catalog.table_exists("bronze.people")


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"write_disposition": "merge", "primary_key": ["id"]}, "merge"),
        ({"options": {"format": "xlsx"}}, "format"),
        ({"options": {"batch_size": 0}}, "batch_size"),
        ({"options": {"batchsize": 10}}, "batchsize"),
    ],
)
def test_invalid_settings_are_configuration_errors(
    context: PluginContext, values: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigurationError) as caught:
        CsvIngestionPlugin(context).create_pipeline(config(**values))
    assert caught.value.code is ErrorCode.INVALID_CONFIG
    assert named in str(caught.value)
    assert "'people'" in str(caught.value)


class _CsvServer(BaseHTTPRequestHandler):
    """Serves CSV at /people.csv to requests bearing the token ``good-token-123``."""

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != "Bearer good-token-123":
            self.send_response(401)
            self.end_headers()
            return
        body = CSV.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/csv")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def csv_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CsvServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/people.csv"
    server.shutdown()
    server.server_close()
    thread.join()


def test_loads_from_a_url_with_a_bearer_token(
    context: PluginContext, csv_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEOPLE_API_TOKEN", "good-token-123")
    result = run(context, config(source=csv_url, secret_refs={"token": "people-api-token"}))
    assert result.success, result.error
    assert read_table_rows(context.catalog, "bronze.people") == ROWS


def test_refused_token_is_auth_failed_and_never_shown(
    context: PluginContext, csv_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PEOPLE_API_TOKEN", "wrong-token-456")
    result = run(context, config(source=csv_url, secret_refs={"token": "people-api-token"}))
    assert result.error is not None
    assert result.error.code is ErrorCode.AUTH_FAILED
    assert "401" in result.error.message
    assert "wrong-token-456" not in str(result.to_dict())


def test_dagster_asset_materializes_through_the_runner(context: PluginContext) -> None:
    import dagster

    from floe_core.dagster import RESOURCE_KEY, FloeProjectResource

    (context.project_dir / "people.csv").write_text(CSV)
    plugin = CsvIngestionPlugin(context)
    assets = plugin.create_dagster_assets([config()])
    outcome = dagster.materialize(assets, resources={RESOURCE_KEY: FloeProjectResource()})
    assert outcome.success
    [materialization] = outcome.asset_materializations_for_node("ingest_people")
    assert materialization.asset_key == dagster.AssetKey(["bronze", "people"])
    assert materialization.metadata["floe/rows_loaded"].value == 3
    assert read_table_rows(context.catalog, "bronze.people") == ROWS


def test_the_readme_floe_yaml_is_accepted(context: PluginContext) -> None:
    import re

    from floe_core.project.loader import load_floe_file

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    match = re.search(r"```yaml\n(.*?)```", readme, re.S)
    assert match is not None
    floe_yaml = context.project_dir / "floe.yaml"
    floe_yaml.write_text(match.group(1))
    [pipeline_config] = load_floe_file(floe_yaml, display="floe.yaml").configs
    assert pipeline_config.options == {"format": "csv", "batch_size": 10000}
    with pytest.raises(ConfigurationError, match="people-api-token"):  # the secret is not set
        CsvIngestionPlugin(context).create_pipeline(pipeline_config)
