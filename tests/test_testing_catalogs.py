"""Catalog helpers of floe_core.testing: test contexts, reading back, comparing rows."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa

from floe_core.testing import compare_rows, fresh_catalog, make_context, read_table_rows


def test_make_context_uses_the_embedded_catalog_in_the_project(tmp_path: Path) -> None:
    context = make_context(tmp_path, settings={"url": "http://127.0.0.1"})
    assert context.settings == {"url": "http://127.0.0.1"}
    context.catalog.create_namespace("bronze")
    assert (tmp_path / ".floe" / "catalog.db").is_file()
    assert ("bronze",) in fresh_catalog(context).list_namespaces()


def test_make_context_with_a_catalog_uri(tmp_path: Path) -> None:
    database = tmp_path / "elsewhere" / "catalog.db"
    context = make_context(tmp_path / "project", catalog_uri=f"sqlite:///{database}")
    context.catalog.create_namespace("bronze")
    assert database.is_file()
    assert not (tmp_path / "project" / ".floe" / "catalog.db").exists()


def test_read_table_rows(tmp_path: Path) -> None:
    catalog = make_context(tmp_path).catalog
    assert read_table_rows(catalog, "bronze.t") is None
    catalog.create_namespace("bronze")
    data = pa.Table.from_pylist([{"id": 2}, {"id": 1}])
    table = catalog.create_table("bronze.t", schema=data.schema)
    table.append(data.slice(0, 1))
    table.append(data.slice(1, 1))
    rows = read_table_rows(catalog, "bronze.t", order_by="id")
    assert rows == [{"id": 1}, {"id": 2}]


def test_compare_rows_reports_each_kind_of_difference() -> None:
    expected = [{"id": i, "name": f"n{i}"} for i in range(1, 5)]
    actual = [
        {"id": 1, "name": "n1", "_load_id": "x"},  # extra columns do not count
        {"id": 2, "name": "changed"},
        {"id": 2, "name": "changed"},
        {"id": 4},
        {"id": 9, "name": "n9"},
    ]
    assert compare_rows(expected, actual) == [
        "rows with id 3 are not in the table",
        "rows with id 2 are in the table twice",
        "rows with id 9 were never yielded",
        "id=2: column 'name' holds 'changed', the source yielded 'n2'; column 'name' is missing",
    ]
    assert compare_rows(expected, list(reversed(expected))) == []


def test_compare_rows_limits_long_lists() -> None:
    expected = [{"id": i} for i in range(20)]
    assert compare_rows(expected, [], limit=3) == [
        "rows with id 0, 1, 2 (and 17 more) are not in the table"
    ]
