"""`build_definitions`: a floe project folder -> ``dagster.Definitions``.

Each pipeline of ``floe.yaml`` becomes assets through its plugin's ``create_dagster_assets``;
the ``floe`` resource points every asset at the project folder. Dagster has one asset per table,
so two pipelines writing the same table (which ``floe run`` accepts) are refused here with a
CONFIGURATION error naming the table and the pipelines. A ``definitions.py`` is all a project
needs for ``dagster dev -f definitions.py``::

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
from floe_core.errors import ConfigurationError, ErrorCode

__all__ = ["build_definitions"]


def build_definitions(
    project: str | os.PathLike[str], *, resources: dict[str, Any] | None = None
) -> dg.Definitions:
    """Definitions for the project in folder ``project`` (or the folder of the file given).

    Raises the project's ConfigurationError (every problem listed) when it cannot be loaded,
    and ConfigurationError(INVALID_CONFIG) when two pipelines would make the same asset.
    """
    from floe_core.project import Project

    folder = Path(project)
    if folder.is_file():
        folder = folder.parent
    loaded = Project.load(folder)
    _refuse_shared_tables(loaded.pipelines, loaded.project_dir)
    by_plugin: dict[str, list[IngestionConfig]] = defaultdict(list)
    for config in loaded.pipelines:
        by_plugin[config.plugin].append(config)
    assets: list[Any] = []
    for plugin_type, configs in by_plugin.items():
        assets.extend(loaded.plugin(plugin_type).create_dagster_assets(configs))
    _refuse_shared_keys(assets, loaded.project_dir)
    return dg.Definitions(
        assets=assets,
        resources={
            RESOURCE_KEY: FloeProjectResource(project_dir=str(loaded.project_dir)),
            **(resources or {}),
        },
    )


def _refuse_shared_tables(configs: list[IngestionConfig], project_dir: Path) -> None:
    writers: dict[str, list[str]] = defaultdict(list)
    for config in configs:
        writers[config.destination_table].append(config.name)
    shared = {table: names for table, names in writers.items() if len(names) > 1}
    if shared:
        _raise_shared(
            [
                f"table {table} is written by pipelines {_and(names)}"
                for table, names in shared.items()
            ],
            project_dir,
        )


def _refuse_shared_keys(assets: list[Any], project_dir: Path) -> None:
    """The same check on what the plugins made (a multi-table pipeline names tables itself)."""
    producers: dict[str, list[str]] = defaultdict(list)
    for asset in assets:
        node = getattr(asset, "node_def", None)  # a plugin may return specs without an op
        for key in getattr(asset, "keys", ()):
            producers[key.to_user_string()].append(getattr(node, "name", None) or repr(asset))
    shared = {key: names for key, names in producers.items() if len(names) > 1}
    if shared:
        _raise_shared(
            [f"asset {key} is made by {_and(names)}" for key, names in shared.items()],
            project_dir,
        )


def _raise_shared(clashes: list[str], project_dir: Path) -> None:
    raise ConfigurationError(
        ErrorCode.INVALID_CONFIG,
        f"{project_dir / 'floe.yaml'}: Dagster has one asset per table, but "
        f"{'; '.join(clashes)}. Give each pipeline its own destination table, or move all but "
        "one of them into a project of their own",
    )


def _and(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}"
