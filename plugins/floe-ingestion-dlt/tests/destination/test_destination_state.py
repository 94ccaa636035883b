"""Exactly-once building blocks: idempotent commits, state in snapshots, restore_state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.parquet as pq
from dlt.common.json import json as dlt_json
from floe_dest_helpers import PipelineFactory, rows
from pyiceberg.catalog import Catalog

from floe_ingestion_dlt.destination import load_commits, restore_state
from floe_ingestion_dlt.destination.committer import CommitContext, TableWrite, commit_table
from floe_ingestion_dlt.destination.summary import (
    STATE,
    STATE_TABLES,
    STATE_VERSION,
    decode_json,
    lineage,
)


def _feed(start: int, stop: int) -> Any:
    @dlt.resource(name="feed", write_disposition="append", primary_key="seq")
    def feed(
        seq: Any = dlt.sources.incremental("seq", initial_value=0),  # noqa: B008
    ) -> Iterator[dict[str, Any]]:
        yield from ({"seq": i, "body": f"item {i}"} for i in range(start, stop))

    return feed


def test_a_commit_of_a_load_already_in_history_is_skipped(tmp_path: Path, catalog: Catalog) -> None:
    catalog.create_namespace("bronze")
    path = tmp_path / "f.parquet"
    pq.write_table(pa.table({"id": [1, 2]}), path)
    for disposition in ("append", "replace", "merge"):
        identifier = ("bronze", f"t_{disposition}")
        write = TableWrite(
            f"t_{disposition}",
            identifier,
            disposition,
            (str(path),),
            primary_key=("id",) if disposition == "merge" else (),
        )
        first = commit_table(catalog, write, CommitContext("load-1", "p"))
        again = commit_table(catalog, write, CommitContext("load-1", "p"))
        assert first is not None
        assert again is not None
        assert (first.skipped, again.skipped) == (False, True)
        assert again.snapshot_id == first.snapshot_id
        assert len(catalog.load_table(identifier).snapshots()) == 1
        assert rows(catalog, ".".join(identifier), "id") == [(1,), (2,)]


def test_snapshots_carry_load_id_pipeline_and_resource_state(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline("feeds")
    info = pipeline.run(_feed(1, 6)())

    snapshot = catalog.load_table("bronze.feed").current_snapshot()
    assert snapshot is not None
    assert snapshot.summary is not None
    summary = snapshot.summary
    assert summary["floe.load-id"] == info.loads_ids[0]
    assert summary["floe.pipeline"] == "feeds"
    assert decode_json(summary[STATE_TABLES]) == ["feed"]
    assert int(summary[STATE_VERSION]) == pipeline.state["_state_version"]
    state = dlt_json.typed_loads(summary[STATE])
    assert state["resources"]["feed"]["incremental"]["seq"]["last_value"] == 5


def test_restore_state_in_a_fresh_working_dir(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    first = make_pipeline("feeds", workdir="pod-1")
    assert restore_state(first, catalog, namespace="bronze") is False  # nothing anywhere yet
    first.run(_feed(1, 11)())
    assert restore_state(first, catalog, namespace="bronze") is False  # local state is current

    fresh = make_pipeline("feeds", workdir="pod-2")
    assert restore_state(fresh, catalog, namespace="bronze") is True
    cursor = fresh.state["sources"]["feeds"]["resources"]["feed"]["incremental"]["seq"]
    assert cursor["last_value"] == 10
    fresh.run(_feed(1, 16)())  # the source still yields 1..15: only 11..15 are new

    assert rows(catalog, "bronze.feed", "seq") == [(i,) for i in range(1, 16)]
    assert restore_state(fresh, catalog, namespace="bronze") is False

    stale = make_pipeline("feeds", workdir="pod-1")  # the old pod's directory, now behind
    assert restore_state(stale, catalog, namespace="bronze") is True
    stale.run(_feed(1, 18)())
    assert rows(catalog, "bronze.feed", "seq") == [(i,) for i in range(1, 18)]


def test_restore_rolls_back_a_load_that_died_between_tables_of_one_resource(
    tmp_path: Path, catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline("shop", workdir="pod-1")

    @dlt.resource(name="orders", write_disposition="append", primary_key="id")
    def orders(
        cursor: Any = dlt.sources.incremental("id", initial_value=0),  # noqa: B008
        upto: int = 3,
    ) -> Iterator[dict[str, Any]]:
        yield from ({"id": i, "lines": [{"n": i}]} for i in range(1, upto))

    pipeline.run(orders(upto=3))
    [lines] = [
        c
        for c in load_commits(
            catalog,
            pipeline.last_trace.last_load_info.loads_ids[0],
            namespace="bronze",
            pipeline_name="shop",
        )
        if c.identifier.endswith("__lines")
    ]
    # simulate a load killed after its nested table committed and before its root did
    parquet = tmp_path / "lines.parquet"
    pq.write_table(
        pa.table({"n": [9], "_dlt_parent_id": ["x"], "_dlt_list_idx": [0], "_dlt_id": ["y"]}),
        parquet,
    )
    half = CommitContext(
        "dead-load",
        "shop",
        extra_summary={STATE_TABLES: '["orders","orders__lines"]', STATE_VERSION: "999"},
    )
    commit_table(
        catalog,
        TableWrite("orders__lines", ("bronze", "orders__lines"), "append", (str(parquet),)),
        half,
    )

    fresh = make_pipeline("shop", workdir="pod-2")
    assert restore_state(fresh, catalog, namespace="bronze") is True

    table = catalog.load_table("bronze.orders__lines")
    assert [s.snapshot_id for s in lineage(table)] == [lines.snapshot_id]  # rolled back
    cursor = fresh.state["sources"]["shop"]["resources"]["orders"]["incremental"]["id"]
    assert cursor["last_value"] == 2  # from the last complete load, not the dead one
    fresh.run(orders(upto=5))
    assert rows(catalog, "bronze.orders", "id") == [(1,), (2,), (3,), (4,)]
    assert rows(catalog, "bronze.orders__lines", "n") == [(1,), (2,), (3,), (4,)]


def test_state_of_each_resource_comes_from_its_own_table(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    @dlt.source(name="two")
    def two(upto: int) -> list[Any]:
        @dlt.resource(name="a", primary_key="k")
        def a(k: Any = dlt.sources.incremental("k", initial_value=0)) -> Iterator[dict[str, int]]:  # noqa: B008
            yield from ({"k": i} for i in range(1, upto))

        @dlt.resource(name="b", primary_key="k")
        def b(k: Any = dlt.sources.incremental("k", initial_value=0)) -> Iterator[dict[str, int]]:  # noqa: B008
            yield from ({"k": i} for i in range(1, upto))

        return [a, b]

    pipeline = make_pipeline("two_tables", workdir="pod-1")
    pipeline.run(two(4))
    # table `b` loses its latest commit (as if that load died before committing it)
    table_b = catalog.load_table("bronze.b")
    pipeline.run(two(7))
    latest = catalog.load_table("bronze.b").current_snapshot()
    assert latest is not None
    assert latest.parent_snapshot_id is not None
    with catalog.load_table("bronze.b").manage_snapshots() as manage:
        manage.rollback_to_snapshot(latest.parent_snapshot_id)
    assert table_b.current_snapshot() is not None

    fresh = make_pipeline("two_tables", workdir="pod-2")
    assert restore_state(fresh, catalog, namespace="bronze") is True
    resources = fresh.state["sources"]["two"]["resources"]
    assert resources["a"]["incremental"]["k"]["last_value"] == 6
    assert resources["b"]["incremental"]["k"]["last_value"] == 3
    fresh.run(two(7))
    assert rows(catalog, "bronze.a", "k") == [(i,) for i in range(1, 7)]
    assert rows(catalog, "bronze.b", "k") == [(i,) for i in range(1, 7)]


def test_load_commits_lists_every_table_of_a_load(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline("lc")
    info = pipeline.run([{"id": 1, "tags": [{"t": "x"}, {"t": "y"}]}], table_name="docs")
    commits = load_commits(catalog, info.loads_ids[0], namespace="bronze", pipeline_name="lc")

    assert [(c.identifier, c.rows, c.created) for c in commits] == [
        ("bronze.docs", 1, True),
        ("bronze.docs__tags", 2, True),
    ]
    assert all(c.snapshot_id for c in commits)
    assert [(c.file_count, c.size_bytes is not None) for c in commits] == [(1, True), (1, True)]
    assert load_commits(catalog, "no-such-load", namespace="bronze", pipeline_name="lc") == []
    assert load_commits(catalog, info.loads_ids[0], namespace="nowhere", pipeline_name="lc") == []


def test_unchanged_state_is_carried_into_the_next_commit(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    pipeline = make_pipeline("carry")
    pipeline.run(_feed(1, 4)())
    pipeline.run([{"seq": 99, "body": "manual"}], table_name="feed")  # no state change

    first, second = reversed(list(lineage(catalog.load_table("bronze.feed"))))
    assert second.summary is not None
    assert first.summary is not None
    assert second.summary[STATE] == first.summary[STATE]
    assert second.summary[STATE_VERSION] == first.summary[STATE_VERSION]
