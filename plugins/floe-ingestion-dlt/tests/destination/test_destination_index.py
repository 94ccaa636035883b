"""The namespace's index of each pipeline's tables: what it records and what it saves."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
import pytest
from floe_dest_helpers import PipelineFactory, rows
from pyiceberg.catalog import Catalog

from floe_core.catalog import CatalogConfig, load_catalog
from floe_ingestion_dlt.destination import load_commits, restore_state
from floe_ingestion_dlt.destination.index import (
    INDEX_MARK,
    index_key,
    pipeline_tables,
    register_table,
)


def _feed(name: str, start: int, stop: int) -> Any:
    @dlt.resource(name=name, write_disposition="append", primary_key="seq")
    def feed(
        seq: Any = dlt.sources.incremental("seq", initial_value=0),  # noqa: B008
    ) -> Iterator[dict[str, Any]]:
        yield from ({"seq": i} for i in range(start, stop))

    return feed


class CountingCatalog:
    """``catalog`` with its ``load_table`` calls counted by table name."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self.loaded: list[str] = []

    def load_table(self, identifier: Any) -> Any:
        table = self._catalog.load_table(identifier)
        self.loaded.append(table.name()[-1])
        return table

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)


def test_each_pipeline_finds_only_its_own_tables(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    loads: dict[str, str] = {}
    for number in range(4):
        name = f"feed_{number}"
        info = make_pipeline(name, workdir="pod-1").run(_feed(name, 1, 6)())
        loads[name] = info.loads_ids[0]

    properties = catalog.load_namespace_properties("bronze")
    assert properties[INDEX_MARK] == "1"  # the namespace was empty when first indexed
    assert properties[index_key("feed_2")] == '["feed_2"]'
    assert pipeline_tables(catalog, ("bronze",), "feed_2") == [("bronze", "feed_2")]
    assert pipeline_tables(catalog, ("bronze",), "never_ran") == []
    assert pipeline_tables(catalog, ("silver",), "feed_2") == []

    counting = CountingCatalog(catalog)
    fresh = make_pipeline("feed_2", workdir="pod-2")
    assert restore_state(fresh, counting, namespace="bronze") is True  # type: ignore[arg-type]
    [commit] = load_commits(
        counting,  # type: ignore[arg-type]
        loads["feed_2"],
        namespace="bronze",
        pipeline_name="feed_2",
    )
    assert commit.identifier == "bronze.feed_2"
    assert counting.loaded == ["feed_2", "feed_2"]  # not the other pipelines' three tables

    fresh.run(_feed("feed_2", 1, 9)())  # restored cursor: only 6..8 are new
    assert rows(catalog, "bronze.feed_2", "seq") == [(i,) for i in range(1, 9)]


def test_a_namespace_written_before_the_index_is_scanned_whole(
    catalog: Catalog, make_pipeline: PipelineFactory
) -> None:
    catalog.create_namespace("bronze")
    data = pa.table({"id": [1]})
    catalog.create_table("bronze.older", schema=data.schema).append(data)

    make_pipeline("feeds", workdir="pod-1").run(_feed("feed", 1, 6)())
    properties = catalog.load_namespace_properties("bronze")
    assert INDEX_MARK not in properties
    assert properties[index_key("feeds")] == '["feed"]'  # recorded all the same
    assert pipeline_tables(catalog, ("bronze",), "feeds") is None

    counting = CountingCatalog(catalog)
    fresh = make_pipeline("feeds", workdir="pod-2")
    assert restore_state(fresh, counting, namespace="bronze") is True  # type: ignore[arg-type]
    assert sorted(counting.loaded) == ["feed", "older"]
    fresh.run(_feed("feed", 1, 8)())
    assert rows(catalog, "bronze.feed", "seq") == [(i,) for i in range(1, 8)]


@pytest.mark.postgres
def test_pipelines_registering_at_once_keep_every_entry(tmp_path: Path, postgres_url: str) -> None:
    config = CatalogConfig(
        type="sql", name="floe_pg", uri=postgres_url, warehouse=str(tmp_path / "warehouse")
    )
    load_catalog(config, project_dir=tmp_path).create_namespace("bronze")
    start = threading.Barrier(6)
    errors: list[BaseException] = []

    def register(number: int) -> None:
        catalog = load_catalog(config, project_dir=tmp_path)  # a process of its own would
        start.wait()
        try:
            for table in ("a", "b"):
                register_table(catalog, ("bronze",), f"p{number}", f"{table}{number}")
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    catalog = load_catalog(config, project_dir=tmp_path)
    assert INDEX_MARK in catalog.load_namespace_properties("bronze")
    for number in range(6):
        assert pipeline_tables(catalog, ("bronze",), f"p{number}") == [
            ("bronze", f"a{number}"),
            ("bronze", f"b{number}"),
        ]


def test_one_load_registering_its_tables_from_several_threads(catalog: Catalog) -> None:
    # dlt's load workers commit the tables of one load in parallel threads
    catalog.create_namespace("bronze")
    start = threading.Barrier(8)

    def register(number: int) -> None:
        start.wait()
        register_table(catalog, ("bronze",), "shop", f"table_{number}")

    threads = [threading.Thread(target=register, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert pipeline_tables(catalog, ("bronze",), "shop") == [
        ("bronze", f"table_{n}") for n in range(8)
    ]
