"""Running floe in-process for the fault tests: a project, its runner, what the run recorded.

:func:`run_pipeline` runs one pipeline of a :class:`~floe_core.project.Project` through the
project's own runner (the manifest's retry policy, the real plugin), with real sleeps that are
also recorded, and a private metrics registry whose ``floe_ingestion_errors_total`` says how
every failed attempt was classified.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from floe_core.catalog import load_catalog
from floe_core.metrics import IngestionMetrics
from floe_core.plugin import IngestionPlugin
from floe_core.project import Project
from floe_core.result import IngestionResult

__all__ = ["Outcome", "catalog_of", "run_pipeline"]


@dataclass
class Outcome:
    """A finished in-process run."""

    result: IngestionResult
    sleeps: list[float]
    errors: Counter[tuple[str, str]]  # (category, code) of every failed attempt
    wall_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def codes(self) -> set[str]:
        return {code for _, code in self.errors}


def run_pipeline(
    project_dir: Path,
    name: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    plugin: Callable[[Project], IngestionPlugin] | None = None,
    **overrides: Any,
) -> Outcome:
    """Run pipeline ``name`` of the project in ``project_dir`` (loaded afresh) once.

    ``sleep`` does the runner's waits (recorded in :attr:`Outcome.sleeps` too); ``plugin``
    builds the plugin from the project (default: the project's own); other keyword arguments
    go to :meth:`Project.runner`.
    """
    project = Project.load(project_dir)
    project.check([name])
    sleeps: list[float] = []

    def recorded(seconds: float) -> None:
        sleeps.append(seconds)
        sleep(seconds)

    if plugin is not None:
        overrides["plugin"] = plugin(project)

    # The project's own metrics (so a configured Pushgateway is pushed to), else private ones:
    # either way their registry says how each failed attempt was classified.
    metrics = overrides.pop("metrics", None) or project.metrics or IngestionMetrics()
    arguments: dict[str, Any] = {"sleep": recorded, "metrics": metrics, **overrides}
    runner = project.runner(name, **arguments)
    started = time.monotonic()
    result = runner.run(project.pipeline(name))
    wall = time.monotonic() - started
    errors: Counter[tuple[str, str]] = Counter()
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "floe_ingestion_errors_total":
                key = (sample.labels["category"], sample.labels["code"])
                errors[key] += int(sample.value)
    return Outcome(result, sleeps, errors, wall)


def catalog_of(project_dir: Path) -> Any:
    """A new catalog object for the project (it sees only what was committed)."""
    project = Project.load(project_dir)
    return load_catalog(project.catalog_config, project_dir=project_dir, secrets=project.secrets)
