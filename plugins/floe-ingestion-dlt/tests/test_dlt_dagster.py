"""Dagster assets: one per Iceberg table, run through floe's runner, usable again and again."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pytest

from floe_core.dagster import FloeProjectResource
from floe_core.retry import RetryPolicy
from floe_core.runner import IngestionRunner

from dlt_project import Project

MODULE = '''
import dlt

ROWS = [{"id": i, "kind": "view"} for i in range(1, 6)]


def events():
    """Page views of the web shop."""
    return list(ROWS)


@dlt.source
def shop(api_key: str = dlt.secrets.value):
    return [
        dlt.resource([{"id": 1, "total": 9.5}], name="orders"),
        dlt.resource([{"id": 1, "name": "Ada"}], name="customers"),
    ]


def broken():
    raise ConnectionError("shop API unreachable")
'''


@pytest.fixture
def module(project: Project, request: pytest.FixtureRequest) -> str:
    name = f"dagster_sources_{request.node.name[-20:]}_{id(project) % 10000}"
    (project.root / f"{name}.py").write_text(MODULE)
    return name


def configs(project: Project, module: str) -> list[Any]:
    project.env["SHOP_KEY"] = "k-dagster-0001"
    return [
        project.config(
            name="web_events", source=f"{module}.events", destination_table="bronze.events"
        ),
        project.config(
            name="shop",
            source=f"{module}.shop",
            destination_table="bronze.shop",
            secret_refs={"api_key": "shop-key"},
        ),
    ]


def asset_specs(assets: list[Any]) -> dict[str, Any]:
    return {spec.key.to_user_string(): spec for asset in assets for spec in asset.specs}


def test_one_asset_per_iceberg_table(project: Project, module: str):
    assets = project.plugin.create_dagster_assets(configs(project, module))
    specs = asset_specs(assets)
    assert set(specs) == {"bronze/events", "bronze/orders", "bronze/customers"}
    for spec in specs.values():
        assert spec.group_name == "ingestion"
        assert spec.kinds == {"dlt", "iceberg"}
        assert list(spec.deps) == []
    assert specs["bronze/events"].metadata["floe/pipeline"] == "web_events"
    assert specs["bronze/events"].metadata["dagster/table_name"] == "bronze.events"
    assert specs["bronze/events"].description == "Page views of the web shop."
    dg.Definitions.validate_loadable(
        dg.Definitions(assets=assets, resources={"floe": FloeProjectResource()})
    )
    assert not project.table_exists("bronze.events")  # building definitions writes nothing


def test_materialising_twice_in_one_process(project: Project, module: str):
    assets = project.plugin.create_dagster_assets(configs(project, module))
    for run in (1, 2):
        result = dg.materialize(assets, resources={"floe": FloeProjectResource()})
        assert result.success
        rows = {
            event.asset_key.to_user_string(): event.materialization.metadata[
                "floe/rows_loaded"
            ].value
            for event in result.get_asset_materialization_events()
        }
        assert rows == {"bronze/events": 5, "bronze/orders": 1, "bronze/customers": 1}, run
    assert len(project.rows("bronze.events")) == 10  # append, twice
    assert len(project.rows("bronze.orders")) == 2


def test_a_failed_run_fails_the_asset_with_the_floe_error(project: Project, module: str):
    config = project.config(name="broken", source=f"{module}.broken", destination_table="bronze.b")

    def runner(config: Any) -> IngestionRunner:
        return IngestionRunner(project.plugin, retry=RetryPolicy.no_retry())

    (assets,) = project.plugin.create_dagster_assets([config], runner=runner)
    result = dg.materialize([assets], raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    metadata = failure.step_failure_data.user_failure_data.metadata
    assert metadata["floe/error_code"].value == "NETWORK_ERROR"
    assert metadata["floe/error_retryable"].value is True


def test_duplicate_pipeline_names_are_refused(project: Project, module: str):
    first, _ = configs(project, module)
    with pytest.raises(ValueError, match="web_events"):
        project.plugin.create_dagster_assets([first, first])
