"""OpenLineage emission: events, facets, naming, transports, failures, secrets.

Events are captured twice over: by an in-memory ``Transport`` and by a real HTTP receiver on
127.0.0.1 that answers like Marquez (``POST /api/v1/lineage`` -> 201). Every event is validated
against the OpenLineage 2-0-2 JSON schema and each facet against the schema its ``_schemaURL``
names (the spec's facet files, and our own ``docs/reference/floe_ingestionError-facet.json``).
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openlineage.client import OpenLineageClient
from openlineage.client.serde import Serde
from openlineage.client.transport import Transport
from referencing import Registry, Resource

from floe_core.catalog import CatalogConfig
from floe_core.config import IngestionConfig
from floe_core.errors import (
    ConfigurationError,
    ErrorCategory,
    ErrorCode,
    IngestionError,
    PartialError,
    TransientError,
)
from floe_core.lineage import (
    INGESTION_ERROR_FACET,
    INGESTION_ERROR_FACET_SCHEMA_ID,
    INGESTION_ERROR_FACET_SCHEMA_URL,
    LineageEmitter,
    LineageRun,
    ParentRun,
    catalog_namespace,
    dataset_naming,
    floe_version,
    producer,
)
from floe_core.result import IngestionResult, SchemaField, TableOutput
from floe_core.secrets import MASK, Redactor

ROOT = Path(__file__).resolve().parent.parent
FACET_SCHEMA = ROOT / "docs" / "reference" / "floe_ingestionError-facet.json"
SPEC_ID = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
RUN_EVENT_SCHEMA_URL = f"{SPEC_ID}#/$defs/RunEvent"
SECRET = "gh-token-9f8e7d6c5b4a"
FIXED_TIME = datetime(2025, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)


# -- the OpenLineage spec -----------------------------------------------------------------------


def _spec_dir() -> Path:
    """The spec shipped in the installed openlineage package, else FLOE_OPENLINEAGE_SPEC_DIR."""
    import openlineage

    for base in openlineage.__path__:
        shipped = sorted(Path(base).rglob("OpenLineage.json"))
        if shipped:
            return shipped[0].parent
    # The platform's shared reference folder beside the checkout (see the root conftest.py).
    reference = Path(__file__).resolve().parents[2] / "shared" / "reference"
    reference = Path(os.environ.get("FLOE_REFERENCE_DIR", reference))
    return Path(os.environ.get("FLOE_OPENLINEAGE_SPEC_DIR", reference / "openlineage"))


@pytest.fixture(scope="session")
def registry() -> Registry:
    """Every schema of the 2-0-2 spec and its facets, plus our facet schema, by ``$id``."""
    spec_dir = _spec_dir()
    if not (spec_dir / "OpenLineage.json").is_file():
        pytest.fail(
            f"OpenLineage spec not found in {spec_dir}: the openlineage package ships none, so "
            "set FLOE_OPENLINEAGE_SPEC_DIR to a folder with OpenLineage.json and facets/"
        )
    resources = []
    for path in [*sorted(spec_dir.rglob("*.json")), FACET_SCHEMA]:
        contents = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(contents, dict) and "$id" in contents:
            resources.append((contents["$id"], Resource.from_contents(contents)))
    found = Registry().with_resources(resources)
    assert SPEC_ID in found
    return found


def _validator(ref: str, registry: Registry) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": ref}, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _facets(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from (event.get("run", {}).get("facets") or {}).items()
    yield from (event.get("job", {}).get("facets") or {}).items()
    for dataset in [*event.get("inputs", []), *event.get("outputs", [])]:
        for key in ("facets", "inputFacets", "outputFacets"):
            yield from (dataset.get(key) or {}).items()


def validate(event: dict[str, Any], registry: Registry) -> None:
    """The event against the 2-0-2 spec, and every facet against the schema it names."""
    _validator(SPEC_ID, registry).validate(event)
    assert event["schemaURL"] == RUN_EVENT_SCHEMA_URL
    for name, facet in _facets(event):
        url = facet["_schemaURL"]
        assert url.startswith("https://"), f"facet {name} has a relative _schemaURL {url!r}"
        assert facet["_producer"].startswith("https://"), name
        _validator(url, registry).validate(facet)


# -- capturing events ---------------------------------------------------------------------------


class MemoryTransport(Transport):
    """An OpenLineage transport that keeps each event as the JSON the HTTP transport sends."""

    kind = "memory"

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []

    def emit(self, event: Any) -> None:
        text = Serde.to_json(event)
        self.raw.append(text)
        self.events.append(json.loads(text))


class RaisingTransport(Transport):
    """A transport whose every emit raises (with whatever message it was given)."""

    kind = "raising"

    def __init__(self, message: str) -> None:
        self.message = message
        self.calls = 0

    def emit(self, event: Any) -> None:
        self.calls += 1
        raise RuntimeError(self.message)


class LineageReceiver:
    """A Marquez-compatible lineage endpoint on 127.0.0.1: ``POST /api/v1/lineage`` -> 201."""

    def __init__(self, *, status: int = 201, delay: float = 0.0) -> None:
        self.status = status
        self.delay = delay
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                if receiver.delay:
                    receiver.release.wait(receiver.delay)
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": body.decode()}
                )
                status = receiver.status if self.path == "/api/v1/lineage" else 404
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def events(self) -> list[dict[str, Any]]:
        return [json.loads(request["body"]) for request in self.requests]

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver() -> Iterator[LineageReceiver]:
    server = LineageReceiver()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def isolated_openlineage_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No OPENLINEAGE_* variable, openlineage.yml or git checkout leaks in from the machine.

    The client writes OPENLINEAGE__* aliases into os.environ when OPENLINEAGE_URL is set;
    they are removed afterwards so no other test sees them.
    """
    for key in list(os.environ):
        if key.startswith("OPENLINEAGE"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    yield
    for key in list(os.environ):
        if key.startswith("OPENLINEAGE"):
            del os.environ[key]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _no_retry_http(url: str, **extra: Any) -> dict[str, Any]:
    return {"type": "http", "url": url, "timeout": 2, "retry": {"total": 0}, **extra}


# -- test data ----------------------------------------------------------------------------------


def _config(**changes: Any) -> IngestionConfig:
    values: dict[str, Any] = {
        "name": "github_events",
        "source": "github.issues",
        "destination_table": "bronze.github_events",
        "plugin": "dlt",
        "description": "GitHub issue events",
        "owners": ["team:data", "user:ada"],
    }
    values.update(changes)
    return IngestionConfig(**values)


def _run(**changes: Any) -> LineageRun:
    values: dict[str, Any] = {
        "pipeline": "github_events",
        "plugin": "dlt",
        "destination_table": "bronze.github_events",
    }
    values.update(changes)
    return LineageRun.new(**values)


def _table(location: str | None, **changes: Any) -> TableOutput:
    values: dict[str, Any] = {
        "identifier": "bronze.github_events",
        "rows": 42,
        "location": location,
        "schema": (
            SchemaField("id", "long", "event id"),
            SchemaField("updated_at", "timestamptz"),
        ),
        "snapshot_id": 7311536483962381004,
        "created": True,
        "size_bytes": 8192,
        "file_count": 2,
    }
    values.update(changes)
    return TableOutput(**values)


def _success(*tables: TableOutput) -> IngestionResult:
    return IngestionResult(
        success=True,
        rows_loaded=sum(t.rows for t in tables),
        tables_created=[t.identifier for t in tables if t.created],
        duration_seconds=1.5,
        pipeline="github_events",
        plugin="dlt",
        tables=list(tables),
    )


def _memory_emitter(**kwargs: Any) -> tuple[LineageEmitter, Any]:
    transport = MemoryTransport()
    kwargs.setdefault("clock", lambda: FIXED_TIME)
    return LineageEmitter(OpenLineageClient(transport=transport), **kwargs), transport


@pytest.fixture
def embedded_catalog(tmp_path: Path) -> dict[str, str]:
    """The description of the embedded catalog, as the runner passes it."""
    return CatalogConfig.embedded().describe(tmp_path / "project")


# -- the run lifecycle --------------------------------------------------------------------------


def test_start_retry_complete_share_one_run(
    registry: Registry, embedded_catalog: dict[str, str]
) -> None:
    emitter, transport = _memory_emitter(catalog=embedded_catalog)
    run = _run()
    error = TransientError(
        ErrorCode.RATE_LIMITED,
        "GitHub API rate limit exceeded",
        source="github",
        retry_after_seconds=60,
    ).error
    location = f"{embedded_catalog['warehouse']}/bronze/github_events"

    emitter.start(run, _config())
    emitter.retrying(run, error, attempt=1, delay_seconds=60.0)
    emitter.retrying(run, error, attempt=2, delay_seconds=120.0)
    emitter.complete(run, _success(_table(location)))

    events = transport.events
    assert [e["eventType"] for e in events] == ["START", "RUNNING", "RUNNING", "COMPLETE"]
    assert {e["run"]["runId"] for e in events} == {run.run_id}
    for event in events:
        validate(event, registry)
        assert event["job"]["namespace"] == "floe"
        assert event["job"]["name"] == "ingestion.github_events"
        assert event["eventTime"] == "2025-03-04T05:06:07.891000+00:00"
        assert event["producer"] == producer() == f"https://floe.dev/floe-core/{floe_version()}"
        assert event["job"]["facets"]["jobType"] == {
            "_producer": producer(),
            "_schemaURL": "https://openlineage.io/spec/facets/2-0-4/JobTypeJobFacet.json"
            "#/$defs/JobTypeJobFacet",
            "processingType": "BATCH",
            "integration": "FLOE",
            "jobType": "INGESTION",
        }
        engine = event["run"]["facets"]["processing_engine"]
        assert (engine["name"], engine["version"]) == ("floe", floe_version())
        tags = {t["key"]: t["value"] for t in event["run"]["facets"]["tags"]["tags"]}
        assert tags["plugin"] == "dlt"
        assert "parent" not in event["run"]["facets"]
        assert event["inputs"] == []

    start, first_retry, second_retry, complete = events
    assert "errorMessage" not in start["run"]["facets"]
    assert "errorMessage" not in complete["run"]["facets"]
    assert INGESTION_ERROR_FACET not in complete["run"]["facets"]
    retry_facet = first_retry["run"]["facets"][INGESTION_ERROR_FACET]
    assert retry_facet == {
        "_producer": producer(),
        "_schemaURL": INGESTION_ERROR_FACET_SCHEMA_URL,
        "category": "TRANSIENT",
        "code": "RATE_LIMITED",
        "retryable": True,
        "retryAfterSeconds": 60,
        "source": "github",
        "attempts": 1,
        "retryDelaySeconds": 60.0,
    }
    assert first_retry["run"]["facets"]["errorMessage"]["message"] == (
        "GitHub API rate limit exceeded"
    )
    assert first_retry["run"]["facets"]["errorMessage"]["programmingLanguage"] == "python"
    assert second_retry["run"]["facets"][INGESTION_ERROR_FACET]["attempts"] == 2
    assert second_retry["run"]["facets"][INGESTION_ERROR_FACET]["retryDelaySeconds"] == 120.0


def test_start_describes_the_job_and_the_destination(
    registry: Registry, embedded_catalog: dict[str, str]
) -> None:
    emitter, transport = _memory_emitter(catalog=embedded_catalog)
    emitter.start(_run(), _config())
    (event,) = transport.events
    validate(event, registry)
    job_facets = event["job"]["facets"]
    assert job_facets["documentation"]["description"] == "GitHub issue events"
    assert [o["name"] for o in job_facets["ownership"]["owners"]] == ["team:data", "user:ada"]
    # Location unknown at START: the catalog table names the dataset, symlinks/catalog only.
    (output,) = event["outputs"]
    catalog_ns = catalog_namespace(embedded_catalog)
    assert catalog_ns == embedded_catalog["uri"]  # sqlite:////abs/.../catalog.db
    assert (output["namespace"], output["name"]) == (catalog_ns, "bronze.github_events")
    assert set(output["facets"]) == {"symlinks", "catalog"}
    assert output.get("outputFacets", {}) == {}


def test_start_without_description_or_owners_has_only_job_type(registry: Registry) -> None:
    emitter, transport = _memory_emitter()
    emitter.start(_run(), _config(description=None, owners=[]))
    (event,) = transport.events
    validate(event, registry)
    assert set(event["job"]["facets"]) == {"jobType"}
    (output,) = event["outputs"]
    assert (output["namespace"], output["name"]) == ("iceberg", "bronze.github_events")
    assert set(output["facets"]) == {"symlinks"}  # no catalog described, no catalog facet


def test_known_destination_location_names_start_like_complete(
    registry: Registry, embedded_catalog: dict[str, str]
) -> None:
    emitter, transport = _memory_emitter(catalog=embedded_catalog)
    location = "s3://lake/warehouse/bronze/github_events"
    run = _run(destination_location=location)
    emitter.start(run, _config())
    emitter.complete(run, _success(_table(location)))
    start, complete = transport.events
    for event in transport.events:
        validate(event, registry)
    assert (
        (start["outputs"][0]["namespace"], start["outputs"][0]["name"])
        == (
            complete["outputs"][0]["namespace"],
            complete["outputs"][0]["name"],
        )
        == ("s3://lake", "warehouse/bronze/github_events")
    )


# -- outputs: naming and facets ----------------------------------------------------------------


def test_complete_output_named_by_location_with_catalog_symlink(
    registry: Registry, embedded_catalog: dict[str, str]
) -> None:
    emitter, transport = _memory_emitter(catalog=embedded_catalog)
    location = f"{embedded_catalog['warehouse']}/bronze/github_events"
    emitter.complete(_run(), _success(_table(location)))
    (event,) = transport.events
    validate(event, registry)
    (output,) = event["outputs"]
    path = embedded_catalog["warehouse"].removeprefix("file://") + "/bronze/github_events"
    assert path.startswith("/")
    assert (output["namespace"], output["name"]) == ("file", path)
    facets = output["facets"]
    assert facets["symlinks"]["identifiers"] == [
        {"namespace": embedded_catalog["uri"], "name": "bronze.github_events", "type": "TABLE"}
    ]
    catalog = facets["catalog"]
    assert (catalog["framework"], catalog["type"], catalog["name"]) == ("iceberg", "sql", "floe")
    assert catalog["metadataUri"] == embedded_catalog["uri"]
    assert catalog["warehouseUri"] == embedded_catalog["warehouse"]
    assert facets["schema"]["fields"] == [
        {"name": "id", "type": "long", "description": "event id", "fields": []},
        {"name": "updated_at", "type": "timestamptz", "fields": []},
    ]
    assert facets["version"]["datasetVersion"] == "7311536483962381004"
    assert facets["lifecycleStateChange"]["lifecycleStateChange"] == "CREATE"
    stats = output["outputFacets"]["outputStatistics"]
    assert (stats["rowCount"], stats["size"], stats["fileCount"]) == (42, 8192, 2)


def test_s3_table_in_postgres_catalog(registry: Registry, tmp_path: Path) -> None:
    catalog = CatalogConfig(
        type="sql",
        name="lake",
        uri="postgresql+psycopg2://floe:hunter2@127.0.0.1:5432/iceberg?sslmode=require",
        warehouse="s3://lake-bucket/warehouse",
    ).describe(tmp_path)
    emitter, transport = _memory_emitter(catalog=catalog)
    emitter.complete(
        _run(),
        _success(
            _table("s3://lake-bucket/warehouse/bronze/github_events", created=False),
            _table(
                "s3://lake-bucket/warehouse/bronze/github_events__labels",
                identifier="bronze.github_events__labels",
                rows=3,
                schema=(),
                size_bytes=None,
                file_count=None,
                snapshot_id=None,
                created=False,
            ),
        ),
    )
    (event,) = transport.events
    validate(event, registry)
    events_table, labels_table = event["outputs"]
    assert (events_table["namespace"], events_table["name"]) == (
        "s3://lake-bucket",
        "warehouse/bronze/github_events",
    )
    assert labels_table["name"] == "warehouse/bronze/github_events__labels"
    symlink = labels_table["facets"]["symlinks"]["identifiers"][0]
    assert symlink == {
        "namespace": "postgresql://127.0.0.1:5432/iceberg",
        "name": "bronze.github_events__labels",
        "type": "TABLE",
    }
    assert labels_table["facets"]["catalog"]["metadataUri"] == (
        "postgresql://127.0.0.1:5432/iceberg"
    )
    assert "lifecycleStateChange" not in events_table["facets"]
    assert set(labels_table["facets"]) == {"symlinks", "catalog"}
    assert labels_table["outputFacets"]["outputStatistics"] == {
        "_producer": producer(),
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-2/"
        "OutputStatisticsOutputDatasetFacet.json#/$defs/OutputStatisticsOutputDatasetFacet",
        "rowCount": 3,
    }
    assert "hunter2" not in json.dumps(event)


def test_unknown_location_falls_back_to_catalog_table(
    registry: Registry, embedded_catalog: dict[str, str]
) -> None:
    emitter, transport = _memory_emitter(catalog=embedded_catalog)
    emitter.complete(_run(), _success(_table(None)))
    emitter.complete(_run(), _success())  # no table reported: the destination still appears
    for event in transport.events:
        validate(event, registry)
    with_table, without = transport.events
    expected = (embedded_catalog["uri"], "bronze.github_events")
    assert (with_table["outputs"][0]["namespace"], with_table["outputs"][0]["name"]) == expected
    assert with_table["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 42
    assert (without["outputs"][0]["namespace"], without["outputs"][0]["name"]) == expected


def test_output_of_a_real_pyiceberg_table(registry: Registry, tmp_path: Path) -> None:
    import pyarrow as pa

    from floe_core.catalog import load_catalog

    project = tmp_path / "project"
    catalog = load_catalog(None, project_dir=project)
    catalog.create_namespace_if_not_exists("bronze")
    data = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
    table = catalog.create_table("bronze.github_events", schema=data.schema)
    table.append(data)
    snapshot = table.current_snapshot()
    assert snapshot is not None
    assert snapshot.summary is not None
    output_table = TableOutput(
        identifier="bronze.github_events",
        rows=3,
        location=table.location(),
        schema=tuple(SchemaField(f.name, str(f.field_type)) for f in table.schema().fields),
        snapshot_id=snapshot.snapshot_id,
        created=True,
        size_bytes=int(snapshot.summary["added-files-size"] or 0),
        file_count=int(snapshot.summary["added-data-files"] or 0),
    )
    emitter, transport = _memory_emitter(catalog=CatalogConfig.embedded().describe(project))
    emitter.complete(_run(), _success(output_table))
    (event,) = transport.events
    validate(event, registry)
    (output,) = event["outputs"]
    assert output["namespace"] == "file"
    assert output["name"] == table.location().removeprefix("file://")
    assert output["name"].startswith(f"{project.resolve()}/.floe/warehouse/")
    assert [f["type"] for f in output["facets"]["schema"]["fields"]] == ["long", "string"]
    assert output["facets"]["version"]["datasetVersion"] == str(snapshot.snapshot_id)
    assert output["outputFacets"]["outputStatistics"]["fileCount"] == 1


@pytest.mark.parametrize(
    ("location", "namespace", "name"),
    [
        ("file:///data/wh/bronze.db/events", "file", "/data/wh/bronze.db/events"),
        ("file:///data/wh/bronze.db/events/", "file", "/data/wh/bronze.db/events"),
        ("file://localhost/data/my%20wh/t", "file", "/data/my wh/t"),
        ("/data/wh/bronze.db/events", "file", "/data/wh/bronze.db/events"),
        ("file://nas01/exports/wh/t", "file://nas01", "/exports/wh/t"),
        ("s3://bucket/warehouse/bronze/events", "s3://bucket", "warehouse/bronze/events"),
        ("s3a://bucket/warehouse/bronze/events", "s3://bucket", "warehouse/bronze/events"),
        ("gs://bucket/wh/events", "gs://bucket", "wh/events"),
        ("hdfs://namenode:8020/wh/events", "hdfs://namenode:8020", "/wh/events"),
        (
            "abfss://lake@account.dfs.core.windows.net/wh/events",
            "abfss://lake@account.dfs.core.windows.net",
            "/wh/events",
        ),
    ],
)
def test_dataset_naming_follows_the_openlineage_spec(
    location: str, namespace: str, name: str
) -> None:
    assert dataset_naming(location) == (namespace, name)


def test_dataset_naming_rejects_an_empty_location() -> None:
    with pytest.raises(ValueError, match="cannot be empty"):
        dataset_naming("  ")


@pytest.mark.parametrize(
    ("catalog", "expected"),
    [
        (None, "iceberg"),
        (
            {"type": "rest", "name": "polaris", "uri": "https://polaris:8181/api/catalog"},
            "https://polaris:8181/api/catalog",
        ),
        (
            {"type": "sql", "name": "c", "uri": "postgresql+psycopg2://u:***@db:5432/cat"},
            "postgresql://db:5432/cat",
        ),
        ({"type": "glue", "name": "g", "uri": "", "warehouse": "s3://b/wh"}, "s3://b/wh"),
        ({"type": "glue", "name": "g", "uri": "", "warehouse": ""}, "iceberg://g"),
        (
            {"type": "glue", "name": "g", "namespace": "arn:aws:glue:eu-west-1:123456789012"},
            "arn:aws:glue:eu-west-1:123456789012",
        ),
    ],
)
def test_catalog_namespace(catalog: dict[str, str] | None, expected: str) -> None:
    assert catalog_namespace(catalog) == expected


# -- failure ------------------------------------------------------------------------------------


def test_fail_carries_error_message_and_floe_error_facet(
    registry: Registry, embedded_catalog: dict[str, str]
) -> None:
    emitter, transport = _memory_emitter(catalog=embedded_catalog)
    error = PartialError(
        ErrorCode.PARTIAL_LOAD, "3 rows failed the schema", source="dlt", failed_records=3
    ).error
    location = f"{embedded_catalog['warehouse']}/bronze/github_events"
    result = IngestionResult(
        success=False,
        rows_loaded=39,
        tables_created=[],
        duration_seconds=2.0,
        error=error,
        tables=[_table(location, rows=39, created=False)],
        attempts=3,
    )
    trace = 'Traceback (most recent call last):\n  File "x.py", line 1\nPartialError: 3 rows'
    emitter.fail(_run(), result, stack_trace=trace)
    (event,) = transport.events
    validate(event, registry)
    assert event["eventType"] == "FAIL"
    facets = event["run"]["facets"]
    assert facets["errorMessage"] == {
        "_producer": producer(),
        "_schemaURL": "https://openlineage.io/spec/facets/1-0-1/ErrorMessageRunFacet.json"
        "#/$defs/ErrorMessageRunFacet",
        "message": "3 rows failed the schema",
        "programmingLanguage": "python",
        "stackTrace": trace,
    }
    assert facets[INGESTION_ERROR_FACET] == {
        "_producer": producer(),
        "_schemaURL": INGESTION_ERROR_FACET_SCHEMA_URL,
        "category": "PARTIAL",
        "code": "PARTIAL_LOAD",
        "retryable": False,
        "failedRecords": 3,
        "source": "dlt",
        "attempts": 3,
    }
    # The part that was committed is still lineage.
    assert event["outputs"][0]["outputFacets"]["outputStatistics"]["rowCount"] == 39
    # The custom facet, on its own, against the published document.
    schema = json.loads(FACET_SCHEMA.read_text(encoding="utf-8"))
    Draft202012Validator(schema, registry=registry).validate(
        {INGESTION_ERROR_FACET: facets[INGESTION_ERROR_FACET]}
    )


def test_fail_without_error_record_still_reports_failure(registry: Registry) -> None:
    emitter, transport = _memory_emitter()
    emitter.fail(_run(), IngestionResult(False, 0, [], 0.1))
    (event,) = transport.events
    validate(event, registry)
    assert event["run"]["facets"]["errorMessage"]["message"] == "run failed"
    assert INGESTION_ERROR_FACET not in event["run"]["facets"]
    assert event["outputs"][0]["name"] == "bronze.github_events"


def test_facet_schema_document_matches_the_emitter(registry: Registry) -> None:
    schema = json.loads(FACET_SCHEMA.read_text(encoding="utf-8"))
    assert schema["$id"] == INGESTION_ERROR_FACET_SCHEMA_ID
    assert INGESTION_ERROR_FACET_SCHEMA_URL.split("#")[0] == schema["$id"]
    Draft202012Validator.check_schema(schema)
    from openlineage.client.facet_v2 import RunFacet

    import floe_core.lineage

    facet_class = floe_core.lineage.FloeIngestionErrorRunFacet  # the class, built lazily
    assert issubclass(facet_class, RunFacet)
    assert facet_class._get_schema() == INGESTION_ERROR_FACET_SCHEMA_URL
    facet = schema["$defs"]["FloeIngestionErrorRunFacet"]["allOf"][1]
    assert facet["properties"]["code"]["enum"] == [code.value for code in ErrorCode]
    assert facet["properties"]["category"]["enum"] == [c.value for c in ErrorCategory]
    assert set(facet["required"]) == {"category", "code", "retryable", "source", "attempts"}
    validator = _validator(INGESTION_ERROR_FACET_SCHEMA_URL, registry)
    good = {
        "_producer": producer(),
        "_schemaURL": INGESTION_ERROR_FACET_SCHEMA_URL,
        "category": "TRANSIENT",
        "code": "TIMEOUT",
        "retryable": True,
        "source": "airbyte",
        "attempts": 1,
    }
    validator.validate(good)
    for bad in (
        {**good, "code": "NOT_A_CODE"},
        {**good, "attempts": 0},
        {key: value for key, value in good.items() if key != "_producer"},
        {key: value for key, value in good.items() if key != "category"},
    ):
        assert not validator.is_valid(bad), bad


# -- parent -------------------------------------------------------------------------------------


def test_parent_and_root_runs(registry: Registry) -> None:
    emitter, transport = _memory_emitter()
    root = ParentRun("airflow", "nightly", str(uuid.uuid4()))
    parent = ParentRun("dagster", "ingest_bronze", str(uuid.uuid4()), root=root)
    run = _run(parent=parent)
    emitter.start(run, _config())
    emitter.complete(run, _success())
    for event in transport.events:
        validate(event, registry)
        facet = event["run"]["facets"]["parent"]
        assert facet["run"]["runId"] == parent.run_id
        assert (facet["job"]["namespace"], facet["job"]["name"]) == ("dagster", "ingest_bronze")
        assert facet["root"]["run"]["runId"] == root.run_id
        assert (facet["root"]["job"]["namespace"], facet["root"]["job"]["name"]) == (
            "airflow",
            "nightly",
        )


def test_run_ids_must_be_uuids() -> None:
    run = _run()
    assert uuid.UUID(run.run_id).version == 7  # OpenLineage's time-ordered run ids
    assert run.job_name == "ingestion.github_events"
    with pytest.raises(ValueError, match=r"LineageRun\.run_id must be a UUID"):
        LineageRun("run-1", "p", "dlt", "bronze.t")
    with pytest.raises(ValueError, match=r"ParentRun\.run_id must be a UUID"):
        ParentRun("dagster", "job", "not-a-uuid")


# -- secrets ------------------------------------------------------------------------------------


def test_planted_secret_never_reaches_the_wire(
    registry: Registry, receiver: LineageReceiver
) -> None:
    redactor = Redactor([SECRET])
    memory_emitter, transport = _memory_emitter(redactor=redactor)
    http_emitter = LineageEmitter.from_transport_config(
        _no_retry_http(receiver.url), redactor=redactor
    )
    error = TransientError(
        ErrorCode.RATE_LIMITED,
        f"GET https://api.github.com/issues?token={SECRET} answered 429",
        source="github",
    ).error
    trace = f"Traceback:\n  requests.get(url, headers={{'Authorization': 'token {SECRET}'}})"
    for emitter in (memory_emitter, http_emitter):
        run = _run()
        emitter.start(run, _config(description=f"uses {SECRET}"))
        emitter.retrying(run, error, attempt=1, delay_seconds=1.0)
        emitter.fail(
            run,
            IngestionResult(False, 0, [], 1.0, error=error, attempts=2),
            stack_trace=trace,
        )
    assert len(transport.raw) == len(receiver.requests) == 3
    for text in [*transport.raw, *(r["body"] for r in receiver.requests)]:
        assert SECRET not in text
        assert MASK in text
    failed = receiver.events[-1]
    validate(failed, registry)
    assert failed["run"]["facets"]["errorMessage"]["message"] == (
        f"GET https://api.github.com/issues?token={MASK} answered 429"
    )
    assert MASK in failed["run"]["facets"]["errorMessage"]["stackTrace"]


# -- HTTP transport and configuration -----------------------------------------------------------


def test_http_transport_posts_marquez_compatible_events(
    registry: Registry, receiver: LineageReceiver, embedded_catalog: dict[str, str]
) -> None:
    emitter = LineageEmitter.from_transport_config(
        {
            "type": "http",
            "url": receiver.url,
            "auth": {"type": "api_key", "apiKey": "marquez-key-123"},
        },
        namespace="analytics",
        catalog=embedded_catalog,
    )
    run = _run()
    emitter.start(run, _config())
    emitter.complete(run, _success(_table("s3://lake/wh/bronze/github_events")))
    assert emitter.close()
    assert [r["path"] for r in receiver.requests] == ["/api/v1/lineage"] * 2
    for request in receiver.requests:
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["headers"]["Authorization"] == "Bearer marquez-key-123"
        assert "marquez-key-123" not in request["body"]
    start, complete = receiver.events
    for event in receiver.events:
        validate(event, registry)
        assert event["job"]["namespace"] == "analytics"
        assert event["run"]["runId"] == run.run_id
    assert (start["eventType"], complete["eventType"]) == ("START", "COMPLETE")
    assert complete["outputs"][0]["namespace"] == "s3://lake"


def test_default_client_honours_openlineage_url_and_namespace_env(
    registry: Registry, receiver: LineageReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENLINEAGE_URL", receiver.url)
    monkeypatch.setenv("OPENLINEAGE_NAMESPACE", "prod")
    from_env = LineageEmitter()
    explicit = LineageEmitter(namespace="staging")
    from_env.start(_run(), _config())
    explicit.start(_run(), _config())
    assert [e["job"]["namespace"] for e in receiver.events] == ["prod", "staging"]
    for event in receiver.events:
        validate(event, registry)


def test_default_client_reads_openlineage_yml_with_documented_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_cwd, named = LineageReceiver(), LineageReceiver()
    try:
        Path("openlineage.yml").write_text(
            f"transport:\n  type: http\n  url: {in_cwd.url}\n", encoding="utf-8"
        )
        LineageEmitter().start(_run(), _config())
        assert len(in_cwd.requests) == 1

        config_file = tmp_path / "elsewhere.yml"
        config_file.write_text(f"transport:\n  type: http\n  url: {named.url}\n", "utf-8")
        monkeypatch.setenv("OPENLINEAGE_CONFIG", str(config_file))
        LineageEmitter().start(_run(), _config())
        assert (len(in_cwd.requests), len(named.requests)) == (1, 1)

        monkeypatch.setenv("OPENLINEAGE_DISABLED", "true")
        LineageEmitter().start(_run(), _config())
        assert (len(in_cwd.requests), len(named.requests)) == (1, 1)
    finally:
        in_cwd.stop()
        named.stop()


def test_invalid_transport_config_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError) as caught:
        LineageEmitter.from_transport_config({"type": "no_such_transport"})
    assert caught.value.code is ErrorCode.INVALID_CONFIG
    assert "'no_such_transport'" in str(caught.value)
    with pytest.raises(ConfigurationError, match=r"'http' is misconfigured.*url"):
        LineageEmitter.from_transport_config({"type": "http"})


# -- emission never raises ----------------------------------------------------------------------


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "floe_core.lineage" and r.levelname == "WARNING"
    ]


def test_transport_that_raises_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    transport = RaisingTransport(f"broker rejected credentials {SECRET}")
    emitter = LineageEmitter(OpenLineageClient(transport=transport), redactor=Redactor([SECRET]))
    run = _run()
    error = TransientError(ErrorCode.TIMEOUT, "slow").error
    with caplog.at_level("WARNING", logger="floe_core.lineage"):
        emitter.start(run, _config())
        emitter.retrying(run, error, 1, 0.5)
        emitter.complete(run, _success())
        emitter.fail(run, IngestionResult(False, 0, [], 0.0, error=error))
    assert transport.calls == 4
    messages = _warnings(caplog)
    assert len(messages) == 4
    for state, message in zip(["START", "RUNNING", "COMPLETE", "FAIL"], messages, strict=True):
        assert f"OpenLineage {state} event for job floe/ingestion.github_events" in message
        assert run.run_id in message
        assert "RuntimeError: broker rejected credentials" in message
        assert SECRET not in message


def test_backend_down_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    emitter = LineageEmitter.from_transport_config(
        _no_retry_http(f"http://127.0.0.1:{_closed_port()}")
    )
    began = time.monotonic()
    with caplog.at_level("WARNING", logger="floe_core.lineage"):
        emitter.start(_run(), _config())
        emitter.complete(_run(), _success())
    assert time.monotonic() - began < 5
    messages = _warnings(caplog)
    assert len(messages) == 2
    assert "ConnectionError" in messages[0]


def test_backend_timeout_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    slow = LineageReceiver(delay=3.0)
    try:
        emitter = LineageEmitter.from_transport_config({**_no_retry_http(slow.url), "timeout": 0.2})
        began = time.monotonic()
        with caplog.at_level("WARNING", logger="floe_core.lineage"):
            emitter.start(_run(), _config())
        assert time.monotonic() - began < 2
    finally:
        slow.stop()
    (message,) = _warnings(caplog)
    assert "START" in message
    assert "timed out" in message.lower()


def test_backend_error_status_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    failing = LineageReceiver(status=500)
    try:
        emitter = LineageEmitter.from_transport_config(_no_retry_http(failing.url))
        with caplog.at_level("WARNING", logger="floe_core.lineage"):
            emitter.start(_run(), _config())
    finally:
        failing.stop()
    assert len(failing.requests) == 1
    (message,) = _warnings(caplog)
    assert "500" in message


def test_an_event_that_cannot_be_built_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    emitter, transport = _memory_emitter(clock=lambda: datetime(2025, 1, 1))  # naive: invalid
    with caplog.at_level("WARNING", logger="floe_core.lineage"):
        emitter.start(_run(), _config())
    assert transport.events == []
    (message,) = _warnings(caplog)
    assert "timezone-aware" in message


def test_importing_lineage_stays_light() -> None:
    code = (
        "import sys, floe_core.lineage\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('openlineage', 'pyiceberg', 'dlt', 'dagster', 'pyarrow')]\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_ingestion_error_record_round_trips_through_the_facet(registry: Registry) -> None:
    emitter, transport = _memory_emitter()
    error = IngestionError(
        ErrorCategory.CONFIGURATION, ErrorCode.SECRET_MISSING, "secret 'x' is not set", "floe"
    )
    emitter.fail(_run(), IngestionResult(False, 0, [], 0.0, error=error, attempts=1))
    (event,) = transport.events
    validate(event, registry)
    facet = event["run"]["facets"][INGESTION_ERROR_FACET]
    assert (facet["category"], facet["code"], facet["retryable"]) == (
        error.category.value,
        error.code.value,
        error.retryable,
    )
    assert "retryAfterSeconds" not in facet
    assert "failedRecords" not in facet
    assert "retryDelaySeconds" not in facet
