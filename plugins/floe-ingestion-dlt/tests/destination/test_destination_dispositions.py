"""Write dispositions through a real dlt pipeline into a real SQLite SqlCatalog."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.parquet as pq
from floe_dest_helpers import PipelineFactory, rows
from pyiceberg.catalog import Catalog
from pyiceberg.table.snapshots import Operation

from floe_ingestion_dlt.destination import load_commits
from floe_ingestion_dlt.destination.committer import CommitContext, TableWrite, commit_table
from floe_ingestion_dlt.destination.summary import LOAD_ID, lineage


def _load_ids(catalog: Catalog, identifier: str) -> list[str]:
    table = catalog.load_table(identifier)
    return [s.summary[LOAD_ID] for s in lineage(table)]


def test_append_commits_once_per_table_per_load(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline()
    batches = [pa.table({"id": list(range(i * 100, i * 100 + 100))}) for i in range(5)]

    @dlt.resource(name="events", write_disposition="append")
    def events() -> Iterator[pa.Table]:
        yield from batches

    first = pipeline.run(events())
    second = pipeline.run(events())

    assert rows(catalog, "bronze.events", "id") == sorted([(i,) for i in range(500)] * 2)
    load_ids = _load_ids(catalog, "bronze.events")
    assert load_ids == [second.loads_ids[0], first.loads_ids[0]]  # one snapshot per load
    [commit] = load_commits(
        catalog, first.loads_ids[0], namespace="bronze", pipeline_name="test_pipeline"
    )
    assert (commit.identifier, commit.rows, commit.created, commit.skipped) == (
        "bronze.events",
        500,
        True,
        False,
    )
    assert commit.location.startswith("file://")
    assert [f.name for f in commit.schema] == ["id"]
    [again] = load_commits(
        catalog, second.loads_ids[0], namespace="bronze", pipeline_name="test_pipeline"
    )
    assert not again.created


def test_arrow_files_are_registered_without_rewrite(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline()
    data = pa.table(
        {
            "id": pa.array(range(1000), pa.int64()),
            "at": pa.array(range(1000), pa.timestamp("us", tz="UTC")),
            "price": pa.array([1.5] * 1000, pa.float64()),
        }
    )
    pipeline.run([data], table_name="prices")

    table = catalog.load_table("bronze.prices")
    [task] = list(table.scan().plan_files())
    assert "floe-" in task.file.file_path  # dlt's own parquet file, placed in the table
    assert table.location() in task.file.file_path
    assert table.properties["schema.name-mapping.default"]
    assert table.scan().to_arrow().sort_by("id").column("id").to_pylist() == list(range(1000))


def test_misfit_types_are_rewritten_to_iceberg_types(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline()
    data = pa.table(
        {
            "id": pa.array([1, 2, 3], pa.uint16()),
            "at": pa.array([1_000, 2_000, 3_000], pa.timestamp("ns", tz="Europe/Berlin")),
        }
    )
    pipeline.run([data], table_name="odd_types")

    table = catalog.load_table("bronze.odd_types")
    assert [str(f.field_type) for f in table.schema().fields] == ["int", "timestamptz"]
    assert rows(catalog, "bronze.odd_types", "id") == [(1,), (2,), (3,)]


def test_replace_is_one_atomic_overwrite(catalog: Catalog, make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()

    @dlt.resource(name="stock", write_disposition="replace")
    def stock(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield from items

    pipeline.run(stock([{"sku": "a", "qty": 1}, {"sku": "b", "qty": 2}]))
    before = catalog.load_table("bronze.stock").current_snapshot()
    assert before is not None
    pipeline.run(stock([{"sku": "c", "qty": 3}]))

    table = catalog.load_table("bronze.stock")
    snapshot = table.current_snapshot()
    assert snapshot is not None
    assert snapshot.summary is not None
    assert snapshot.parent_snapshot_id == before.snapshot_id  # no empty snapshot in between
    assert snapshot.summary.operation == Operation.OVERWRITE
    assert rows(catalog, "bronze.stock", "sku", "qty") == [("c", 3)]
    old = table.scan(snapshot_id=before.snapshot_id).to_arrow().to_pylist()
    assert sorted((r["sku"], r["qty"]) for r in old) == [("a", 1), ("b", 2)]

    pipeline.run(stock([]))  # a replace with no rows empties the table, still atomically
    table = catalog.load_table("bronze.stock")
    assert table.scan().to_arrow().num_rows == 0
    assert table.scan(snapshot_id=snapshot.snapshot_id).to_arrow().num_rows == 1


def test_replace_empties_nested_tables_without_rows(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline()

    @dlt.resource(name="carts", write_disposition="replace")
    def carts(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield from items

    pipeline.run(carts([{"id": 1, "items": [{"sku": "a"}, {"sku": "b"}]}]))
    assert rows(catalog, "bronze.carts__items", "sku") == [("a",), ("b",)]
    pipeline.run(carts([{"id": 2, "items": []}]))

    assert rows(catalog, "bronze.carts", "id") == [(2,)]
    assert rows(catalog, "bronze.carts__items", "sku") == []


def test_merge_updates_inserts_and_deduplicates_by_sort_column(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline()

    @dlt.resource(
        name="users",
        write_disposition="merge",
        primary_key="id",
        columns={"version": {"dedup_sort": "desc"}},
    )
    def users(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield from items

    pipeline.run(
        users([{"id": 1, "name": "ann", "version": 1}, {"id": 2, "name": "bob", "version": 1}])
    )
    pipeline.run(
        users(
            [
                {"id": 2, "name": "bob-new", "version": 3},
                {"id": 2, "name": "bob-older", "version": 2},  # same key, older: loses
                {"id": 3, "name": "cy", "version": 1},
            ]
        )
    )

    assert rows(catalog, "bronze.users", "id", "name", "version") == [
        (1, "ann", 1),
        (2, "bob-new", 3),
        (3, "cy", 1),
    ]
    table = catalog.load_table("bronze.users")
    assert len(list(lineage(table))) == 2  # one delete-insert snapshot per load
    current = table.current_snapshot()
    assert current is not None
    assert current.summary is not None
    assert current.summary["floe.rows"] == "2"
    assert current.summary["floe.deleted-rows"] == "1"


def test_merge_without_sort_column_keeps_the_last_row(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline()

    @dlt.resource(name="kv", write_disposition="merge", primary_key="k")
    def kv() -> Iterator[dict[str, Any]]:
        yield from [{"k": "a", "v": 1}, {"k": "b", "v": 1}, {"k": "a", "v": 2}, {"k": "a", "v": 3}]

    pipeline.run(kv())
    assert rows(catalog, "bronze.kv", "k", "v") == [("a", 3), ("b", 1)]


def test_merge_keeps_the_highest_cursor_value(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline()

    @dlt.resource(name="tickets", write_disposition="merge", primary_key="id")
    def tickets(
        updated: Any = dlt.sources.incremental("updated", initial_value=0),  # noqa: B008
    ) -> Iterator[dict[str, Any]]:
        yield from [
            {"id": 1, "state": "closed", "updated": 9},
            {"id": 1, "state": "open", "updated": 5},
        ]

    pipeline.run(tickets())
    assert rows(catalog, "bronze.tickets", "id", "state") == [(1, "closed")]


def test_merge_with_a_new_column_in_the_same_load(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline()

    @dlt.resource(name="accounts", write_disposition="merge", primary_key="id")
    def accounts(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield from items

    pipeline.run(accounts([{"id": i, "name": f"n{i}"} for i in range(4)]))
    pipeline.run(
        accounts([{"id": 1, "name": "n1b", "tier": "gold"}, {"id": 9, "name": "n9", "tier": "new"}])
    )

    assert rows(catalog, "bronze.accounts", "id", "name", "tier") == [
        (0, "n0", None),
        (1, "n1b", "gold"),
        (2, "n2", None),
        (3, "n3", None),
        (9, "n9", "new"),
    ]


def test_merge_replaces_nested_rows_of_updated_roots(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline()

    @dlt.resource(name="orders", write_disposition="merge", primary_key="id")
    def orders(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield from items

    pipeline.run(
        orders(
            [
                {"id": 1, "lines": [{"sku": "a"}, {"sku": "b"}]},
                {"id": 2, "lines": [{"sku": "c"}]},
            ]
        )
    )
    pipeline.run(orders([{"id": 1, "lines": [{"sku": "z"}]}, {"id": 3, "lines": [{"sku": "d"}]}]))

    roots = catalog.load_table("bronze.orders").scan().to_arrow().to_pylist()
    by_row = {r["_dlt_id"]: r["id"] for r in roots}
    lines = catalog.load_table("bronze.orders__lines").scan().to_arrow().to_pylist()
    assert sorted((by_row[line["_dlt_root_id"]], line["sku"]) for line in lines) == [
        (1, "z"),
        (2, "c"),
        (3, "d"),
    ]


def test_merge_hard_delete_removes_the_row(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline()

    @dlt.resource(
        name="members",
        write_disposition="merge",
        primary_key="id",
        columns={"deleted": {"hard_delete": True, "data_type": "bool"}},
    )
    def members(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        yield from items

    pipeline.run(members([{"id": 1, "deleted": False}, {"id": 2, "deleted": False}]))
    pipeline.run(members([{"id": 2, "deleted": True}]))
    assert rows(catalog, "bronze.members", "id") == [(1,)]


def test_merge_without_key_appends(catalog: Catalog, make_pipeline: PipelineFactory) -> None:
    pipeline = make_pipeline()

    @dlt.resource(name="notes", write_disposition="merge")
    def notes() -> Iterator[dict[str, Any]]:
        yield {"text": "hello"}

    pipeline.run(notes())
    pipeline.run(notes())
    assert rows(catalog, "bronze.notes", "text") == [("hello",), ("hello",)]


def test_table_names_map_roots_and_their_children(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline(table_names={"orders": "shop_orders"})
    pipeline.run([{"id": 1, "lines": [{"sku": "a"}]}], table_name="orders")
    assert set(catalog.list_tables("bronze")) == {
        ("bronze", "shop_orders"),
        ("bronze", "shop_orders__lines"),
    }


def test_merge_rewrites_only_the_files_holding_incoming_keys(
    tmp_path: Path, catalog: Catalog
) -> None:
    catalog.create_namespace("bronze")
    identifier = ("bronze", "wide")
    files = []
    for part in range(4):
        path = tmp_path / f"part{part}.parquet"
        ids = list(range(part * 100, part * 100 + 100))
        pq.write_table(pa.table({"id": ids, "v": ["old"] * 100}), path)
        files.append(str(path))
    commit_table(
        catalog, TableWrite("wide", identifier, "append", tuple(files)), CommitContext("1", "p")
    )
    update = tmp_path / "update.parquet"
    pq.write_table(pa.table({"id": [310, 399, 400], "v": ["new"] * 3}), update)

    write = TableWrite("wide", identifier, "merge", (str(update),), primary_key=("id",))
    commit = commit_table(catalog, write, CommitContext("2", "p"))

    assert commit is not None
    snapshot = catalog.load_table(identifier).current_snapshot()
    assert snapshot is not None
    assert snapshot.summary is not None
    assert snapshot.summary["deleted-data-files"] == "1"  # only part3 held 310 and 399
    assert snapshot.summary["floe.deleted-rows"] == "2"
    got = dict(rows(catalog, "bronze.wide", "id", "v"))
    assert len(got) == 401
    assert [got[i] for i in (0, 309, 310, 399, 400)] == ["old", "old", "new", "new", "new"]
