"""The canary test: a secret planted through every secret reference never shows anywhere.

One project uses every kind of secret reference floe knows:

* a pipeline's ``secret_refs`` resolved from an environment variable, and another one resolved
  from the mounted secrets directory of the manifest;
* a plugin setting (``api_token_secret_ref``) of ``plugins.ingestion.config``;
* a catalog property (``catalog.secret_refs``);
* the lineage transport's credentials (``observability.lineage.secret_refs``), sent to a real
  HTTP server on loopback (the server must receive it: the secret is used, not dropped).

The test plugin writes Iceberg through the catalog with pyiceberg and, in one pipeline, puts
its secret into an exception on purpose. The project is validated and run through the CLI
(human, ``--json`` and ``--debug``) and through the Python API; then the canary is searched in
log records, the CLI's stdout/stderr, results, exceptions, JSON output, lineage events (file
transport and HTTP bodies), the metrics exposition (in-process and on the Pushgateway) and
every file floe wrote under the project folder.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest
import requests
from project_helpers import test_registry, write_project
from prometheus_client import generate_latest
from typer.testing import CliRunner

from floe_core.cli import EXIT_INVALID, EXIT_RUN_FAILED, create_app
from floe_core.errors import ErrorCode
from floe_core.project import Project, ProjectError

MARKER = f"CANARY{uuid.uuid4().hex[:12]}"
SECRETS = {
    "SOURCE_TOKEN": f"{MARKER}-source-token",
    "API_TOKEN": f"{MARKER}-api-token",
    "CATALOG_KEY": f"{MARKER}-catalog-key",
    "LINEAGE_KEY": f"{MARKER}-lineage-key",
}
MOUNTED = {"mounted-token": f"{MARKER}-mounted-token"}

FLOE_YAML = """\
ingestion:
  - name: good
    type: testsource
    destination: bronze.good
    testsource: {source: good, rows: 4}
    secret_refs: {token: mounted-token}
  - name: leaky
    type: testsource
    destination: bronze.leaky
    testsource: {source: leaky, rows: 1, fail: leak}
    secret_refs: {token: source-token}
"""

MANIFEST = """\
plugins:
  ingestion:
    type: testsource
    config: {{api_token_secret_ref: api-token}}
    retry: {{max_attempts: 2, initial_delay_seconds: 0, max_delay_seconds: 0,
             retryable_categories: [TRANSIENT]}}
catalog:
  type: sql
  secret_refs: {{s3.secret-access-key: catalog-key}}
observability:
  lineage:
    namespace: canary
    transport:
      type: composite
      transports:
        file: {{type: file, log_file_path: lineage/events.jsonl, append: true}}
        http: {{type: http, url: "{lineage_url}", auth: {{type: api_key}}}}
    secret_refs: {{transports.http.auth.apiKey: lineage-key}}
  metrics:
    pushgateway_url: "{pushgateway_url}"
    job: {job}
secrets:
  directory: {secrets_dir}
"""


def _assert_clean(where: str, text: str) -> None:
    assert MARKER not in text, f"the canary secret leaked into {where}"


@pytest.mark.pushgateway
def test_canary_secret_never_leaks(
    tmp_path: Path,
    pushgateway_url: str,
    lineage_receiver: tuple[str, list[tuple[str, bytes]]],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    lineage_url, received = lineage_receiver
    secrets_dir = tmp_path / "mounted-secrets"
    secrets_dir.mkdir()
    for name, value in MOUNTED.items():
        (secrets_dir / name).write_text(value + "\n")
    job = f"floe_canary_{uuid.uuid4().hex[:8]}"
    project_dir = tmp_path / "project"
    write_project(
        project_dir,
        FLOE_YAML,
        MANIFEST.format(
            lineage_url=lineage_url,
            pushgateway_url=pushgateway_url,
            job=job,
            secrets_dir=secrets_dir,
        ),
    )
    (project_dir / "lineage").mkdir()
    written_by_test = {"floe.yaml", "platform-manifest.yaml"}
    caplog.set_level(logging.DEBUG)
    app = create_app(registry_factory=test_registry, environ=SECRETS)
    runner = CliRunner()

    # -- the CLI: validate and run, human, JSON and debug output ----------------------------
    outputs = {}
    for args in (
        ["validate", "-p", str(project_dir)],
        ["validate", "-p", str(project_dir), "--json"],
        ["run", "-p", str(project_dir)],
        ["run", "-p", str(project_dir), "--json"],
        ["run", "-p", str(project_dir), "--debug"],
    ):
        result = runner.invoke(app, args)
        outputs[" ".join(args[:1] + args[3:])] = result
        _assert_clean(f"stdout of floe {' '.join(args)}", result.stdout)
        _assert_clean(f"stderr of floe {' '.join(args)}", result.stderr)
    assert outputs["validate"].exit_code == 0, outputs["validate"].output
    assert outputs["run"].exit_code == EXIT_RUN_FAILED
    documents = json.loads(outputs["run --json"].stdout)
    assert [d["success"] for d in documents] == [True, False]
    leaky = documents[1]["error"]
    assert leaky["code"] == "UNKNOWN"
    assert "the source refused the token **********" in leaky["message"]
    assert "**********" in json.dumps(leaky["details"])

    # -- the Python API: results, their repr, and an exception that names a secret -----------
    project = Project.load(project_dir, registry=test_registry(), environ=SECRETS)
    results = project.run()
    assert results[0].success and results[0].rows_loaded == 4
    for result in results:
        _assert_clean("a result", repr(result) + json.dumps(result.to_dict(), default=str))
        _assert_clean("an error", str(result.error))
    broken = Project.load(
        project_dir, registry=test_registry(), environ={**SECRETS, "API_TOKEN": ""}
    )
    with pytest.raises(ProjectError) as caught:
        broken.run()
    assert caught.value.code is ErrorCode.SECRET_MISSING
    assert "secret 'api-token'" in str(caught.value)
    _assert_clean("a ProjectError", str(caught.value) + repr(caught.value.error))

    # -- logs ---------------------------------------------------------------------------------
    for record in caplog.records:
        _assert_clean(f"log record of {record.name}", record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            _assert_clean(f"exception logged by {record.name}", str(record.exc_info[1]))
    _assert_clean("formatted logs", caplog.text)

    # -- lineage: the file transport's events and the HTTP bodies; the key was used ----------
    events_file = project_dir / "lineage" / "events.jsonl"
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    assert {e["eventType"] for e in events} >= {"START", "COMPLETE", "FAIL"}
    fail = next(e for e in events if e["eventType"] == "FAIL")
    assert "**********" in json.dumps(fail["run"]["facets"])
    assert received, "the HTTP lineage transport received nothing"
    for authorization, body in received:
        assert authorization == f"Bearer {SECRETS['LINEAGE_KEY']}"
        _assert_clean("an OpenLineage HTTP body", body.decode())

    # -- metrics --------------------------------------------------------------------------------
    assert project.metrics is not None
    _assert_clean("the metrics exposition", generate_latest(project.metrics.registry).decode())
    gateway = requests.get(f"{pushgateway_url}/metrics", timeout=5).text
    assert f'job="{job}"' in gateway
    _assert_clean("the Pushgateway", gateway)

    # -- every file floe wrote under the project ------------------------------------------------
    written = [
        path
        for path in project_dir.rglob("*")
        if path.is_file() and str(path.relative_to(project_dir)) not in written_by_test
    ]
    assert any(path.suffix == ".parquet" for path in written)
    assert any(path.name.endswith(".metadata.json") for path in written)
    assert (project_dir / ".floe" / "catalog.db") in written
    for path in written:
        _assert_clean(f"file {path.relative_to(project_dir)}", path.read_bytes().decode("latin-1"))


def test_a_missing_secret_is_named_never_valued(tmp_path: Path) -> None:
    write_project(tmp_path, FLOE_YAML)
    environ = {"SOURCE_TOKEN": f"{MARKER}-present"}
    app = create_app(registry_factory=test_registry, environ=environ)
    result = CliRunner().invoke(app, ["validate", "-p", str(tmp_path), "--json"])
    assert result.exit_code == EXIT_INVALID
    problems = json.loads(result.stdout)["problems"]
    assert [(p["key"], p["code"]) for p in problems] == [
        ("ingestion[0].secret_refs.token", "SECRET_MISSING")
    ]
    assert "secret 'mounted-token'" in problems[0]["message"]
    assert "MOUNTED_TOKEN" in problems[0]["message"]
    _assert_clean("validate output", result.output)
