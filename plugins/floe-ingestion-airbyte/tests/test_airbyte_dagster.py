"""Dagster assets of Airbyte pipelines, materialised against the emulator through the runner."""

from __future__ import annotations

import subprocess
import sys

import dagster as dg
import pytest
from airbyte_helpers import PluginFactory, pipeline
from floe_core.dagster import FloeProjectResource
from floe_core.errors import ConfigurationError
from floe_core.runner import IngestionRunner

from floe_ingestion_airbyte.testing import (
    ICEBERG_CONNECTION_ID,
    ICEBERG_DESTINATION_ID,
    AirbyteEmulator,
    FailureSpec,
    JobPlan,
)


def test_one_asset_per_stream_keyed_by_namespace(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator
) -> None:
    other = airbyte.add_connection(
        name="crm",
        destination_id=ICEBERG_DESTINATION_ID,
        namespace_definition="custom_format",
        namespace_format="crm",
        streams=["users"],
    )
    plugin = make_plugin()
    configs = [
        pipeline(name="shop"),
        pipeline(other, name="crm", destination_table="crm.users"),
        pipeline(name="elsewhere", plugin="dlt", source="x.y", options={}),
    ]
    assets = plugin.create_dagster_assets(configs)
    assert len(assets) == 2  # the dlt pipeline is not the airbyte plugin's
    specs = {spec.key: spec for asset in assets for spec in asset.specs}
    assert set(specs) == {
        dg.AssetKey(["bronze", "users"]),
        dg.AssetKey(["bronze", "orders"]),
        dg.AssetKey(["crm", "users"]),  # same stream name, another namespace: no collision
    }
    users = specs[dg.AssetKey(["bronze", "users"])]
    assert users.group_name == "ingestion"
    assert users.kinds == {"airbyte", "iceberg"}
    assert users.metadata["dagster/table_name"] == "bronze.users"
    assert users.metadata["dagster-airbyte/connection_id"] == ICEBERG_CONNECTION_ID
    resources = {"floe": FloeProjectResource()}
    dg.Definitions(assets=assets, resources=resources).resolve_all_job_defs()


def test_materialising_runs_the_sync_through_the_runner(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator
) -> None:
    plugin = make_plugin()
    airbyte.plan_jobs(
        ICEBERG_CONNECTION_ID,
        JobPlan.succeeded(rows=30, rows_by_stream={"users": 10, "orders": 20}),
    )
    (assets,) = plugin.create_dagster_assets([pipeline(name="shop")])
    result = dg.materialize([assets], resources={"floe": FloeProjectResource()})
    assert result.success
    events = {
        tuple(event.asset_key.path): event.step_materialization_data.materialization.metadata
        for event in result.get_asset_materialization_events()
        if event.asset_key is not None
    }
    assert events[("bronze", "users")]["floe/rows_loaded"].value == 10
    assert events[("bronze", "orders")]["floe/rows_loaded"].value == 20
    assert events[("bronze", "orders")]["floe/job_id"].value == 1
    assert airbyte.request_count("POST /jobs") == 1


def test_a_failed_sync_fails_the_step_with_the_error(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator
) -> None:
    plugin = make_plugin()
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.failed(FailureSpec.auth()))
    calls: list[str] = []

    def runner_factory(p: object) -> IngestionRunner:
        calls.append("made")
        return IngestionRunner(plugin)

    from floe_ingestion_airbyte.dagster import create_dagster_assets

    (assets,) = create_dagster_assets(
        plugin, [pipeline(name="shop")], runner_factory=runner_factory
    )
    result = dg.materialize([assets], raise_on_error=False)
    assert not result.success
    failure = result.get_step_failure_events()[0]
    assert "PERMANENT/AUTH_FAILED" in str(failure.step_failure_data.error)
    assert calls == ["made"]


def test_importing_the_plugin_does_not_import_dagster() -> None:
    code = (
        "import sys, floe_ingestion_airbyte, floe_ingestion_airbyte.plugin, "
        "floe_ingestion_airbyte.testing; "
        "assert not [m for m in sys.modules if m.split('.')[0] in "
        "('dagster', 'dagster_airbyte', 'dlt', 'pyiceberg')], sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_two_pipelines_of_one_connection_are_refused(make_plugin: PluginFactory) -> None:
    plugin = make_plugin()
    with pytest.raises(ConfigurationError, match="sync the same Airbyte connection"):
        plugin.create_dagster_assets([pipeline(name="one"), pipeline(name="two")])
