"""The `floe` command line: plugins, validate, run, schema; exit codes; bad inputs.

Commands run in-process through typer's CliRunner with an app built around a registry holding
the test plugin (a real plugin writing Iceberg with pyiceberg), and as a real subprocess
(`python -m floe_core`) finding the plugin through an installed entry point.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from click.testing import Result
from project_helpers import (
    FIXTURES_DIR,
    NUMBERS_FLOE_YAML,
    files_under,
    read_rows,
    test_registry,
    write_project,
)
from typer.testing import CliRunner

from floe_core.cli import EXIT_INTERNAL, EXIT_INVALID, EXIT_OK, EXIT_RUN_FAILED, create_app
from floe_core.project.schemas import render_schema
from floe_core.registry import PluginRegistry

SECRET_FLOE_YAML = """\
ingestion:
  - name: numbers
    type: testsource
    destination: bronze.numbers
    testsource: {source: numbers, rows: 2}
    secret_refs:
      token: source-token
"""


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")


def invoke(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    registry: Callable[[], PluginRegistry] = test_registry,
) -> Result:
    app = create_app(registry_factory=registry, environ=env or {})
    return CliRunner().invoke(app, args)


# -- the happy paths -----------------------------------------------------------------------


def test_run_prints_progress_lines_and_a_summary_table(tmp_path: Path) -> None:
    write_project(tmp_path, NUMBERS_FLOE_YAML)
    result = invoke(["run", "-p", str(tmp_path)])
    assert result.exit_code == EXIT_OK, result.output
    assert "✓ numbers: 3 rows into bronze.numbers" in result.stderr
    assert "✓ letters: 2 rows into bronze.letters" in result.stderr
    table = result.stdout
    assert "Ingestion runs" in table
    for cell in ("pipeline", "rows", "tables", "duration", "numbers", "bronze.letters", "ok"):
        assert cell in table
    assert len(read_rows(tmp_path, "bronze.numbers")) == 3


def test_run_selected_names_as_json(tmp_path: Path) -> None:
    write_project(tmp_path, NUMBERS_FLOE_YAML)
    result = invoke(["run", "-p", str(tmp_path), "letters", "--json"])
    assert result.exit_code == EXIT_OK, result.output
    documents = json.loads(result.stdout)
    assert [d["pipeline"] for d in documents] == ["letters"]
    letters = documents[0]
    assert set(letters) >= {
        "pipeline",
        "plugin",
        "success",
        "rows_loaded",
        "tables_created",
        "duration_seconds",
        "error",
        "attempts",
        "tables",
    }
    assert (letters["success"], letters["rows_loaded"]) == (True, 2)
    assert letters["tables_created"] == ["bronze.letters"]
    assert letters["tables"][0]["identifier"] == "bronze.letters"
    assert result.stderr == ""
    assert not (tmp_path / ".floe" / "warehouse" / "bronze" / "numbers").exists()


def test_a_failed_pipeline_exits_1_and_says_why(tmp_path: Path) -> None:
    floe_yaml = NUMBERS_FLOE_YAML.replace("rows: 2", "rows: 2\n      fail: permanent")
    write_project(tmp_path, floe_yaml)
    result = invoke(["run", "-p", str(tmp_path)])
    assert result.exit_code == EXIT_RUN_FAILED
    assert "✗ letters: PERMANENT/AUTH_FAILED from floe: the source refused the credentials" in (
        result.stderr
    )
    assert "failed" in result.stdout and "PERMANENT/AUTH_FAILED" in result.stdout
    assert result.stderr.count("the source refused the credentials") == 1  # no duplicate log
    as_json = invoke(["run", "-p", str(tmp_path), "--json"])
    assert as_json.exit_code == EXIT_RUN_FAILED
    letters = json.loads(as_json.stdout)[1]
    assert letters["success"] is False
    assert (letters["error"]["category"], letters["error"]["code"]) == ("PERMANENT", "AUTH_FAILED")


def test_validate_a_valid_project(tmp_path: Path) -> None:
    write_project(tmp_path, NUMBERS_FLOE_YAML)
    result = invoke(["validate", "-p", str(tmp_path)])
    assert result.exit_code == EXIT_OK, result.output
    assert "✓ plugin testsource 0.1.0 loads (2 pipelines)" in result.stdout
    assert f"project {tmp_path}: valid (2 pipeline(s))" in result.stdout
    report = json.loads(invoke(["validate", "-p", str(tmp_path), "--json"]).stdout)
    assert report["valid"] is True and report["problems"] == []
    assert report["pipelines"] == ["numbers", "letters"]
    assert files_under(tmp_path) == {"floe.yaml"}


def test_plugins_table_and_json_show_broken_plugins(tmp_path: Path) -> None:
    def registry() -> PluginRegistry:
        broken = EntryPoint("broken", "floe_project_fixtures.broken:Plugin", "floe.ingestion")
        found = PluginRegistry(entry_points=lambda: [broken])
        found.register(test_registry().get("testsource"))
        return found

    result = invoke(["plugins"], registry=registry)
    assert result.exit_code == EXIT_OK, result.output
    assert "testsource" in result.stdout and "0.1.0" in result.stdout
    assert "broken" in result.stdout
    assert "✗ broken: ingestion plugin 'broken' failed to load" in result.stdout
    assert "floe_missing_dependency_for_tests" in result.stdout
    rows = {
        row["name"]: row
        for row in json.loads(invoke(["plugins", "--json"], registry=registry).stdout)
    }
    assert rows["testsource"]["status"] == "ok"
    assert rows["testsource"]["is_external"] is False
    assert rows["broken"]["status"] == "broken"
    assert "floe_missing_dependency_for_tests" in rows["broken"]["error"]


def test_plugins_when_none_is_installed() -> None:
    result = invoke(["plugins"], registry=lambda: PluginRegistry(entry_points=lambda: []))
    assert result.exit_code == EXIT_OK
    assert "No ingestion plugins are installed" in result.stdout


def test_schema_command(tmp_path: Path) -> None:
    result = invoke(["schema", "floe.yaml"])
    assert result.exit_code == EXIT_OK
    assert result.stdout == render_schema("floe.schema.json")
    assert invoke(["schema"]).exit_code == EXIT_INVALID
    written = invoke(["schema", "--output", str(tmp_path)])
    assert written.exit_code == EXIT_OK
    assert (tmp_path / "platform-manifest.schema.json").read_text() == render_schema(
        "platform-manifest.schema.json"
    )


def test_version_and_help() -> None:
    assert invoke(["--version"]).stdout.startswith("floe ")
    help_text = invoke(["--help"]).stdout
    for command in ("plugins", "validate", "run", "schema"):
        assert command in help_text


def test_debug_shows_the_traceback_and_plain_errors_do_not(tmp_path: Path) -> None:
    write_project(tmp_path, NUMBERS_FLOE_YAML)
    plain = invoke(["run", "-p", str(tmp_path), "nope"])
    assert plain.exit_code == EXIT_INVALID
    assert "Traceback" not in plain.output
    assert plain.stderr.startswith("error [CONFIGURATION/INVALID_CONFIG]: ")
    debug = invoke(["run", "-p", str(tmp_path), "nope", "--debug"])
    assert debug.exit_code == EXIT_INVALID
    assert "Traceback (most recent call last)" in debug.stderr


def test_unexpected_failures_are_exit_3_and_ask_for_a_report(tmp_path: Path) -> None:
    write_project(tmp_path, NUMBERS_FLOE_YAML)

    def exploding_registry() -> PluginRegistry:
        raise RuntimeError("registry exploded")

    result = invoke(["run", "-p", str(tmp_path)], registry=exploding_registry)
    assert result.exit_code == EXIT_INTERNAL
    assert "floe failed unexpectedly: RuntimeError: registry exploded" in result.stderr
    assert "rerun with --debug" in result.stderr
    as_json = invoke(["run", "-p", str(tmp_path), "--json"], registry=exploding_registry)
    assert json.loads(as_json.stdout)["error"]["code"] == "INTERNAL"


def test_logs_are_redacted(tmp_path: Path) -> None:
    floe_yaml = SECRET_FLOE_YAML.replace("rows: 2}", "rows: 2, fail: transient}")
    manifest = "plugins: {ingestion: {retry: {max_attempts: 2, initial_delay_seconds: 0}}}\n"
    write_project(tmp_path, floe_yaml, manifest)
    result = invoke(["run", "-p", str(tmp_path)], env={"SOURCE_TOKEN": "tok-1234"})
    assert result.exit_code == EXIT_RUN_FAILED
    assert "retrying" in result.stderr  # the runner's warning is shown
    assert "tok-1234" not in result.output


# -- bad inputs: each gives its message, code, a non-zero exit, and writes nothing -----------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


GOOD = NUMBERS_FLOE_YAML


@dataclass
class Case:
    id: str
    floe_yaml: str | None
    command: str  # run | validate
    code: str
    expected: list[str]  # substrings of the human output (file:line: key: ...)
    manifest: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    category: str = "CONFIGURATION"
    secrets: dict[str, str] = field(default_factory=dict)


CASES = [
    Case(
        "malformed-floe-yaml",
        "ingestion:\n  - name: a\n    destination: [x\n",
        "run",
        "INVALID_CONFIG",
        ["floe.yaml:4:1: malformed YAML"],
    ),
    Case(
        "malformed-manifest",
        GOOD,
        "validate",
        "INVALID_CONFIG",
        ["platform-manifest.yaml:2:1: malformed YAML"],
        manifest="plugins: {\n",
    ),
    Case(
        "unknown-top-level-key",
        GOOD.replace("ingestion:", "ingestions:"),
        "run",
        "INVALID_CONFIG",
        [
            "floe.yaml:1: ingestions: unknown key 'ingestions'; did you mean 'ingestion'?",
            "floe.yaml:1: ingestion: missing required key 'ingestion'",
        ],
    ),
    Case(
        "unknown-pipeline-key",
        GOOD.replace("    description:", "    descripton:"),
        "validate",
        "INVALID_CONFIG",
        [
            "floe.yaml:5: ingestion[0].descripton: unknown key 'descripton'; did you mean 'description'?"
        ],
    ),
    Case(
        "unknown-manifest-key",
        GOOD,
        "run",
        "INVALID_CONFIG",
        [
            "platform-manifest.yaml:4: plugins.ingestion.retry.max_attemps: unknown key 'max_attemps'; did you mean 'max_attempts'?"
        ],
        manifest="plugins:\n  ingestion:\n    retry:\n      max_attemps: 2\n",
    ),
    Case(
        "wrong-type",
        GOOD.replace("owners: [data-team]", "owners: data-team"),
        "run",
        "INVALID_CONFIG",
        [
            "floe.yaml:6: ingestion[0].owners: expected a list (`- item` lines or [a, b]), got 'data-team'"
        ],
    ),
    Case(
        "wrong-type-in-manifest",
        GOOD,
        "run",
        "INVALID_CONFIG",
        [
            "platform-manifest.yaml:1: observability.metrics: expected a mapping (indented `key: value` lines), got 'yes please'"
        ],
        manifest="observability: {metrics: yes please}\n",
    ),
    Case(
        "unknown-plugin",
        GOOD.replace(
            "type: testsource\n    destination: bronze.numbers",
            "type: testsorce\n    destination: bronze.numbers",
        ).replace(
            "    testsource:\n      source: numbers", "    testsorce:\n      source: numbers"
        ),
        "run",
        "PLUGIN_NOT_FOUND",
        [
            "floe.yaml:3: ingestion[0].type: no ingestion plugin named 'testsorce'. Did you mean 'testsource'?"
        ],
    ),
    Case(
        "unknown-default-plugin",
        "ingestion:\n  - name: n\n    destination: a.b\n    dlt: {source: x}\n",
        "validate",
        "PLUGIN_NOT_FOUND",
        [
            "floe.yaml:2: ingestion[0]: no ingestion plugin named 'dlt'.",
            "(the manifest's default plugin)",
        ],
    ),
    Case(
        "bad-table-identifier",
        GOOD.replace("bronze.letters", "bronze.letters-2"),
        "run",
        "INVALID_CONFIG",
        [
            "floe.yaml:12: ingestion[1].destination: 'letters-2' in destination table 'bronze.letters-2' is not a valid Iceberg identifier"
        ],
    ),
    Case(
        "merge-without-primary-key",
        GOOD.replace("    primary_key: id\n", ""),
        "run",
        "INVALID_CONFIG",
        [
            "floe.yaml:13: ingestion[1].write_disposition: write_disposition 'merge' needs a primary_key"
        ],
    ),
    Case(
        "incremental-without-cursor",
        GOOD.replace("    owners: [data-team]\n", "    incremental: {initial_value: 1}\n"),
        "run",
        "INVALID_CONFIG",
        [
            "floe.yaml:6: ingestion[0].incremental.cursor_column: missing required key 'cursor_column'"
        ],
    ),
    Case(
        "missing-secret",
        SECRET_FLOE_YAML,
        "run",
        "SECRET_MISSING",
        [
            "floe.yaml:7: ingestion[0].secret_refs.token: secret 'source-token' (needed for "
            "numbers.token) is not set: set environment variable SOURCE_TOKEN"
        ],
    ),
    Case(
        "empty-secret-env",
        SECRET_FLOE_YAML,
        "run",
        "SECRET_MISSING",
        [
            "floe.yaml:7: ingestion[0].secret_refs.token: secret 'source-token' (needed for numbers.token) is empty"
        ],
        env={"SOURCE_TOKEN": "  "},
    ),
    Case(
        "empty-secret-file",
        SECRET_FLOE_YAML,
        "validate",
        "SECRET_MISSING",
        [
            "floe.yaml:7: ingestion[0].secret_refs.token: secret 'source-token'",
            "is empty",
            "or create file",
        ],
        manifest="secrets: {directory: secrets}\n",
        secrets={"source-token": "\n"},
    ),
    Case(
        "missing-plugin-settings-secret",
        GOOD,
        "run",
        "SECRET_MISSING",
        [
            "platform-manifest.yaml:4: plugins.ingestion.config.api_token_secret_ref: secret 'api-token'"
        ],
        manifest="plugins:\n  ingestion:\n    type: testsource\n    config: {api_token_secret_ref: api-token}\n",
    ),
    Case(
        "missing-catalog-secret",
        GOOD,
        "validate",
        "SECRET_MISSING",
        ["platform-manifest.yaml:1: catalog.secret_refs.uri: secret 'catalog-uri'"],
        manifest="catalog: {type: sql, secret_refs: {uri: catalog-uri}}\n",
    ),
    Case(
        "duplicate-pipeline-names",
        GOOD.replace("name: letters", "name: numbers"),
        "validate",
        "INVALID_CONFIG",
        ["floe.yaml:10: ingestion[1].name: duplicate pipeline name 'numbers' (also ingestion[0])"],
    ),
    Case(
        "duplicate-yaml-key",
        GOOD.replace(
            "    description: generated numbers\n", "    description: a\n    description: b\n"
        ),
        "run",
        "INVALID_CONFIG",
        [
            "floe.yaml:6: ingestion[0].description: the key 'description' is given twice (first at line 5)"
        ],
    ),
    Case(
        "unknown-pipeline-name",
        GOOD,
        "run",
        "INVALID_CONFIG",
        ["no pipeline named 'numbrs'", "did you mean 'numbers'?"],
        args=["numbrs"],
    ),
    Case(
        "permanent-in-retryable-categories",
        GOOD,
        "run",
        "INVALID_CONFIG",
        [
            "platform-manifest.yaml:1: plugins.ingestion.retry.retryable_categories: PERMANENT errors are never retried"
        ],
        manifest="plugins: {ingestion: {retry: {retryable_categories: [TRANSIENT, PERMANENT]}}}\n",
    ),
    Case(
        "missing-floe-yaml",
        None,
        "run",
        "INVALID_CONFIG",
        ["floe.yaml: does not exist: a floe project needs a floe.yaml"],
        manifest="plugins: {ingestion: {type: testsource}}\n",
    ),
    Case(
        "empty-floe-yaml",
        "",
        "validate",
        "INVALID_CONFIG",
        [
            "floe.yaml:1: the file is empty; expected a mapping with an `ingestion:` list of pipelines"
        ],
    ),
    Case(
        "boolean-key",
        GOOD.replace("    owners: [data-team]\n", "    yes: 1\n"),
        "run",
        "INVALID_CONFIG",
        ["floe.yaml:6: ingestion[0].yes: key 'yes' is read by YAML as bool True"],
    ),
    Case(
        "catalog-unreachable",
        GOOD,
        "validate",
        "CATALOG_UNAVAILABLE",
        [
            "platform-manifest.yaml:1: catalog: catalog 'floe' (sql, postgresql+psycopg2://floe:***@127.0.0.1:",
            "cannot be reached",
        ],
        manifest="catalog: {type: sql, uri: 'postgresql+psycopg2://floe:pw@127.0.0.1:PORT/floe', warehouse: TMP/warehouse}\n",
        category="TRANSIENT",
    ),
    Case(
        "plugin-rejects-pipeline",
        GOOD.replace("rows: 3", "rows: 3\n      colour: red"),
        "validate",
        "INVALID_CONFIG",
        [
            "floe.yaml:2: ingestion[0]: plugin 'testsource' rejected the pipeline: unknown testsource option(s) colour"
        ],
    ),
    Case(
        "bad-lineage-transport",
        GOOD,
        "run",
        "INVALID_CONFIG",
        [
            "platform-manifest.yaml:1: observability.lineage.transport: OpenLineage transport 'carrier-pigeon' is misconfigured"
        ],
        manifest="observability: {lineage: {transport: {type: carrier-pigeon}}}\n",
    ),
    Case(
        "block-of-another-type",
        GOOD.replace(
            "    testsource:\n      source: letters\n      rows: 2",
            "    dlt:\n      source: letters",
        ),
        "run",
        "INVALID_CONFIG",
        ["floe.yaml:15: ingestion[1].dlt: a dlt: block in a pipeline of type 'testsource'"],
    ),
    Case(
        "project-folder-missing",
        None,
        "run",
        "INVALID_CONFIG",
        ["the project folder does not exist"],
        args=["-p", "no-such-folder"],
    ),
]


def _prepare(case: Case, root: Path) -> list[str]:
    if case.floe_yaml is not None or case.manifest is not None or case.secrets:
        manifest = None
        if case.manifest is not None:
            manifest = case.manifest.replace("PORT", str(_closed_port()))
            manifest = manifest.replace("TMP", str(root.parent))
        write_project(root, case.floe_yaml, manifest)
    for name, value in case.secrets.items():
        (root / "secrets").mkdir(exist_ok=True)
        (root / "secrets" / name).write_text(value)
    project = ["-p", str(root)] if "-p" not in case.args else []
    args = [arg if arg != "no-such-folder" else str(root / arg) for arg in case.args]
    return [case.command, *project, *args]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    args = _prepare(case, root)
    before = files_under(root)

    human = invoke(args, env=case.env)
    assert human.exit_code == EXIT_INVALID, human.output
    text = " ".join(human.output.split())  # rich may wrap; compare without line breaks
    for expected in case.expected:
        assert " ".join(expected.split()) in text, human.output
    assert "Traceback" not in human.output

    as_json = invoke([*args, "--json"], env=case.env)
    assert as_json.exit_code == EXIT_INVALID
    document = json.loads(as_json.stdout)
    problems = document.get("problems") or []
    codes = {(p["category"], p["code"]) for p in problems}
    assert (case.category, case.code) in codes, document
    for problem in problems:
        assert problem["message"] and problem["text"]

    assert files_under(root) == before, "a failed command must not write anything"
    assert not (root / ".floe").exists()


def test_there_are_at_least_twenty_bad_input_cases() -> None:
    assert len({case.id for case in CASES}) >= 20
    assert len({case.code for case in CASES}) >= 4


# -- the real command, in a subprocess -----------------------------------------------------


def _installed_plugin(site: Path) -> None:
    """A distribution (metadata only) publishing the test plugin under floe.ingestion."""
    dist_info = site / "floe_project_testsource-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: floe-project-testsource\nVersion: 0.1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[floe.ingestion]\ntestsource = floe_project_fixtures.plugin:IcebergTestPlugin\n"
    )


def _floe(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(FIXTURES_DIR)])}
    return subprocess.run(
        [sys.executable, "-m", "floe_core", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


def test_python_m_floe_core_end_to_end(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _installed_plugin(site)
    project = write_project(tmp_path / "project", NUMBERS_FLOE_YAML)

    plugins = _floe(["plugins", "--json"], site, tmp_path)
    assert plugins.returncode == 0, plugins.stderr
    rows = {row["name"]: row for row in json.loads(plugins.stdout)}
    assert rows["testsource"]["distribution"] == "floe-project-testsource"
    assert rows["testsource"]["status"] == "ok"

    validate = _floe(["validate"], site, project)
    assert validate.returncode == 0, validate.stdout + validate.stderr

    run = _floe(["run", "-p", "project", "--json"], site, tmp_path)
    assert run.returncode == 0, run.stderr
    assert [r["rows_loaded"] for r in json.loads(run.stdout)] == [3, 2]
    assert len(read_rows(project, "bronze.numbers")) == 3

    (project / "floe.yaml").write_text(textwrap.dedent(GOOD.replace("bronze.numbers", "bronze")))
    broken = _floe(["run", "-p", "project"], site, tmp_path)
    assert broken.returncode == EXIT_INVALID
    assert broken.stderr.startswith(
        "error [CONFIGURATION/INVALID_CONFIG]: project/floe.yaml:4: ingestion[0].destination:"
    )
    assert "Traceback" not in broken.stderr


def test_cli_and_project_modules_import_nothing_heavy() -> None:
    code = (
        "import sys, floe_core, floe_core.cli, floe_core.project, floe_core.__main__\n"
        "heavy = {'pyiceberg', 'dlt', 'dagster', 'pyarrow', 'openlineage'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert completed.stdout.strip() == "[]"
