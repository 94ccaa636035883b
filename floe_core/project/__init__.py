"""floe projects: ``floe.yaml`` and ``platform-manifest.yaml``, validated and run.

Modules, one concept each:

* :mod:`~floe_core.project.manifest` and :mod:`~floe_core.project.pipelines`: the models of
  the two files (ADR-0020's shapes; unknown keys are errors);
* :mod:`~floe_core.project.source`: YAML parsed with the position of every key;
* :mod:`~floe_core.project.validation`: pydantic errors told as located problems;
* :mod:`~floe_core.project.problems`: :class:`Problem` and :class:`ProjectError`;
* :mod:`~floe_core.project.loader`: the two files read into models, or every problem;
* :mod:`~floe_core.project.project`: :class:`Project`, which wires plugins, secrets, retry,
  lineage and metrics and runs pipelines;
* :mod:`~floe_core.project.checks`: what ``floe validate`` checks;
* :mod:`~floe_core.project.schemas`: the JSON schemas of both files, for editors.

Nothing here imports pyiceberg, dlt or dagster at import time.
"""

from __future__ import annotations

from floe_core.project.checks import ValidationReport
from floe_core.project.loader import MANIFEST_FILE, PROJECT_FILE, load_floe_file, load_manifest
from floe_core.project.manifest import (
    IngestionPlugins,
    LineageSettings,
    MetricsSettings,
    ObservabilitySettings,
    PlatformManifest,
    Plugins,
    PluginSettings,
    SecretsSettings,
)
from floe_core.project.pipelines import AirbyteBlock, DltBlock, FloeFile, PipelineSpec
from floe_core.project.problems import Problem, ProjectError
from floe_core.project.project import Project

__all__ = [
    "MANIFEST_FILE",
    "PROJECT_FILE",
    "AirbyteBlock",
    "DltBlock",
    "FloeFile",
    "IngestionPlugins",
    "LineageSettings",
    "MetricsSettings",
    "ObservabilitySettings",
    "PipelineSpec",
    "PlatformManifest",
    "PluginSettings",
    "Plugins",
    "Problem",
    "Project",
    "ProjectError",
    "SecretsSettings",
    "ValidationReport",
    "load_floe_file",
    "load_manifest",
]
