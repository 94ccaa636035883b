"""One canary secret in every secret reference of a project, searched for everywhere afterwards.

The project (the real dlt and Airbyte plugins, a PostgreSQL catalog, lineage and metrics) takes
the canary through each kind of secret reference floe has:

* a dlt source's credentials (``secret_refs: {api_key: ...}``, from the environment); one
  source puts the key it was given into its exception on purpose;
* the catalog's ``uri`` (a PostgreSQL URL whose password is the canary, from the environment)
  and ``s3.secret-access-key`` (a mounted file of the manifest's secrets directory);
* the lineage transport's API key (``observability.lineage.secret_refs``), sent to an HTTP
  receiver on loopback next to a file transport;
* the Airbyte API token (``connection_secret_ref``) of a real emulator that only accepts it.

Success and failure paths run through ``floe validate`` / ``floe run`` as subprocesses with
``--debug`` (every library's DEBUG logs), a run with a secret missing, and Dagster
(``build_definitions`` + ``dg.materialize`` on an instance kept on disk). Then the canary is
looked for in: the commands' output, Python log records, results and their errors, the
exception of the missing secret, Dagster's event log and materialisation/failure metadata,
the lineage events (file and HTTP bodies), the Pushgateway's metrics, the catalog's rows in
PostgreSQL, and the bytes of every file under the project, the warehouse and the Dagster
instance folder. Each secret must also have been *used* (the receiver got the key, the source
got its key, the catalog holds the tables), so a secret that was silently dropped cannot pass.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from badinput.corpus import walk_files

CANARY = f"floecanary{uuid.uuid4().hex[:16]}"
MASK = "**********"

FLOE_YAML = """\
ingestion:
  - name: events
    destination: bronze.events
    description: Events of a feed that needs an API key.
    dlt:
      source: canary_feed.events
      args: {count: 40}
    secret_refs: {api_key: canary-source-key}
  - name: leaky
    destination: bronze.leaky
    dlt:
      source: canary_feed.leaky
    secret_refs: {api_key: canary-source-key}
  - name: users_sync
    type: airbyte
    destination: bronze.users
    airbyte: {connection_id: "{iceberg_connection}"}
  - name: refused_sync
    type: airbyte
    destination: bronze.refunds
    airbyte: {connection_id: "{failing_connection}"}
"""

MANIFEST = """\
plugins:
  ingestion:
    type: dlt
    retry: {max_attempts: 2, initial_delay_seconds: 0, max_delay_seconds: 0}
    additional:
      airbyte:
        config:
          workspace_url: "{airbyte_url}"
          auth: bearer
          connection_secret_ref: canary-airbyte-token
          poll_interval_seconds: 0.05
          max_retries: 0
        retry: {max_attempts: 1}
catalog:
  type: sql
  name: canary
  warehouse: "{warehouse}"
  secret_refs: {uri: canary-catalog-uri, s3.secret-access-key: canary-catalog-key}
observability:
  lineage:
    namespace: canary
    transport:
      type: composite
      transports:
        file: {type: file, log_file_path: lineage/events.jsonl, append: true}
        http: {type: http, url: "{lineage_url}", auth: {type: api_key}}
    secret_refs: {transports.http.auth.apiKey: canary-lineage-key}
  metrics:
    pushgateway_url: "{pushgateway_url}"
    job: "{job}"
secrets:
  directory: "{secrets_dir}"
"""

FEED_PY = '''\
"""A feed that needs an API key; ``leaky`` puts the key it got into its error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt


@dlt.resource
def events(count: int = 10, api_key: str | None = None) -> Iterator[list[dict[str, Any]]]:
    if not api_key:
        raise PermissionError("the feed needs an API key")
    yield [{"id": i, "kind": "view"} for i in range(count)]


@dlt.resource
def leaky(api_key: str | None = None) -> Iterator[dict[str, Any]]:
    yield {"id": 1}
    raise PermissionError(f"the feed refused the key {api_key}")
'''


class Leaks:
    """Where the canary was found (all places are reported at once)."""

    def __init__(self) -> None:
        self.found: list[str] = []
        self.searched = 0

    def check(self, where: str, data: str | bytes) -> None:
        self.searched += 1
        raw = data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape")
        if CANARY.encode() in raw:
            index = raw.index(CANARY.encode())
            context = raw[max(0, index - 80) : index + 40].decode("utf-8", "replace")
            self.found.append(f"{where}: ...{context}...")

    def files(self, root: Path, label: str) -> int:
        count = 0
        for path in walk_files(root):
            self.check(f"{label}/{path.relative_to(root)}", path.read_bytes())
            count += 1
        return count


def _floe(
    args: list[str], project: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "floe_core", *args],
        cwd=project,
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.pushgateway
def test_canary_never_leaks(
    tmp_path: Path,
    postgres_url: str,
    pushgateway_url: str,
    lineage_receiver: tuple[str, list[tuple[str, bytes]]],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from floe_ingestion_airbyte.testing import (
        ICEBERG_CONNECTION_ID,
        ICEBERG_DESTINATION_ID,
        AirbyteEmulator,
        FailureSpec,
        JobPlan,
    )

    lineage_url, received = lineage_receiver
    caplog.set_level(logging.DEBUG)
    leaks = Leaks()
    project = tmp_path / "project"
    warehouse = tmp_path / "warehouse"
    secrets_dir = tmp_path / "mounted-secrets"
    for folder in (project / "lineage", warehouse, secrets_dir):
        folder.mkdir(parents=True)
    (secrets_dir / "canary-catalog-key").write_text(CANARY + "\n")
    user, rest = postgres_url.split("://", 1)[1].split("@", 1)
    catalog_uri = f"postgresql+psycopg2://{user.split(':')[0]}:{CANARY}@{rest}"
    env = {
        "CANARY_SOURCE_KEY": CANARY,
        "CANARY_CATALOG_URI": catalog_uri,
        "CANARY_LINEAGE_KEY": CANARY,
        "CANARY_AIRBYTE_TOKEN": CANARY,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }
    job = f"floe_canary_{uuid.uuid4().hex[:8]}"

    with AirbyteEmulator() as airbyte:
        airbyte.add_api_token(CANARY)
        failing = airbyte.add_connection(
            name="Refunds to Iceberg", destination_id=ICEBERG_DESTINATION_ID, streams=["refunds"]
        )
        airbyte.plan_jobs(failing, *[JobPlan.failed(FailureSpec.auth()) for _ in range(4)])
        (project / "floe.yaml").write_text(
            FLOE_YAML.replace("{iceberg_connection}", ICEBERG_CONNECTION_ID).replace(
                "{failing_connection}", failing
            )
        )
        (project / "platform-manifest.yaml").write_text(
            textwrap.dedent(MANIFEST)
            .replace("{airbyte_url}", airbyte.url)
            .replace("{warehouse}", str(warehouse))
            .replace("{lineage_url}", lineage_url)
            .replace("{pushgateway_url}", pushgateway_url)
            .replace("{job}", job)
            .replace("{secrets_dir}", str(secrets_dir))
        )
        (project / "canary_feed.py").write_text(FEED_PY)
        written_by_test = {"floe.yaml", "platform-manifest.yaml", "canary_feed.py"}

        # -- the command line, DEBUG logs on ----------------------------------------------
        validate = _floe(["validate", "--json", "--debug"], project, env)
        run_human = _floe(["run", "--debug"], project, env)
        run_json = _floe(["run", "--json", "--debug"], project, env)
        missing = _floe(["run", "--debug"], project, {**env, "CANARY_LINEAGE_KEY": ""})
        for name, completed in (
            ("validate --json --debug", validate),
            ("run --debug", run_human),
            ("run --json --debug", run_json),
            ("run --debug (a secret missing)", missing),
        ):
            leaks.check(f"stdout of floe {name}", completed.stdout)
            leaks.check(f"stderr of floe {name}", completed.stderr)
        assert "DEBUG" in run_human.stderr, "--debug must show DEBUG logs"
        assert run_human.returncode == 1, run_human.stderr[-3000:]
        results = {result["pipeline"]: result for result in json.loads(run_json.stdout)}
        assert results["events"]["success"] and results["events"]["rows_loaded"] == 40
        assert results["users_sync"]["success"], results["users_sync"]
        leaky = results["leaky"]["error"]
        assert (leaky["category"], leaky["code"]) == ("PERMANENT", "SOURCE_ERROR")
        assert f"the feed refused the key {MASK}" in leaky["message"]
        refused = results["refused_sync"]["error"]
        assert (refused["category"], refused["code"]) == ("PERMANENT", "AUTH_FAILED")
        assert missing.returncode == 2
        assert "secret 'canary-lineage-key'" in missing.stderr

        # -- the Python API: the missing secret's exception ----------------------------------
        from floe_core.project import Project, ProjectError

        with pytest.raises(ProjectError) as caught:
            Project.load(project, environ={**env, "CANARY_SOURCE_KEY": ""}).run(["events"])
        leaks.check("a ProjectError", f"{caught.value}\n{caught.value.error!r}")

        # -- Dagster, in-process, on an instance kept on disk ---------------------------------
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        dagster_texts, dagster_ok = _materialise(project, tmp_path / "dagster")
        for where, text in dagster_texts:
            leaks.check(where, text)
        assert dagster_ok == {
            "events": True,
            "leaky": False,
            "users_sync": True,
            "refused_sync": False,
        }

    # -- logs of this process (the Dagster run and the Python API) -----------------------------
    for record in caplog.records:
        leaks.check(f"log record of {record.name}", record.getMessage())
        if record.exc_info and record.exc_info[1] is not None:
            leaks.check(f"exception logged by {record.name}", repr(record.exc_info[1]))
        leaks.check(f"traceback logged by {record.name}", record.exc_text or "")
    leaks.check("formatted logs", caplog.text)

    # -- lineage: the file transport and the HTTP bodies; the key was sent -------------------
    events = [
        json.loads(line) for line in (project / "lineage" / "events.jsonl").read_text().splitlines()
    ]
    assert {event["eventType"] for event in events} >= {"START", "COMPLETE", "FAIL"}
    assert MASK in json.dumps([e for e in events if e["eventType"] == "FAIL"])
    assert received and all(auth == f"Bearer {CANARY}" for auth, _ in received)
    for _, body in received:
        leaks.check("an OpenLineage HTTP body", body)

    # -- metrics on the Pushgateway --------------------------------------------------------------
    gateway = requests.get(f"{pushgateway_url}/metrics", timeout=10).text
    assert f'job="{job}"' in gateway
    leaks.check("the Pushgateway's metrics", gateway)

    # -- the catalog's rows in PostgreSQL (the uri secret was used: the tables are there) -----
    catalog_rows = _catalog_rows(postgres_url)
    assert (
        "'events'" in catalog_rows and "'leaky'" not in catalog_rows
    )  # the failed one wrote nothing
    leaks.check("the catalog's rows in PostgreSQL", catalog_rows)

    # -- every byte of every file floe, dlt and Dagster wrote ------------------------------------
    written = [
        path
        for path in walk_files(project)
        if str(path.relative_to(project)) not in written_by_test and "__pycache__" not in path.parts
    ]
    assert any(path.name == "events.jsonl" for path in written)
    for path in written:
        leaks.check(f"project/{path.relative_to(project)}", path.read_bytes())
    assert leaks.files(warehouse, "warehouse") > 0
    assert leaks.files(tmp_path / "dagster", "dagster instance") > 0

    assert not leaks.found, "the canary secret leaked into:\n" + "\n".join(leaks.found)
    assert leaks.searched > 50


def _materialise(
    project: Path, instance_dir: Path
) -> tuple[list[tuple[str, str]], dict[str, bool]]:
    """Materialise every asset of the project, one Dagster run per pipeline.

    Returns what to search (each event log entry, serialised, with its metadata) and, per
    pipeline, whether its run succeeded.
    """
    import dagster as dg

    from floe_core.dagster import build_definitions

    instance_dir.mkdir()
    texts: list[tuple[str, str]] = []
    outcome: dict[str, bool] = {}
    with dg.DagsterInstance.local_temp(tempdir=str(instance_dir)) as instance:
        definitions = build_definitions(project)
        for asset in definitions.assets or []:
            result = dg.materialize(
                [asset], resources=definitions.resources, instance=instance, raise_on_error=False
            )
            pipeline = asset.op.tags["floe/pipeline"]
            outcome[pipeline] = result.success
            for entry in instance.all_logs(result.run_id):
                texts.append((f"Dagster event log of {pipeline}", dg.serialize_value(entry)))
            for event in result.get_asset_materialization_events():
                metadata = event.materialization.metadata
                texts.append((f"materialisation metadata of {pipeline}", _metadata_text(metadata)))
            for failure in result.get_step_failure_events():
                data = failure.step_failure_data
                texts.append((f"failure of {pipeline}", dg.serialize_value(data)))
                if data.user_failure_data is not None:
                    texts.append(
                        (
                            f"failure metadata of {pipeline}",
                            _metadata_text(data.user_failure_data.metadata),
                        )
                    )
    return texts, outcome


def _metadata_text(metadata: Mapping[str, Any]) -> str:
    return "\n".join(f"{key}={getattr(value, 'value', value)!r}" for key, value in metadata.items())


def _catalog_rows(postgres_url: str) -> str:
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    try:
        with engine.connect() as connection:
            names = sqlalchemy.inspect(connection).get_table_names()
            lines = []
            for name in names:
                for row in connection.execute(sqlalchemy.text(f'SELECT * FROM "{name}"')):
                    lines.append(f"{name}: {tuple(row)}")
    finally:
        engine.dispose()
    return "\n".join(lines)
