"""`FloeProjectResource`: the ``floe`` Dagster resource, a floe project by its folder.

It holds only the project folder (a string), so it is serialisable and every step process of
the multiprocess executor (or every Kubernetes job of dagster-k8s) loads the same project
from disk: nothing relies on in-process memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:
    from floe_core.config import IngestionConfig
    from floe_core.lineage import ParentRun
    from floe_core.plugin import IngestionPlugin
    from floe_core.project import Project
    from floe_core.runner import IngestionRunner

__all__ = ["RESOURCE_KEY", "FloeProjectResource"]

RESOURCE_KEY = "floe"


class FloeProjectResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """The floe project (``floe.yaml`` + ``platform-manifest.yaml``) the assets belong to.

    Without ``project_dir`` (assets made from Python configs, not from a project folder) a
    run uses the plugin with floe's defaults: the ADR's retry policy, no lineage, no metrics.
    """

    project_dir: str | None = None

    def load_project(self) -> Project:
        from floe_core.project import Project

        if self.project_dir is None:
            raise ValueError("this floe resource has no project_dir")
        return Project.load(self.project_dir)

    def runner(
        self,
        plugin: IngestionPlugin,
        config: IngestionConfig,
        *,
        parent: ParentRun | None = None,
        **overrides: Any,
    ) -> IngestionRunner:
        """The pipeline's runner, configured by the manifest, with the Dagster run as parent."""
        if self.project_dir is None:
            from floe_core.runner import IngestionRunner

            return IngestionRunner(plugin, parent=parent, **overrides)
        return self.load_project().runner(config.name, parent=parent, **overrides)
