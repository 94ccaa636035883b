"""`source: sql_database` reading a real PostgreSQL database (the ``postgres_url`` fixture)."""

from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy

from floe_core.errors import ErrorCategory, ErrorCode

from dlt_project import Project

T0 = dt.datetime(2024, 3, 1, 12, 0, tzinfo=dt.UTC)


def order(i: int, *, minutes: int | None = None, status: str = "new") -> dict[str, Any]:
    return {
        "id": i,
        "customer": f"customer {i % 7}",
        "amount": Decimal(f"{i * 3}.25"),
        "status": status,
        "updated_at": T0 + dt.timedelta(minutes=i if minutes is None else minutes),
    }


class Shop:
    """The source database: ``orders`` and ``customers`` tables."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = sqlalchemy.create_engine(url)
        metadata = sqlalchemy.MetaData()
        self.orders = sqlalchemy.Table(
            "orders",
            metadata,
            sqlalchemy.Column("id", sqlalchemy.Integer, primary_key=True),
            sqlalchemy.Column("customer", sqlalchemy.Text, nullable=False),
            sqlalchemy.Column("amount", sqlalchemy.Numeric(10, 2), nullable=False),
            sqlalchemy.Column("status", sqlalchemy.Text, nullable=False),
            sqlalchemy.Column("updated_at", sqlalchemy.DateTime(timezone=True), nullable=False),
        )
        self.customers = sqlalchemy.Table(
            "customers",
            metadata,
            sqlalchemy.Column("id", sqlalchemy.Integer, primary_key=True),
            sqlalchemy.Column("name", sqlalchemy.Text),
        )
        metadata.create_all(self.engine)
        self.rows: dict[int, dict[str, Any]] = {}

    def upsert(self, rows: list[dict[str, Any]]) -> None:
        from sqlalchemy.dialects.postgresql import insert

        with self.engine.begin() as connection:
            statement = insert(self.orders).values(rows)
            connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["id"],
                    set_={c: statement.excluded[c] for c in ("status", "updated_at", "amount")},
                )
            )
        for row in rows:
            self.rows[row["id"]] = row

    def add_customers(self, count: int) -> list[dict[str, Any]]:
        rows = [{"id": i, "name": f"customer {i}"} for i in range(1, count + 1)]
        with self.engine.begin() as connection:
            connection.execute(self.customers.insert(), rows)
        return rows

    def expected(self) -> list[dict[str, Any]]:
        return sorted(self.rows.values(), key=lambda row: row["id"])


@pytest.fixture
def shop(postgres_url: str) -> Any:
    database = Shop(postgres_url)
    yield database
    database.engine.dispose()


def config(project: Project, shop: Shop, tables: list[str] | None = None, **values: Any):
    project.env["SHOP_DB_URL"] = shop.url
    args: dict[str, Any] = {"table_names": tables or ["orders"]}
    args.update(values.pop("args", {}))
    values.setdefault("destination_table", "bronze.orders")
    return project.config(
        source="sql_database",
        secret_refs={"credentials": "shop-db-url"},
        options={"args": args},
        **values,
    )


def utc(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.astimezone(dt.UTC) if isinstance(v, dt.datetime) else v for k, v in row.items()}


def test_one_table_lands_in_the_destination_table_with_its_types(project: Project, shop: Shop):
    shop.upsert([order(i) for i in range(1, 51)])
    result = project.run(config(project, shop))
    assert result.success, result.error
    assert (result.rows_loaded, result.tables_created) == (50, ["bronze.orders"])
    project.assert_table("bronze.orders", shop.expected(), normalize=utc)
    types = {field.name: field.type for field in result.tables[0].schema}
    assert types["id"] in ("int", "long")
    assert types["amount"].startswith("decimal(")
    assert types["updated_at"] == "timestamptz"


def test_several_tables_land_one_iceberg_table_each(project: Project, shop: Shop):
    shop.upsert([order(i) for i in range(1, 11)])
    customers = shop.add_customers(7)
    result = project.run(config(project, shop, ["orders", "customers"]))
    assert result.success, result.error
    assert result.rows_by_table == {"bronze.customers": 7, "bronze.orders": 10}
    project.assert_table("bronze.orders", shop.expected(), normalize=utc)
    project.assert_table("bronze.customers", customers)


def test_catalog_on_postgresql_too(pg_catalog_project: Project, shop: Shop):
    shop.upsert([order(i) for i in range(1, 21)])
    result = pg_catalog_project.run(config(pg_catalog_project, shop))
    assert result.success, result.error
    pg_catalog_project.assert_table("bronze.orders", shop.expected(), normalize=utc)


def test_incremental_loads_only_new_rows_even_from_a_fresh_working_folder(
    project: Project, shop: Shop
):
    cfg = config(project, shop, incremental={"cursor_column": "updated_at"})
    shop.upsert([order(i) for i in range(1, 31)])
    assert project.run(cfg).rows_loaded == 30
    shop.upsert([order(i) for i in range(31, 36)])
    assert project.run(cfg).rows_loaded == 5
    project.assert_table("bronze.orders", shop.expected(), normalize=utc)
    shutil.rmtree(project.root / ".floe" / "state")  # a new pod
    shop.upsert([order(i) for i in range(36, 40)])
    third = project.run(cfg, plugin=project.fresh_plugin())
    assert third.success, third.error
    assert third.rows_loaded == 4
    project.assert_table("bronze.orders", shop.expected(), normalize=utc)


def test_incremental_merge_picks_up_updated_rows(project: Project, shop: Shop):
    cfg = config(
        project,
        shop,
        write_disposition="merge",
        primary_key="id",
        incremental={"cursor_column": "updated_at"},
    )
    shop.upsert([order(i) for i in range(1, 21)])
    assert project.run(cfg).rows_loaded == 20
    shop.upsert([order(i, minutes=100 + i, status="shipped") for i in (3, 7, 11)])
    second = project.run(cfg)
    assert second.success, second.error
    assert second.rows_loaded == 3
    project.assert_table("bronze.orders", shop.expected(), normalize=utc)


def test_initial_value_skips_older_rows(project: Project, shop: Shop):
    shop.upsert([order(i) for i in range(1, 21)])
    start = T0 + dt.timedelta(minutes=15)
    cfg = config(project, shop, incremental={"cursor_column": "updated_at", "initial_value": start})
    result = project.run(cfg)
    assert result.rows_loaded == 6  # minutes 15..20, the range starts closed
    project.assert_table(
        "bronze.orders", [r for r in shop.expected() if r["updated_at"] >= start], normalize=utc
    )


def test_missing_table_is_source_not_found(project: Project, shop: Shop):
    error = project.run_through_runner(config(project, shop, ["invoices"])).error
    assert (error.category, error.code) == (ErrorCategory.PERMANENT, ErrorCode.SOURCE_NOT_FOUND)
    assert "invoices" in error.message


def test_user_without_privilege_is_auth_failed(project: Project, shop: Shop):
    shop.upsert([order(1)])
    role = "floe_no_rights"
    with shop.engine.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE ROLE {role} LOGIN"))
    try:
        url = shop.url.replace("//floe@", f"//{role}@")
        cfg = config(project, shop)
        project.env["SHOP_DB_URL"] = url
        error = project.run_through_runner(cfg).error
        assert (error.category, error.code) == (ErrorCategory.PERMANENT, ErrorCode.AUTH_FAILED)
    finally:
        with shop.engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP ROLE {role}"))


def test_unreachable_database_is_network_error(project: Project, shop: Shop):
    cfg = config(project, shop)
    project.env["SHOP_DB_URL"] = "postgresql+psycopg2://floe@127.0.0.1:9/shop"
    error = project.run_through_runner(cfg).error
    assert (error.category, error.code) == (ErrorCategory.TRANSIENT, ErrorCode.NETWORK_ERROR)


def test_missing_connection_secret_is_secret_missing(project: Project, shop: Shop):
    cfg = config(project, shop)
    del project.env["SHOP_DB_URL"]
    error = project.run_through_runner(cfg).error
    assert (error.category, error.code) == (ErrorCategory.CONFIGURATION, ErrorCode.SECRET_MISSING)
    assert "shop-db-url" in error.message
