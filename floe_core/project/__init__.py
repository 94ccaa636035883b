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

Nothing here imports pyiceberg, dlt or dagster at import time, and the names below load their
module on first use: importing :mod:`~floe_core.project.problems` alone (as the CLI does
before it knows the command) does not build the models.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from floe_core._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "ValidationReport": "floe_core.project.checks",
    "MANIFEST_FILE": "floe_core.project.loader",
    "PROJECT_FILE": "floe_core.project.loader",
    "load_floe_file": "floe_core.project.loader",
    "load_manifest": "floe_core.project.loader",
    "IngestionPlugins": "floe_core.project.manifest",
    "LineageSettings": "floe_core.project.manifest",
    "MetricsSettings": "floe_core.project.manifest",
    "ObservabilitySettings": "floe_core.project.manifest",
    "PlatformManifest": "floe_core.project.manifest",
    "Plugins": "floe_core.project.manifest",
    "PluginSettings": "floe_core.project.manifest",
    "SecretsSettings": "floe_core.project.manifest",
    "AirbyteBlock": "floe_core.project.pipelines",
    "DltBlock": "floe_core.project.pipelines",
    "FloeFile": "floe_core.project.pipelines",
    "PipelineSpec": "floe_core.project.pipelines",
    "Problem": "floe_core.project.problems",
    "ProjectError": "floe_core.project.problems",
    "Project": "floe_core.project.project",
}

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

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)

if TYPE_CHECKING:
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
