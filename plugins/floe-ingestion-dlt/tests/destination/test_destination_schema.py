"""Schema evolution: new columns, allowed widenings, and SCHEMA_MISMATCH before any write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed
from floe_dest_helpers import PipelineFactory, rows
from pyiceberg.catalog import Catalog

from floe_core.errors import ErrorCategory, ErrorCode, PermanentError
from floe_ingestion_dlt.destination.committer import CommitContext, TableWrite, commit_table
from floe_ingestion_dlt.destination.failures import SchemaMismatchError


def _parquet(path: Path, **columns: pa.Array) -> str:
    pq.write_table(pa.table(columns), path)
    return str(path)


def test_new_columns_are_added(catalog: Catalog, make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()
    pipeline.run([{"id": 1}], table_name="things")
    pipeline.run([{"id": 2, "colour": "red", "size": 3.5}], table_name="things")

    schema = catalog.load_table("bronze.things").schema()
    assert [f.name for f in schema.fields][:1] == ["id"]
    assert {"colour", "size"} <= {f.name for f in schema.fields}
    assert rows(catalog, "bronze.things", "id", "colour", "size") == [
        (1, None, None),
        (2, "red", 3.5),
    ]


@pytest.mark.parametrize(
    ("old", "new", "widened"),
    [
        (pa.array([1, 2], pa.int32()), pa.array([3_000_000_000], pa.int64()), "long"),
        (pa.array([1.5], pa.float32()), pa.array([2.25], pa.float64()), "double"),
        (
            pa.array([Decimal("1.25")], pa.decimal128(5, 2)),
            pa.array([Decimal("123456.75")], pa.decimal128(12, 2)),
            "decimal(12, 2)",
        ),
    ],
    ids=["int-to-long", "float-to-double", "decimal-precision"],
)
def test_allowed_widenings_are_applied(
    tmp_path: Path, catalog: Catalog, old: pa.Array, new: pa.Array, widened: str
) -> None:
    first = _parquet(tmp_path / "a.parquet", v=old)
    second = _parquet(tmp_path / "b.parquet", v=new)
    identifier = ("bronze", "widen")
    catalog.create_namespace("bronze")
    commit_table(
        catalog, TableWrite("widen", identifier, "append", (first,)), CommitContext("1", "p")
    )
    commit_table(
        catalog, TableWrite("widen", identifier, "append", (second,)), CommitContext("2", "p")
    )

    table = catalog.load_table(identifier)
    assert str(table.schema().find_field("v").field_type) == widened
    values = table.scan().to_arrow().column("v").to_pylist()
    assert sorted(values) == sorted(old.to_pylist() + new.to_pylist())


def test_narrower_incoming_type_is_read_as_the_table_type(tmp_path: Path, catalog: Catalog) -> None:
    catalog.create_namespace("bronze")
    identifier = ("bronze", "narrow")
    wide = _parquet(tmp_path / "a.parquet", v=pa.array([1], pa.int64()))
    narrow = _parquet(tmp_path / "b.parquet", v=pa.array([2], pa.int32()))
    commit_table(
        catalog, TableWrite("narrow", identifier, "append", (wide,)), CommitContext("1", "p")
    )
    commit_table(
        catalog, TableWrite("narrow", identifier, "append", (narrow,)), CommitContext("2", "p")
    )

    table = catalog.load_table(identifier)
    assert str(table.schema().find_field("v").field_type) == "long"
    assert sorted(table.scan().to_arrow().column("v").to_pylist()) == [1, 2]


def test_incompatible_change_fails_before_anything_is_written(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    @dlt.source(name="app")
    def app(seen: Any) -> list[Any]:
        @dlt.resource(name="sessions")
        def sessions() -> Iterator[dict[str, Any]]:
            yield {"id": 1, "started": seen}

        @dlt.resource(name="clicks")
        def clicks() -> Iterator[dict[str, Any]]:
            yield {"id": 1, "page": "home"}

        return [clicks, sessions]

    make_pipeline(workdir="a").run(app("yesterday"))
    before = {
        name: catalog.load_table(f"bronze.{name}").current_snapshot()
        for name in ("sessions", "clicks")
    }

    # a fresh working directory: dlt infers `started` as a timestamp this time
    with pytest.raises(PipelineStepFailed) as failed:
        make_pipeline(workdir="b").run(app(dt.datetime(2024, 5, 1, tzinfo=dt.UTC)))

    error = failed.value.exception
    assert isinstance(error, PermanentError)
    assert error.error.category is ErrorCategory.PERMANENT
    assert error.error.code is ErrorCode.SCHEMA_MISMATCH
    message = str(error)
    assert "bronze.sessions" in message
    assert "'started'" in message
    assert "string" in message
    assert "timestamptz" in message
    assert error.error.details is not None
    assert error.error.details["column"] == "started"
    assert error.error.details["old_type"] == "string"
    assert error.error.details["new_type"] == "timestamptz"
    for name, snapshot in before.items():  # no table of the load was written, not even clicks
        assert catalog.load_table(f"bronze.{name}").current_snapshot() == snapshot


def test_commit_refuses_incompatible_files_without_writing(
    tmp_path: Path, catalog: Catalog
) -> None:
    catalog.create_namespace("bronze")
    identifier = ("bronze", "typed")
    text = _parquet(tmp_path / "a.parquet", v=pa.array(["x"]))
    stamp = _parquet(tmp_path / "b.parquet", v=pa.array([1], pa.timestamp("us", tz="UTC")))
    commit_table(
        catalog, TableWrite("typed", identifier, "append", (text,)), CommitContext("1", "p")
    )
    snapshot = catalog.load_table(identifier).current_snapshot()

    with pytest.raises(SchemaMismatchError) as refused:
        commit_table(
            catalog, TableWrite("typed", identifier, "append", (stamp,)), CommitContext("2", "p")
        )

    assert refused.value.error.details == {
        "table": "bronze.typed",
        "column": "v",
        "old_type": "string",
        "new_type": "timestamptz",
        "mismatches": [{"column": "v", "old": "string", "new": "timestamptz"}],
    }
    assert catalog.load_table(identifier).current_snapshot() == snapshot
    data_dir = Path(catalog.load_table(identifier).location().removeprefix("file://")) / "data"
    assert not any("floe-2-" in p.name for p in data_dir.iterdir())  # nothing placed


def test_long_into_double_is_a_mismatch(tmp_path: Path, catalog: Catalog) -> None:
    catalog.create_namespace("bronze")
    identifier = ("bronze", "nums")
    ints = _parquet(tmp_path / "a.parquet", v=pa.array([1], pa.int64()))
    floats = _parquet(tmp_path / "b.parquet", v=pa.array([1.5], pa.float64()))
    commit_table(
        catalog, TableWrite("nums", identifier, "append", (ints,)), CommitContext("1", "p")
    )
    with pytest.raises(SchemaMismatchError, match=r"column 'v' is long in Iceberg .* double"):
        commit_table(
            catalog, TableWrite("nums", identifier, "append", (floats,)), CommitContext("2", "p")
        )
