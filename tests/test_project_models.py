"""The models of floe.yaml and platform-manifest.yaml: ADR shapes, conversion, JSON schemas."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import jsonschema
import pytest
import yaml
from pydantic import ValidationError

from floe_core.config import IncrementalConfig, WriteDisposition
from floe_core.errors import ErrorCategory
from floe_core.project import FloeFile, PipelineSpec, PlatformManifest
from floe_core.project.schemas import SCHEMA_DIR, SCHEMAS, render_schema, stale_schemas

ADR_FLOE_YAML = """\
ingestion:
  # dlt source
  - name: github_events
    type: dlt
    destination: bronze.github_events
    dlt:
      source: dlt.sources.github.github_reactions
      resource: issues
      write_disposition: merge
      primary_key: id
      incremental:
        cursor_column: updated_at
    secret_refs:
      github_token: github-api-token

  # External Airbyte connection
  - name: salesforce_sync
    type: airbyte
    destination: bronze.salesforce_accounts
    airbyte:
      connection_id: "abc123-def456"
"""

ADR_MANIFEST = """\
plugins:
  ingestion:
    type: airbyte
    config:
      workspace_url: https://airbyte.example.com
      connection_secret_ref: airbyte-api-token
    retry:
      max_attempts: 3
      initial_delay_seconds: 60
      max_delay_seconds: 3600
      backoff_multiplier: 2.0
      retryable_categories: [TRANSIENT]
"""

FULL_MANIFEST = """\
plugins:
  ingestion:
    type: dlt
    config: {pipelines_dir: .floe/dlt}
    retry: {max_attempts: 2, initial_delay_seconds: 1, max_delay_seconds: 10}
    additional:
      airbyte:
        config: {workspace_url: http://127.0.0.1:8000, connection_secret_ref: airbyte-token}
        retry: {max_attempts: 5, retryable_categories: [TRANSIENT, PARTIAL]}
catalog:
  type: sql
  uri: postgresql+psycopg2://iceberg@127.0.0.1:5432/iceberg
  warehouse: /data/warehouse
  secret_refs: {uri: iceberg-catalog-uri}
observability:
  lineage:
    transport: {type: http, url: http://127.0.0.1:5000}
    namespace: analytics
    secret_refs: {auth.apiKey: marquez-api-key}
  metrics: {pushgateway_url: http://127.0.0.1:9091, job: floe}
secrets:
  directory: /var/run/secrets/floe
"""


def load(text: str) -> object:
    return yaml.safe_load(textwrap.dedent(text))


def test_adr_floe_yaml_converts_to_ingestion_configs() -> None:
    floe_file = FloeFile.model_validate(load(ADR_FLOE_YAML))
    github, salesforce = floe_file.ingestion_configs()
    assert github.name == "github_events"
    assert github.plugin == "dlt"
    assert github.source == "dlt.sources.github.github_reactions"
    assert github.destination_table == "bronze.github_events"
    assert github.write_disposition is WriteDisposition.MERGE
    assert github.primary_key == ["id"]
    assert github.incremental == IncrementalConfig(cursor_column="updated_at")
    assert github.secret_refs == {"github_token": "github-api-token"}
    # the lifted keys live in one place only: options keep the rest of the block
    assert github.options == {"source": "dlt.sources.github.github_reactions", "resource": "issues"}
    assert salesforce.plugin == "airbyte"
    assert salesforce.source == "abc123-def456"
    assert salesforce.options == {"connection_id": "abc123-def456"}
    assert salesforce.write_disposition is WriteDisposition.APPEND


def test_pipeline_level_keys_and_default_type() -> None:
    spec = PipelineSpec.model_validate(
        {
            "name": "orders",
            "destination": "bronze.orders",
            "write_disposition": "merge",
            "primary_key": ["id", "line"],
            "incremental": {"cursor_column": "updated_at", "lag": 60},
            "dlt": {"source": "sql_database", "args": {"table": "orders"}},
        }
    )
    config = spec.to_ingestion_config("dlt")
    assert config.plugin == "dlt"
    assert config.primary_key == ["id", "line"]
    assert config.incremental is not None and config.incremental.lag == 60
    assert config.options == {"source": "sql_database", "args": {"table": "orders"}}


def test_third_party_block_gives_source_and_options() -> None:
    spec = PipelineSpec.model_validate(
        {
            "name": "numbers",
            "type": "testsource",
            "destination": "bronze.numbers",
            "testsource": {"source": "numbers", "rows": 3},
        }
    )
    config = spec.to_ingestion_config()
    assert (config.plugin, config.source) == ("testsource", "numbers")
    assert config.options == {"rows": 3}


def test_default_type_comes_from_the_validation_context() -> None:
    data = {"name": "n", "destination": "a.b", "csv": {"source": "file.csv"}}
    with pytest.raises(ValidationError, match="csv\n  Extra inputs are not permitted"):
        PipelineSpec.model_validate(data)
    spec = PipelineSpec.model_validate(data, context={"floe_default_type": "csv"})
    config = spec.to_ingestion_config("csv")
    assert (config.source, config.options) == ("file.csv", {})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"type": "airbyte", "dlt": {"source": "x"}}, "a dlt: block in a pipeline of type"),
        ({"type": "dlt"}, "needs a `dlt:` block"),
        ({"type": "mine"}, "needs a `mine:` block"),
        ({"type": "mine", "mine": {"rows": 1}}, "mine.source: missing required key 'source'"),
        ({"type": "mine", "mine": "text"}, "expected a mapping"),
        (
            {"dlt": {"source": "x", "write_disposition": "merge"}},
            "dlt.write_disposition: write_disposition 'merge' needs a primary_key",
        ),
        (
            {"write_disposition": "append", "dlt": {"source": "x", "write_disposition": "merge"}},
            "set both here and at the pipeline level",
        ),
        ({"dlt": {"source": "x"}, "secret_refs": {"token": "bad ref"}}, "is not valid"),
        ({"dlt": {"source": "x"}, "secret_refs": {"token": " "}}, "reference is empty"),
        ({"dlt": {"source": "x"}, "secret_refs": {"not-an-arg": "ok"}}, "not an argument name"),
        ({"dlt": {"source": "x"}, "plugin_block": {}}, "unknown key 'plugin_block'"),
    ],
)
def test_inconsistent_pipelines_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("(", r"\(").replace("[", r"\[")):
        PipelineSpec.model_validate({"name": "p", "destination": "a.b", **data})


def test_duplicate_names_are_refused() -> None:
    pipeline = {"name": "p", "destination": "a.b", "dlt": {"source": "x"}}
    with pytest.raises(ValidationError, match="duplicate pipeline name 'p'"):
        FloeFile.model_validate({"ingestion": [pipeline, pipeline]})


def test_adr_manifest_and_defaults() -> None:
    manifest = PlatformManifest.model_validate(load(ADR_MANIFEST))
    assert manifest.default_plugin == "airbyte"
    assert manifest.plugins.ingestion.settings_for("airbyte") == {
        "workspace_url": "https://airbyte.example.com",
        "connection_secret_ref": "airbyte-api-token",
    }
    assert manifest.plugins.ingestion.settings_for("dlt") == {}
    defaults = PlatformManifest()
    assert defaults.default_plugin == "dlt"
    assert defaults.catalog is None
    assert defaults.observability.lineage is None and defaults.observability.metrics is None
    assert defaults.plugins.ingestion.retry.max_attempts == 3


def test_additional_plugins_have_their_own_settings_and_retry() -> None:
    manifest = PlatformManifest.model_validate(load(FULL_MANIFEST))
    ingestion = manifest.plugins.ingestion
    assert ingestion.settings_for("dlt") == {"pipelines_dir": ".floe/dlt"}
    assert ingestion.settings_for("airbyte")["connection_secret_ref"] == "airbyte-token"
    assert ingestion.settings_for("other") == {}
    assert ingestion.retry_for("dlt").max_attempts == 2
    assert ingestion.retry_for("airbyte").max_attempts == 5
    assert ErrorCategory.PARTIAL in ingestion.retry_for("airbyte").retryable_categories
    assert ingestion.retry_for("other").max_attempts == 2
    assert manifest.catalog is not None and manifest.catalog.secret_refs == {
        "uri": "iceberg-catalog-uri"
    }
    assert manifest.observability.metrics is not None
    assert manifest.observability.metrics.job == "floe"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"plugins": {"ingestion": {"type": "dlt", "additional": {"dlt": {}}}}}, "repeats"),
        ({"plugins": {"ingestion": {"additional": {"bad name": {}}}}}, "is not a plugin type"),
        ({"observability": {"lineage": {"transport": {"url": "x"}}}}, "needs a `type`"),
        ({"observability": {"lineage": {"secret_refs": {"a": "b c"}}}}, "is not valid"),
        ({"observability": {"metrics": {"pushgateway_url": "127.0.0.1:9091"}}}, "http://"),
        ({"plugins": {"ingestion": {"retry": {"retryable_categories": ["PERMANENT"]}}}}, "never"),
        ({"secrets": {"dir": "x"}}, "Extra inputs"),
    ],
)
def test_bad_manifests_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        PlatformManifest.model_validate(data)


# -- JSON schemas --------------------------------------------------------------------------


def test_committed_schemas_are_current() -> None:
    stale = stale_schemas()
    assert stale == [], (
        f"{stale} differ from the models: run `python -m floe_core.project.schemas` and commit"
    )


def test_schema_generator_check_mode(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "floe_core.project.schemas", "--dir", str(tmp_path)]
    assert subprocess.run([*command, "--check"], capture_output=True).returncode == 1
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert subprocess.run([*command, "--check"], capture_output=True).returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(SCHEMAS)


@pytest.mark.parametrize(
    ("schema_file", "text"),
    [
        ("floe.schema.json", ADR_FLOE_YAML),
        ("platform-manifest.schema.json", ADR_MANIFEST),
        ("platform-manifest.schema.json", FULL_MANIFEST),
    ],
)
def test_schemas_accept_the_examples(schema_file: str, text: str) -> None:
    schema = json.loads((SCHEMA_DIR / schema_file).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(load(text), schema, cls=jsonschema.Draft202012Validator)


def test_schemas_catch_typos_for_editors() -> None:
    floe_schema = json.loads(render_schema("floe.schema.json"))
    bad = load(ADR_FLOE_YAML)
    assert isinstance(bad, dict)
    bad["ingestion"][0]["dlt"]["write_disposition"] = "upsert"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, floe_schema)
    manifest_schema = json.loads(render_schema("platform-manifest.schema.json"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"catalogue": {}}, manifest_schema)
    # a third-party plugin block is allowed (a mapping), a scalar typo is not
    pipeline = {"name": "n", "destination": "a.b", "mine": {"source": "s"}}
    jsonschema.validate({"ingestion": [pipeline]}, floe_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"ingestion": [{**pipeline, "destnation": "a.b"}]}, floe_schema)
