"""The dlt plugin passes floe's plugin conformance kit (floe_core.testing)."""

from __future__ import annotations

from typing import Any

from floe_core.config import IngestionConfig
from floe_core.testing import IngestionPluginConformance
from floe_ingestion_dlt.plugin import DltIngestionPlugin


class TestDltPluginConformance(IngestionPluginConformance):
    plugin_class = DltIngestionPlugin
    entry_point_name = "dlt"

    def make_config(self, **overrides: Any) -> IngestionConfig:
        # A declared source must exist; the kit's runs replace it with a mock source.
        return super().make_config(**{"source": "dlt_project.no_rows", **overrides})

    def invalid_configs(self) -> dict[str, tuple[IngestionConfig, str]]:
        base = self.make_config()
        return {
            **super().invalid_configs(),
            "a source module that does not exist": (
                self.make_config(source="no_such_module_xyz.orders"),
                "no_such_module_xyz",
            ),
            "sql_database without a connection string": (
                IngestionConfig.model_validate(
                    {**base.model_dump(), "source": "sql_database", "options": {"args": {}}}
                ),
                "credentials",
            ),
            "filesystem with an unknown reader": (
                IngestionConfig.model_validate(
                    {
                        **base.model_dump(),
                        "source": "filesystem",
                        "options": {"args": {"bucket_url": "data", "reader": "xlsx"}},
                    }
                ),
                "reader",
            ),
        }
