"""Dagster integration: a floe project becomes Dagster assets that run through the floe runner.

* :func:`build_definitions` turns a project folder (``floe.yaml`` + ``platform-manifest.yaml``)
  into ``dagster.Definitions``: each pipeline's plugin makes its assets
  (``IngestionPlugin.create_dagster_assets``), and the ``floe`` resource gives them the project.
* :func:`pipeline_asset` is what plugins use to build those assets: one multi-asset per
  pipeline, one asset per Iceberg table, executed through :class:`~floe_core.runner.IngestionRunner`
  so retries, lineage, metrics and the error taxonomy are the same inside and outside Dagster.
* :class:`FloeProjectResource` is the ``floe`` resource.

Importing this package imports dagster; ``import floe_core`` does not.
"""

from __future__ import annotations

from floe_core.dagster.assets import GROUP_NAME, asset_key_for, pipeline_asset
from floe_core.dagster.definitions import build_definitions
from floe_core.dagster.outcome import dagster_failure_for
from floe_core.dagster.resource import RESOURCE_KEY, FloeProjectResource

__all__ = [
    "GROUP_NAME",
    "RESOURCE_KEY",
    "FloeProjectResource",
    "asset_key_for",
    "build_definitions",
    "dagster_failure_for",
    "pipeline_asset",
]
