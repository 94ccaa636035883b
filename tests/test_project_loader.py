"""Loading a project's files: every problem names the file, the line and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from project_helpers import NUMBERS_FLOE_YAML, test_registry, write_project

from floe_core.errors import ConfigurationError, ErrorCategory, ErrorCode
from floe_core.project import Project, ProjectError, load_floe_file, load_manifest

PIPELINE = """\
ingestion:
  - name: events
    destination: bronze.events
    dlt:
      source: pkg.events
"""


def problems_of(root: Path) -> list[str]:
    with pytest.raises(ProjectError) as caught:
        Project.load(root)
    error = caught.value
    assert isinstance(error, ConfigurationError)
    assert error.error.category is ErrorCategory.CONFIGURATION
    assert error.code is ErrorCode.INVALID_CONFIG
    assert [p["text"] for p in error.error.details["problems"]] == [str(p) for p in error.problems]
    return [str(problem).replace(f"{root}/", "") for problem in error.problems]


@pytest.mark.parametrize(
    ("floe_yaml", "expected"),
    [
        (
            PIPELINE.replace(
                "source: pkg.events", "source: pkg.events\n      write_disposition: upsert"
            ),
            "floe.yaml:6: ingestion[0].dlt.write_disposition: expected one of append, replace, "
            "merge, got 'upsert'",
        ),
        (
            PIPELINE.replace("destination:", "destnation:"),
            "floe.yaml:3: ingestion[0].destnation: unknown key 'destnation'; did you mean "
            "'destination'? Allowed keys here: name, type, destination, description, owners, "
            "secret_refs, write_disposition, primary_key, incremental, dlt, airbyte",
        ),
        (
            PIPELINE.replace("destination:", "destnation:"),
            "floe.yaml:2: ingestion[0].destination: missing required key 'destination' (Target "
            "Iceberg table, namespace.table)",
        ),
        (
            PIPELINE.replace("source: pkg.events", "source: pkg.events\n      resurce: x"),
            "floe.yaml:6: ingestion[0].dlt.resurce: unknown key 'resurce'; did you mean "
            "'resource'?",
        ),
        (
            PIPELINE + "version: 2\n",
            "floe.yaml:6: version: unknown key 'version'",
        ),
        (
            PIPELINE.replace("bronze.events", "bronze"),
            "floe.yaml:3: ingestion[0].destination: destination table 'bronze' must be "
            "qualified as namespace.table",
        ),
        (
            PIPELINE.replace("bronze.events", "bronze.2events"),
            "floe.yaml:3: ingestion[0].destination: '2events' in destination table "
            "'bronze.2events' is not a valid Iceberg identifier",
        ),
        (
            PIPELINE.replace("name: events", "name: my-events"),
            "floe.yaml:2: ingestion[0].name: pipeline name 'my-events' must start with a letter",
        ),
        (
            PIPELINE + "    owners: data-team\n",
            "floe.yaml:6: ingestion[0].owners: expected a list (`- item` lines or [a, b]), got "
            "'data-team'",
        ),
        (
            PIPELINE + "    incremental: {initial_value: 0}\n",
            "floe.yaml:6: ingestion[0].incremental.cursor_column: missing required key "
            "'cursor_column'",
        ),
        (
            PIPELINE + "    write_disposition: merge\n",
            "floe.yaml:6: ingestion[0].write_disposition: write_disposition 'merge' needs a "
            "primary_key",
        ),
        (
            PIPELINE + PIPELINE.replace("ingestion:\n", ""),
            "floe.yaml:6: ingestion[1].name: duplicate pipeline name 'events' (also "
            "ingestion[0]); pipeline names must be unique",
        ),
        (
            PIPELINE + "    type: airbyte\n",
            "floe.yaml:2: ingestion[0]: a pipeline of type 'airbyte' needs a `airbyte:` block",
        ),
        (
            PIPELINE + "    secret_refs: {token: 'has space'}\n",
            "floe.yaml:6: ingestion[0].secret_refs.token: secret reference 'has space' is not "
            "valid",
        ),
        (
            PIPELINE + "    name: again\n",
            "floe.yaml:6: ingestion[0].name: the key 'name' is given twice (first at line 2)",
        ),
        ("ingestion: []\n", "floe.yaml:1: ingestion: expected at least 1 item(s), got a list"),
        ("- a\n- b\n", "floe.yaml:1: expected a mapping with an `ingestion:` list of pipelines"),
        ("# nothing yet\n", "floe.yaml:1: the file is empty; expected a mapping"),
        ("ingestion:\n  - name: [\n", "floe.yaml:3:1: malformed YAML"),
    ],
)
def test_floe_yaml_problems(tmp_path: Path, floe_yaml: str, expected: str) -> None:
    messages = problems_of(write_project(tmp_path, floe_yaml))
    assert any(message.startswith(expected) for message in messages), messages


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (
            "plugins:\n  ingestion:\n    retry:\n      retryable_categories: [TRANSIENT, PERMANENT]\n",
            "platform-manifest.yaml:4: plugins.ingestion.retry.retryable_categories: PERMANENT "
            "errors are never retried",
        ),
        (
            "plugins:\n  ingestion:\n    retry:\n      max_attempts: three\n",
            "platform-manifest.yaml:4: plugins.ingestion.retry.max_attempts: expected an "
            "integer, got 'three'",
        ),
        (
            "plugins:\n  ingestion:\n    retry:\n      initial_delay_seconds: 10\n"
            "      max_delay_seconds: 1\n",
            "platform-manifest.yaml:3: plugins.ingestion.retry: initial_delay_seconds must not "
            "exceed max_delay_seconds",
        ),
        (
            "plugins:\n  ingestion:\n    retry:\n      max_attempts: 3\n      jitter: true\n",
            "platform-manifest.yaml:5: plugins.ingestion.retry.jitter: unknown key 'jitter' "
            "Allowed keys here: max_attempts, initial_delay_seconds",
        ),
        (
            "catalogue:\n  type: sql\n",
            "platform-manifest.yaml:1: catalogue: unknown key 'catalogue'; did you mean 'catalog'?",
        ),
        (
            "catalog:\n  type: rest\n",
            "platform-manifest.yaml:1: catalog: a rest catalog needs a uri",
        ),
        (
            "catalog:\n  type: hive\n",
            "platform-manifest.yaml:2: catalog.type: expected one of sql, rest, glue, got 'hive'",
        ),
        (
            "plugins:\n  ingestion:\n    type: dlt\n    config: [a]\n",
            "platform-manifest.yaml:4: plugins.ingestion.config: expected a mapping",
        ),
        (
            "observability:\n  metrics:\n    pushgateway_url: 127.0.0.1:9091\n",
            "platform-manifest.yaml:3: observability.metrics.pushgateway_url: expected an "
            "http:// or https:// URL",
        ),
        (
            "observability:\n  lineage:\n    transport: {url: http://127.0.0.1:5000}\n",
            "platform-manifest.yaml:3: observability.lineage.transport: a transport needs a `type`",
        ),
        ("plugins: [\n", "platform-manifest.yaml:2:1: malformed YAML"),
        ("", "platform-manifest.yaml:1: the file is empty"),
    ],
)
def test_manifest_problems(tmp_path: Path, manifest: str, expected: str) -> None:
    messages = problems_of(write_project(tmp_path, PIPELINE, manifest))
    assert any(message.startswith(expected) for message in messages), messages


def test_problems_of_both_files_are_reported_together_in_line_order(tmp_path: Path) -> None:
    floe_yaml = PIPELINE.replace("bronze.events", "bronze") + "    owners: x\n"
    messages = problems_of(write_project(tmp_path, floe_yaml, "catalog: {type: nope}\n"))
    assert [m.split(":")[0:2] for m in messages] == [
        ["platform-manifest.yaml", "1"],
        ["floe.yaml", "3"],
        ["floe.yaml", "6"],
    ]


def test_the_manifest_default_type_is_used_for_floe_yaml(tmp_path: Path) -> None:
    floe_yaml = "ingestion:\n  - name: n\n    destination: a.b\n    mine: {source: s}\n"
    write_project(tmp_path, floe_yaml, "plugins: {ingestion: {type: mine}}\n")
    assert Project.load(tmp_path).pipelines[0].plugin == "mine"
    (tmp_path / "platform-manifest.yaml").unlink()
    messages = problems_of(tmp_path)
    assert messages[0].startswith("floe.yaml:4: ingestion[0].mine: unknown key 'mine'")


def test_file_names_follow_the_project_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_project(tmp_path / "proj", PIPELINE.replace("bronze.events", "bronze"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ProjectError, match=r"^proj/floe.yaml:3: ingestion\[0\].destination"):
        Project.load("proj")
    monkeypatch.chdir(tmp_path / "proj")
    with pytest.raises(ProjectError, match=r"^floe.yaml:3: ingestion\[0\].destination"):
        Project.load(".")


def test_missing_project_and_missing_floe_yaml(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match="the project folder does not exist"):
        Project.load(tmp_path / "absent")
    write_project(tmp_path, None, "plugins: {ingestion: {type: dlt}}\n")
    messages = problems_of(tmp_path)
    assert messages == [
        "floe.yaml: does not exist: a floe project needs a floe.yaml listing its "
        "pipelines (`ingestion:`)"
    ]


def test_a_valid_project_loads(tmp_path: Path) -> None:
    write_project(tmp_path, NUMBERS_FLOE_YAML)
    project = Project.load(tmp_path / "floe.yaml", registry=test_registry())
    assert project.root == tmp_path
    assert [c.name for c in project.pipelines] == ["numbers", "letters"]
    assert project.pipeline("letters").primary_key == ["id"]
    assert project.manifest_file is None
    assert project.manifest.default_plugin == "dlt"


def test_loaders_for_single_files(tmp_path: Path) -> None:
    write_project(tmp_path, PIPELINE, "plugins: {ingestion: {type: dlt}}\n")
    assert load_manifest(tmp_path / "platform-manifest.yaml").manifest.default_plugin == "dlt"
    assert load_manifest(None).document is None
    loaded = load_floe_file(tmp_path / "floe.yaml", display="floe.yaml")
    assert loaded.configs[0].source == "pkg.events"
    (tmp_path / "floe.yaml").write_text("ingestion: 3\n")
    with pytest.raises(ProjectError, match=r"floe\.yaml:1: ingestion: expected a list"):
        load_floe_file(tmp_path / "floe.yaml", display="floe.yaml")


def test_select_reports_unknown_names_with_suggestions(tmp_path: Path) -> None:
    write_project(tmp_path, NUMBERS_FLOE_YAML)
    project = Project.load(tmp_path, registry=test_registry())
    assert [c.name for c in project.select(["letters", "numbers", "letters"])] == [
        "letters",
        "numbers",
    ]
    with pytest.raises(ProjectError) as caught:
        project.select(["numbrs", "zzz"])
    assert [str(p) for p in caught.value.problems] == [
        f"<command line>: no pipeline named 'numbrs' in {tmp_path}/floe.yaml; did you mean "
        "'numbers'? Pipelines: numbers, letters",
        f"<command line>: no pipeline named 'zzz' in {tmp_path}/floe.yaml. Pipelines: numbers, "
        "letters",
    ]
