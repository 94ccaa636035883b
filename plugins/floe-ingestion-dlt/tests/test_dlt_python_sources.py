"""Dotted-path sources (a user's module next to floe.yaml) and how sources are declared."""

from __future__ import annotations

from typing import Any

import pytest

from floe_core.errors import ConfigurationError, ErrorCategory, ErrorCode

from dlt_project import Project

SHOP_MODULE = '''
"""A user's dlt sources, in the project folder."""
import dlt

CALLS = []


@dlt.source(name="shop")
def shop(api_key: str = dlt.secrets.value, days: int = 2):
    CALLS.append(api_key)

    @dlt.resource(primary_key="id")
    def orders():
        for day in range(days):
            yield [{"id": day * 10 + i, "day": day, "total": i * 1.5} for i in range(10)]

    @dlt.resource(primary_key="id")
    def customers():
        yield [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}]

    return orders, customers


@dlt.resource(name="events")
def events(start: int = 0, count: int = 5):
    for i in range(start, start + count):
        yield {"id": i, "kind": "click"}


def plain_rows(count: int = 3):
    return [{"id": i, "label": f"row {i}"} for i in range(count)]
'''


@pytest.fixture
def module(project: Project, request: pytest.FixtureRequest) -> str:
    """A uniquely named source module written into the project folder."""
    name = f"user_sources_{request.node.name.split('[')[0][-24:]}_{id(project) % 10000}"
    (project.root / f"{name}.py").write_text(SHOP_MODULE)
    return name


def shop_orders(days: int) -> list[dict[str, Any]]:
    return [
        {"id": day * 10 + i, "day": day, "total": i * 1.5} for day in range(days) for i in range(10)
    ]


def test_a_source_function_with_a_secret_argument(project: Project, module: str):
    project.env["SHOP_API_KEY"] = "key-7c1d0e2b9a"
    cfg = project.config(
        source=f"{module}.shop",
        destination_table="bronze.shop",
        options={"args": {"days": 3}},
        secret_refs={"api_key": "shop-api-key"},
    )
    result = project.run(cfg)
    assert result.success, result.error
    assert result.rows_by_table == {"bronze.customers": 2, "bronze.orders": 30}
    project.assert_table("bronze.orders", shop_orders(3))
    import importlib

    assert importlib.import_module(module).CALLS == ["key-7c1d0e2b9a"]


def test_selecting_one_resource_lands_it_at_the_destination(project: Project, module: str):
    project.env["SHOP_API_KEY"] = "k-1234"
    cfg = project.config(
        source=f"{module}.shop",
        destination_table="bronze.shop_customers",
        options={"resource": "customers"},
        secret_refs={"api_key": "shop-api-key"},
    )
    result = project.run(cfg)
    assert result.tables_created == ["bronze.shop_customers"]
    project.assert_table(
        "bronze.shop_customers", [{"id": 1, "name": "Ada"}, {"id": 2, "name": "Grace"}]
    )


def test_missing_secret_argument_without_secret_refs_is_secret_missing(
    project: Project, module: str
):
    cfg = project.config(source=f"{module}.shop", destination_table="bronze.shop")
    error = project.run_through_runner(cfg).error
    assert (error.category, error.code) == (ErrorCategory.CONFIGURATION, ErrorCode.SECRET_MISSING)
    assert "api_key" in error.message


def test_a_resource_function_with_arguments(project: Project, module: str):
    cfg = project.config(
        source=f"{module}.events",
        destination_table="bronze.events",
        options={"args": {"start": 100, "count": 4}},
    )
    result = project.run(cfg)
    assert result.rows_loaded == 4
    project.assert_table("bronze.events", [{"id": i, "kind": "click"} for i in range(100, 104)])
    # the same declaration runs again with a fresh resource (hints never leak between runs)
    assert project.run(cfg).rows_loaded == 4


def test_a_plain_function_returning_rows(project: Project, module: str):
    cfg = project.config(source=f"{module}.plain_rows", destination_table="bronze.plain")
    result = project.run(cfg)
    assert result.rows_loaded == 3
    project.assert_table("bronze.plain", [{"id": i, "label": f"row {i}"} for i in range(3)])


def test_merge_from_a_source_deduplicates_and_updates(project: Project, module: str):
    project.env["SHOP_API_KEY"] = "k-1234"
    cfg = project.config(
        source=f"{module}.shop",
        destination_table="bronze.orders",
        write_disposition="merge",
        primary_key="id",
        options={"resource": "orders", "args": {"days": 2}},
        secret_refs={"api_key": "shop-api-key"},
    )
    assert project.run(cfg).rows_loaded == 20
    again = project.run(cfg)
    assert again.success, again.error
    project.assert_table("bronze.orders", shop_orders(2))


# -- declaration errors: raised by create_pipeline, before anything runs --------------------------


def rejected(project: Project, **values: Any) -> ConfigurationError:
    with pytest.raises(ConfigurationError) as caught:
        project.plugin.create_pipeline(project.config(**values))
    assert caught.value.error.category is ErrorCategory.CONFIGURATION
    return caught.value


def test_module_that_does_not_exist(project: Project):
    exc = rejected(project, source="no_such_pkg.sources.orders")
    assert exc.code is ErrorCode.INVALID_CONFIG
    assert "no_such_pkg.sources.orders" in str(exc)
    assert "no module named 'no_such_pkg'" in str(exc)


def test_module_that_raises_on_import(project: Project):
    (project.root / "broken_sources_mod.py").write_text("raise RuntimeError('half written')\n")
    exc = rejected(project, source="broken_sources_mod.orders")
    assert exc.code is ErrorCode.INVALID_CONFIG
    assert "RuntimeError: half written" in str(exc)


def test_module_whose_dependency_is_missing(project: Project):
    (project.root / "needs_dep_mod.py").write_text("import floe_not_installed_pkg\n")
    exc = rejected(project, source="needs_dep_mod.orders")
    assert "floe_not_installed_pkg" in str(exc)
    assert "install" in str(exc)


def test_function_missing_from_the_module(project: Project, module: str):
    exc = rejected(project, source=f"{module}.invoices")
    assert "invoices" in str(exc)
    assert "shop" in str(exc)  # it lists what the module defines


def test_a_module_instead_of_a_function(project: Project):
    exc = rejected(project, source="dlt.sources.rest_api")
    assert "is a module" in str(exc)


def test_a_name_without_a_dot(project: Project):
    exc = rejected(project, source="mock_source")
    assert "rest_api, sql_database, filesystem" in str(exc)


def test_unknown_key_in_the_dlt_block(project: Project):
    exc = rejected(project, source="rest_api", options={"args": {}, "batchsize": 10})
    assert "batchsize" in str(exc)


def test_sql_database_without_credentials(project: Project):
    exc = rejected(project, source="sql_database", options={"args": {"table_names": ["t"]}})
    assert "credentials" in str(exc)


@pytest.mark.parametrize(
    ("args", "names"),
    [({"reader": "csv"}, "bucket_url"), ({"bucket_url": "data", "reader": "xml"}, "reader")],
)
def test_filesystem_settings(project: Project, args: dict[str, Any], names: str):
    exc = rejected(project, source="filesystem", options={"args": args})
    assert names in str(exc)


def test_rest_api_without_its_config(project: Project):
    exc = rejected(project, source="rest_api", options={"args": {"client": {}}})
    assert "resources" in str(exc)


def test_http_settings_only_for_rest_api(project: Project):
    exc = rejected(
        project,
        source="filesystem",
        options={"args": {"bucket_url": "d", "reader": "csv"}, "http": {"timeout": 1}},
    )
    assert "dlt.http" in str(exc)


def test_secret_path_through_a_plain_value_is_invalid_config(project: Project, module: str):
    project.env["SHOP_API_KEY"] = "k-5678"
    cfg = project.config(
        source=f"{module}.shop",
        destination_table="bronze.shop",
        options={"args": {"days": 3}},
        secret_refs={"days.value": "shop-api-key"},
    )
    error = project.run_through_runner(cfg).error
    assert (error.category, error.code) == (ErrorCategory.CONFIGURATION, ErrorCode.INVALID_CONFIG)
    assert "days.value" in error.message
    assert "k-5678" not in error.message
