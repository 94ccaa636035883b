"""The plugin's run: figures, write dispositions, table naming, partial loads, settings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pytest

from floe_core.catalog import CatalogConfig
from floe_core.errors import ErrorCategory, ErrorCode
from floe_core.testing.sources import MockSource, sample_rows
from floe_ingestion_dlt.plugin import DltIngestionPlugin, DltPipelineHandle

from dlt_project import Project


def rows(start: int, count: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {"id": i, "name": f"row {i}", "amount": i * 1.5, **extra}
        for i in range(start, start + count)
    ]


def test_result_reports_what_iceberg_committed(project: Project):
    cfg = project.config(destination_table="bronze.events")
    result = project.run(cfg, source=MockSource(sample_rows(7)))
    assert result.success, result.error
    assert (result.rows_loaded, result.tables_created) == (7, ["bronze.events"])
    assert (result.pipeline, result.plugin) == ("test_pipeline", "dlt")
    (table,) = result.tables
    iceberg = project.catalog().load_table("bronze.events")
    assert table.identifier == "bronze.events"
    assert table.rows == 7
    assert table.created is True
    assert table.snapshot_id == iceberg.current_snapshot().snapshot_id
    assert table.location == iceberg.location()
    assert {f.name: f.type for f in table.schema}.items() >= {
        "id": "long",
        "name": "string",
        "amount": "double",
        "active": "boolean",
    }.items()
    assert table.file_count >= 1
    assert table.size_bytes > 0
    assert result.details["rows_by_table"] == {"bronze.events": 7}
    assert len(result.details["load_ids"]) == 1
    assert result.duration_seconds > 0
    project.assert_table("bronze.events", sample_rows(7))


def test_arrow_batches_are_loaded_as_they_are(project: Project):
    source = MockSource(sample_rows(1000), as_arrow=True, batch_size=300)
    result = project.run(project.config(), source=source)
    assert result.rows_loaded == 1000
    project.assert_table("bronze.events", sample_rows(1000))


def test_a_second_append_adds_rows_and_creates_nothing(project: Project):
    cfg = project.config()
    project.run(cfg, source=rows(1, 5))
    second = project.run(cfg, source=rows(6, 3))
    assert (second.rows_loaded, second.tables_created) == (3, [])
    assert second.tables[0].created is False
    project.assert_table("bronze.events", rows(1, 8))


def test_replace_swaps_the_table_in_one_snapshot(project: Project):
    cfg = project.config(write_disposition="replace")
    project.run(cfg, source=rows(1, 50))
    before = len(project.catalog().load_table("bronze.events").history())
    result = project.run(cfg, source=rows(100, 4))
    assert result.rows_loaded == 4
    project.assert_table("bronze.events", rows(100, 4))
    assert len(project.catalog().load_table("bronze.events").history()) == before + 1


def test_merge_updates_inserts_and_keeps_the_last_duplicate_of_a_load(project: Project):
    cfg = project.config(write_disposition="merge", primary_key="id")
    project.run(cfg, source=rows(1, 10))
    load = [*rows(5, 2, name="first"), {"id": 5, "name": "second", "amount": 0.5}, *rows(11, 1)]
    result = project.run(cfg, source=load)
    assert result.success, result.error
    expected = {row["id"]: row for row in rows(1, 10)}
    expected.update({6: rows(6, 1, name="first")[0], 11: rows(11, 1)[0]})
    expected[5] = {"id": 5, "name": "second", "amount": 0.5}
    project.assert_table("bronze.events", list(expected.values()))


def test_merge_with_a_cursor_keeps_the_newest_row_of_a_key(project: Project):
    cfg = project.config(
        write_disposition="merge",
        primary_key="id",
        incremental={"cursor_column": "version"},
    )
    load = [
        {"id": 1, "version": 3, "name": "newest"},
        {"id": 1, "version": 1, "name": "oldest"},
        {"id": 2, "version": 1, "name": "only"},
    ]
    result = project.run(cfg, source=load)
    assert result.success, result.error
    project.assert_table(
        "bronze.events",
        [{"id": 1, "version": 3, "name": "newest"}, {"id": 2, "version": 1, "name": "only"}],
    )


def test_merge_when_the_source_adds_a_column(project: Project):
    cfg = project.config(write_disposition="merge", primary_key="id")
    project.run(cfg, source=rows(1, 3))
    result = project.run(cfg, source=rows(2, 3, country="NL"))
    assert result.success, result.error
    project.assert_table("bronze.events", [rows(1, 1, country=None)[0], *rows(2, 3, country="NL")])


def test_the_table_keeps_its_configured_spelling(project: Project):
    cfg = project.config(destination_table="bronze.GitHubEvents")
    result = project.run(cfg, source=rows(1, 2))
    assert result.tables_created == ["bronze.GitHubEvents"]
    project.assert_table("bronze.GitHubEvents", rows(1, 2))


def test_several_resources_land_one_table_each(project: Project):
    orders = dlt.resource(rows(1, 4), name="orders")
    refunds = dlt.resource(rows(1, 2), name="refunds")
    result = project.run(
        project.config(destination_table="sales.ignored"), source=[orders, refunds]
    )
    assert result.tables_created == ["sales.orders", "sales.refunds"]
    project.assert_table("sales.orders", rows(1, 4))
    project.assert_table("sales.refunds", rows(1, 2))


def test_a_generator_and_an_arrow_table_are_sources_too(project: Project):
    def generate() -> Any:
        yield from rows(1, 3)

    assert project.run(project.config(), source=generate()).rows_loaded == 3
    table = pa.Table.from_pylist(rows(4, 2))
    assert project.run(project.config(), source=table).rows_loaded == 2
    project.assert_table("bronze.events", rows(1, 5))


def test_nested_lists_become_child_tables_reported_in_the_result(project: Project):
    order = {"id": 1, "lines": [{"sku": "a", "qty": 2}, {"sku": "b", "qty": 1}]}
    result = project.run(project.config(destination_table="bronze.orders"), source=[order])
    assert result.rows_by_table == {"bronze.orders": 1, "bronze.orders__lines": 2}
    lines = project.rows("bronze.orders__lines", key="sku")
    assert [(line["sku"], line["qty"]) for line in lines] == [("a", 2), ("b", 1)]


def test_a_source_failing_midway_commits_nothing_and_says_why(project: Project):
    source = MockSource(sample_rows(6)).fail_after(4)
    result = project.run_through_runner(project.config(), source=source)
    assert (result.error.category, result.error.code) == (
        ErrorCategory.TRANSIENT,
        ErrorCode.NETWORK_ERROR,
    )
    assert result.rows_loaded == 0
    assert not project.table_exists("bronze.events")
    retried = project.run(project.config(), source=MockSource(sample_rows(6)))
    assert retried.rows_loaded == 6  # nothing of the failed extract was left pending
    project.assert_table("bronze.events", sample_rows(6))


def block_table_data(project: Project, identifier: str, schema_rows: list[dict[str, Any]]) -> None:
    """Create ``identifier`` and put a plain file where its data folder goes: writes fail."""
    catalog = project.catalog()
    namespace = identifier.split(".")[0]
    catalog.create_namespace_if_not_exists(namespace)
    arrow = pa.Table.from_pylist(schema_rows)
    table = catalog.create_table(identifier, schema=arrow.schema)
    data = Path(table.location().removeprefix("file://")) / "data"
    data.parent.mkdir(parents=True, exist_ok=True)
    data.write_text("not a folder")


def test_a_partial_load_is_partial_and_the_rerun_completes_it_once(
    project: Project, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LOAD__RAISE_ON_MAX_RETRIES", "1")  # dlt retries a failing job 5x by default
    orders, refunds = rows(1, 6), rows(1, 3)
    block_table_data(project, "sales.refunds", refunds)
    cfg = project.config(destination_table="sales.ignored")

    def source(order_rows: list[dict[str, Any]], refund_rows: list[dict[str, Any]]) -> Any:
        return [dlt.resource(order_rows, name="orders"), dlt.resource(refund_rows, name="refunds")]

    first = project.run_through_runner(cfg, source=source(orders, refunds))
    error = first.error
    assert (error.category, error.code) == (ErrorCategory.PARTIAL, ErrorCode.PARTIAL_LOAD)
    assert error.failed_records == 3
    assert (first.rows_loaded, first.rows_by_table) == (6, {"sales.orders": 6})
    project.assert_table("sales.orders", orders)

    # the operator fixes the table; the next run finishes the pending package first
    blocked = project.catalog().load_table("sales.refunds").location().removeprefix("file://")
    Path(blocked, "data").unlink()
    second = project.run(cfg, source=source([], []))
    assert second.success, second.error
    assert second.rows_loaded == 3  # the orders were committed by the first run
    assert "sales.orders" in second.details["skipped_commits"]
    project.assert_table("sales.orders", orders)
    project.assert_table("sales.refunds", refunds)


def test_create_pipeline_writes_nothing(project: Project):
    # `floe validate` calls it: no catalog file, no dlt working folder until the run
    handle = project.plugin.create_pipeline(project.config())
    assert list(project.root.iterdir()) == []
    result = project.run(project.config(), source=rows(0, 2))
    assert result.success, result.error
    assert (project.root / ".floe" / "catalog.db").is_file()
    assert handle.config.name == "test_pipeline"


def test_settings_are_refused_not_ignored(project: Project):
    from floe_core.errors import ConfigurationError
    from floe_core.plugin import PluginContext

    with pytest.raises(ConfigurationError) as caught:
        DltIngestionPlugin(PluginContext(project_dir=project.root, settings={"workers": 4}))
    assert caught.value.error.code is ErrorCode.INVALID_CONFIG
    assert "workers" in caught.value.error.message


def test_the_trace_dlt_pickles_is_removed(project: Project):
    # dlt keeps each step's exception text in trace.pickle; a source's error may quote a key
    def leaky():
        yield {"id": 1}
        raise RuntimeError("feed refused key hunter2-canary")

    result = project.run_through_runner(project.config(), source=dlt.resource(leaky, name="events"))
    assert not result.success
    working = project.root / ".floe" / "state" / "dlt" / "test_pipeline"
    assert working.is_dir()
    for path in working.rglob("*"):
        if path.is_file():
            assert b"hunter2-canary" not in path.read_bytes(), path


def test_run_checks_what_it_is_given(project: Project):
    handle = project.plugin.create_pipeline(project.config())
    assert isinstance(handle, DltPipelineHandle)
    assert handle.pipeline.pipeline_name == "test_pipeline"
    assert Path(handle.pipeline.pipelines_dir) == project.root / ".floe" / "state" / "dlt"
    with pytest.raises(TypeError, match="create_pipeline"):
        project.plugin.run(object())
    with pytest.raises(TypeError, match="batch_size"):
        project.plugin.run(handle, batch_size=10)


# -- get_destination_config ---------------------------------------------------------------------


def test_destination_config_of_the_embedded_catalog(project: Project):
    settings = project.plugin.get_destination_config()
    assert settings["destination"] == "iceberg"
    catalog = settings["catalog"]
    assert catalog["type"] == "sql"
    assert catalog["uri"] == f"sqlite:///{project.root / '.floe' / 'catalog.db'}"
    assert catalog["warehouse"] == (project.root / ".floe" / "warehouse").as_uri()


def test_destination_config_holds_references_never_values(project: Project):
    config = CatalogConfig(
        type="sql",
        uri="postgresql+psycopg2://floe:hunter2-pw@db.internal:5432/catalog",
        warehouse="s3://lake/warehouse",
        properties={"s3.region": "eu-west-1", "s3.secret-access-key": "AKIA-inline-value"},
        secret_refs={"s3.access-key-id": "lake-key-id"},
    )
    for given in (config, config.model_dump(mode="json")):
        settings = project.plugin.get_destination_config(given)
        text = json.dumps(settings)
        assert "hunter2-pw" not in text
        assert "AKIA-inline-value" not in text
        catalog = settings["catalog"]
        assert catalog["uri"] == "postgresql+psycopg2://floe:***@db.internal:5432/catalog"
        assert catalog["warehouse"] == "s3://lake/warehouse"
        assert catalog["properties"]["s3.access-key-id"] == {"secret_ref": "lake-key-id"}
        assert catalog["properties"]["s3.region"] == "eu-west-1"
        assert catalog["properties"]["s3.secret-access-key"]["secret_ref"] is None


def test_destination_config_with_the_uri_in_a_secret(project: Project):
    config = CatalogConfig(type="rest", secret_refs={"uri": "catalog-url", "token": "cat-token"})
    catalog = project.plugin.get_destination_config(config)["catalog"]
    assert catalog["uri"] == {"secret_ref": "catalog-url"}
    assert catalog["properties"]["token"] == {"secret_ref": "cat-token"}


# -- packaging -----------------------------------------------------------------------------------


def test_importing_the_plugin_loads_neither_dlt_nor_dagster_nor_pyiceberg():
    code = (
        "import sys, floe_ingestion_dlt, floe_ingestion_dlt.plugin;"
        "print(sorted(m for m in ('dlt', 'dagster', 'pyiceberg') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_plugin_metadata():
    assert (DltIngestionPlugin.name, DltIngestionPlugin.is_external) == ("dlt", False)
    import floe_ingestion_dlt

    assert DltIngestionPlugin.version == floe_ingestion_dlt.__version__
