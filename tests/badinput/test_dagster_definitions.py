"""Bad input that only Dagster meets: two pipelines that write the same table.

floe runs them fine one after the other (``floe run``), but Dagster has one asset per table:
``build_definitions`` must refuse the project with floe's own CONFIGURATION error naming the
table and both pipelines, not with Dagster's "Duplicate asset key" from deep inside Dagster.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from floe_core.errors import ErrorCategory, IngestionException

FLOE_YAML = """\
ingestion:
  - name: orders_backfill
    destination: bronze.orders
    dlt: {source: shared_orders.rows, args: {start: 0}}
  - name: orders_daily
    destination: bronze.orders
    dlt: {source: shared_orders.rows, args: {start: 1000}}
"""

SOURCE = """\
import dlt


@dlt.resource
def rows(start: int = 0):
    yield [{"id": start + i} for i in range(3)]
"""


def test_two_pipelines_into_one_table_are_refused_by_name(tmp_path: Path) -> None:
    from floe_core.dagster import build_definitions

    (tmp_path / "floe.yaml").write_text(FLOE_YAML)
    (tmp_path / "shared_orders.py").write_text(textwrap.dedent(SOURCE))
    with pytest.raises(IngestionException) as caught:
        build_definitions(tmp_path)
    error = caught.value.error
    assert error.category is ErrorCategory.CONFIGURATION
    for name in ("bronze.orders", "orders_backfill", "orders_daily"):
        assert name in error.message
    assert not (tmp_path / ".floe").exists()


MULTI_TABLE_YAML = """\
ingestion:
  - name: shop
    destination: bronze.shop
    dlt: {source: duplicate_asset_source.shop}
  - name: orders_feed
    destination: bronze.orders
    dlt: {source: duplicate_asset_source.orders}
"""

MULTI_TABLE_SOURCE = """\
import dlt


@dlt.resource
def orders():
    yield [{"id": 1}]


@dlt.source
def shop():
    return [orders, dlt.resource([{"id": 1}], name="customers")]
"""


def test_a_table_named_by_a_multi_table_pipeline_is_refused_too(tmp_path: Path) -> None:
    # destinations differ (bronze.shop, bronze.orders), but the shop source's resource
    # `orders` lands in bronze.orders: only the assets the plugin made show the clash
    from floe_core.dagster import build_definitions

    (tmp_path / "floe.yaml").write_text(MULTI_TABLE_YAML)
    (tmp_path / "duplicate_asset_source.py").write_text(MULTI_TABLE_SOURCE)
    with pytest.raises(IngestionException) as caught:
        build_definitions(tmp_path)
    error = caught.value.error
    assert error.category is ErrorCategory.CONFIGURATION
    assert "asset bronze/orders is made by ingest_shop and ingest_orders_feed" in error.message
    assert not (tmp_path / ".floe").exists()
