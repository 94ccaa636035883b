"""The csv plugin passes floe's plugin conformance kit."""

from __future__ import annotations

from typing import Any

from floe_ingestion_csv import CsvIngestionPlugin

from floe_core.config import IngestionConfig
from floe_core.testing import IngestionPluginConformance


class TestCsvPluginConformance(IngestionPluginConformance):
    plugin_class = CsvIngestionPlugin
    entry_point_name = "csv"
    commits_incrementally = True  # with batch_size 2, a source failing midway gives PARTIAL

    def make_config(self, **overrides: Any) -> IngestionConfig:
        return super().make_config(**{"options": {"batch_size": 2}, **overrides})
