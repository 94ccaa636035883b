"""`build_definitions`: a floe project folder -> ``dagster.Definitions``.

Each pipeline of ``floe.yaml`` becomes assets through its plugin's ``create_dagster_assets``;
the ``floe`` resource points every asset at the project folder. A ``definitions.py`` is all a
project needs for ``dagster dev -f definitions.py``::

    from floe_core.dagster import build_definitions

    defs = build_definitions(__file__)
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import dagster as dg

from floe_core.config import IngestionConfig
from floe_core.dagster.resource import RESOURCE_KEY, FloeProjectResource

__all__ = ["build_definitions"]


def build_definitions(
    project: str | os.PathLike[str], *, resources: dict[str, Any] | None = None
) -> dg.Definitions:
    """Definitions for the project in folder ``project`` (or the folder of the file given).

    Raises the project's ConfigurationError (every problem listed) when it cannot be loaded.
    """
    from floe_core.project import Project

    folder = Path(project)
    if folder.is_file():
        folder = folder.parent
    loaded = Project.load(folder)
    by_plugin: dict[str, list[IngestionConfig]] = defaultdict(list)
    for config in loaded.pipelines:
        by_plugin[config.plugin].append(config)
    assets: list[Any] = []
    for plugin_type, configs in by_plugin.items():
        assets.extend(loaded.plugin(plugin_type).create_dagster_assets(configs))
    return dg.Definitions(
        assets=assets,
        resources={
            RESOURCE_KEY: FloeProjectResource(project_dir=str(loaded.project_dir)),
            **(resources or {}),
        },
    )
