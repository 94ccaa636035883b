"""floe's plugin conformance kit, run against the Airbyte plugin and the emulator.

The plugin is external (``supports_mock_source = False``): instead of mock sources, the
scenarios script the emulator (:class:`EmulatorScenarios`), and rows are checked as Airbyte
reports them (``verify_rows_in_catalog = False``: the emulator does not write Iceberg files).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from floe_core.config import IngestionConfig
from floe_core.plugin import IngestionPlugin, PluginContext
from floe_core.secrets import env_var_name
from floe_core.testing import IngestionPluginConformance, Scenario, ScenarioDriver

from floe_ingestion_airbyte.plugin import PIPELINE_SECRET, AirbyteIngestionPlugin
from floe_ingestion_airbyte.testing import (
    API_TOKEN,
    ICEBERG_DESTINATION_ID,
    AirbyteEmulator,
    FailureSpec,
    Fault,
    JobPlan,
    ManualClock,
)

TOKEN_REF = "floe-kit-airbyte-token"


class EmulatorScenarios:
    """The kit's scenarios, played by the emulator (each holds until the next one)."""

    def __init__(self, airbyte: AirbyteEmulator) -> None:
        self.airbyte = airbyte

    def _prepare(self, config: IngestionConfig, plan: JobPlan) -> None:
        self.airbyte.clear_faults()
        self.airbyte.set_default_plan(plan)
        # A pipeline-level credential (secret_refs) is a token this Airbyte accepts.
        for reference in (config.secret_refs or {}).values():
            value = os.environ.get(env_var_name(reference))
            if value:
                self.airbyte.add_api_token(value)

    def success(
        self, config: IngestionConfig, rows: Sequence[Mapping[str, Any]], *, shape: str
    ) -> Scenario:
        self._prepare(config, JobPlan.succeeded(rows=len(rows)))
        return Scenario({}, f"syncs {len(rows)} rows in Airbyte", [dict(row) for row in rows])

    def auth_failure(self, config: IngestionConfig, *, style: str) -> Scenario:
        self._prepare(config, JobPlan.succeeded())
        self.airbyte.add_fault(Fault.auth_failure(401))
        return Scenario({}, "is refused by the Airbyte API (401 on every request)")

    def rate_limit(self, config: IngestionConfig, *, retry_after: int, style: str) -> Scenario:
        self._prepare(config, JobPlan.succeeded())
        self.airbyte.add_fault(Fault.rate_limit("POST /jobs", retry_after=retry_after, times=None))
        return Scenario({}, f"is rate-limited by Airbyte (429, Retry-After: {retry_after})")

    def fail_after(
        self,
        config: IngestionConfig,
        rows: Sequence[Mapping[str, Any]],
        after: int,
        *,
        style: str,
    ) -> Scenario:
        self._prepare(config, JobPlan.partial(rows=len(rows), rows_rejected=len(rows) - after))
        return Scenario(
            {}, f"fails in Airbyte after committing {after} rows", [dict(r) for r in rows[:after]]
        )

    def leak_secret(self, config: IngestionConfig, secret: str, *, style: str) -> Scenario:
        failure = FailureSpec(
            "config_error",
            "source",
            f"HTTP Status Code: 401. Error: Unauthorized (GET /api?access_token={secret})",
            False,
        )
        self._prepare(config, JobPlan.failed(failure))
        return Scenario({}, "fails in Airbyte with a message quoting a secret")


class TestAirbyteConformance(IngestionPluginConformance):
    plugin_class = AirbyteIngestionPlugin
    entry_point_name = "airbyte"
    supports_mock_source = False
    verify_rows_in_catalog = False

    @pytest.fixture(autouse=True)
    def _emulator(self, airbyte: AirbyteEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
        self.airbyte = airbyte
        self.connections: dict[str, str] = {}
        monkeypatch.setenv(env_var_name(TOKEN_REF), API_TOKEN)

    @pytest.fixture
    def plugin_settings(self, airbyte: AirbyteEmulator) -> Mapping[str, Any]:
        return {
            "workspace_url": airbyte.url,
            "auth": "bearer",
            "connection_secret_ref": TOKEN_REF,
            "poll_interval_seconds": 5,
            "max_retry_after_seconds": 30,
        }

    @pytest.fixture
    def plugin(self, plugin_context: PluginContext, manual_clock: ManualClock) -> IngestionPlugin:
        return AirbyteIngestionPlugin(plugin_context, sleep=manual_clock.sleep, clock=manual_clock)

    @pytest.fixture
    def failure_scenarios(self, airbyte: AirbyteEmulator) -> ScenarioDriver:
        return EmulatorScenarios(airbyte)

    def make_config(self, **overrides: Any) -> IngestionConfig:
        """Each destination table gets an emulated connection whose one stream lands there."""
        table = str(overrides.get("destination_table", f"{self.namespace}.events"))
        namespace, _, stream = table.rpartition(".")
        connection_id = self.connections.get(table)
        if connection_id is None:
            connection_id = self.airbyte.add_connection(
                name=f"kit {table}",
                destination_id=ICEBERG_DESTINATION_ID,
                namespace_definition="custom_format",
                namespace_format=namespace,
                streams=[stream],
            )
            self.connections[table] = connection_id
        return super().make_config(**{"options": {"connection_id": connection_id}, **overrides})

    def canary_secret_refs(self, reference: str) -> dict[str, str]:
        return {PIPELINE_SECRET: reference}
