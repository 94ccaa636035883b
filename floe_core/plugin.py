"""`IngestionPlugin`: the contract an ingestion plugin implements (ADR-0020).

A plugin is a class, published under the ``floe.ingestion`` entry-point group with its
``name`` as the entry-point name::

    [project.entry-points."floe.ingestion"]
    my_source = "my_package.plugin:MySourcePlugin"

floe instantiates it with a :class:`PluginContext` (the platform's settings for the plugin, the
Iceberg catalog, the secret resolver, the project folder) and then, for each run,

1. ``pipeline = plugin.create_pipeline(config)``: validate the pipeline's settings and build
   whatever the plugin runs (a dlt pipeline, an Airbyte connection handle...). Raise a
   :class:`~floe_core.errors.ConfigurationError` for bad settings.
2. ``result = plugin.run(pipeline, **kwargs)``: do the work, write Iceberg tables through the
   catalog, and return an :class:`~floe_core.result.IngestionResult`. A failure is either a
   result with ``success=False`` and an :class:`~floe_core.errors.IngestionError`, or a raised
   :class:`~floe_core.errors.IngestionException`; anything else is classified ``UNKNOWN``.
   An in-process plugin must accept ``source=`` in ``kwargs``: an object that replaces the
   configured source (a mock source from :mod:`floe_core.testing` in unit tests).

Plugins do not retry, emit lineage or record metrics: :class:`~floe_core.runner.IngestionRunner`
wraps every run with those. Plugins never log or return secret values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from floe_core.catalog import EMBEDDED_DIR, CatalogConfig, load_catalog
from floe_core.config import IngestionConfig
from floe_core.result import IngestionResult
from floe_core.secrets import SecretResolver

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

__all__ = ["FLOE_API_VERSION", "IngestionPlugin", "PluginContext", "is_api_compatible"]

FLOE_API_VERSION = "1.0"
"""The plugin contract's version: a plugin built for ``X.Y`` loads in floe ``X.Z`` with Z >= Y."""


def is_api_compatible(plugin_api_version: str, floe_api_version: str = FLOE_API_VERSION) -> bool:
    """Same major version, and the plugin needs no newer minor version than floe offers."""
    try:
        p_major, p_minor = (int(part) for part in plugin_api_version.split("."))
        f_major, f_minor = (int(part) for part in floe_api_version.split("."))
    except ValueError:
        return False
    return p_major == f_major and p_minor <= f_minor


@dataclass
class PluginContext:
    """What floe hands a plugin: platform settings, catalog, secrets and project folder.

    ``settings`` is the manifest's ``plugins.ingestion.config`` block (plain values and secret
    references, never secret values). The catalog is loaded on first use of :attr:`catalog`.
    """

    project_dir: Path = field(default_factory=Path.cwd)
    settings: Mapping[str, Any] = field(default_factory=dict)
    catalog_config: CatalogConfig = field(default_factory=CatalogConfig.embedded)
    secrets: SecretResolver = field(default_factory=SecretResolver)

    @cached_property
    def catalog(self) -> Catalog:
        """The pyiceberg catalog, loaded once per context."""
        return load_catalog(self.catalog_config, project_dir=self.project_dir, secrets=self.secrets)

    @property
    def state_dir(self) -> Path:
        """A folder the plugin may use for working files (``<project>/.floe/state``)."""
        path = self.project_dir / EMBEDDED_DIR / "state"
        path.mkdir(parents=True, exist_ok=True)
        return path


class IngestionPlugin(ABC):
    """Interface for data ingestion/EL plugins.

    Class attributes every plugin sets: ``name`` (equal to its entry-point name), ``version``,
    ``is_external`` (True when the work runs in a service outside floe, as Airbyte does) and
    ``floe_api_version`` (the contract version it was written for, default the current one).
    """

    name: ClassVar[str]
    version: ClassVar[str]
    is_external: ClassVar[bool]
    floe_api_version: ClassVar[str] = FLOE_API_VERSION

    def __init__(self, context: PluginContext | None = None) -> None:
        self.context = context or PluginContext()

    @abstractmethod
    def create_pipeline(self, config: IngestionConfig) -> Any:
        """Create the ingestion pipeline from configuration.

        For dlt: a dlt pipeline object; for Airbyte: the connection handle. Raise
        ConfigurationError for settings the plugin cannot act on.
        """

    @abstractmethod
    def run(self, pipeline: Any, **kwargs: Any) -> IngestionResult:
        """Execute the pipeline and return what was committed to Iceberg.

        For dlt: runs the pipeline in-process; for Airbyte: triggers a sync via the API and
        waits for it.
        """

    @abstractmethod
    def get_destination_config(self, catalog_config: Mapping[str, Any]) -> dict[str, Any]:
        """Destination settings for writing to Iceberg, derived from the catalog config.

        All ingestion plugins MUST write to Iceberg tables via the catalog. Secrets appear as
        references, never as values.
        """

    @abstractmethod
    def create_dagster_assets(self, configs: list[IngestionConfig]) -> list[Any]:
        """Create Dagster asset definitions from ingestion configurations."""

    def validate_pipeline(self, config: IngestionConfig) -> list[str]:
        """Problems with ``config`` that ``floe validate`` should report, as sentences.

        Called after :meth:`create_pipeline` accepted ``config``; the default finds none. An
        external plugin overrides it to compare the service's side with floe's (e.g. that an
        Airbyte connection's destination writes to floe's Iceberg catalog). Must not write.
        """
        return []

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {self.version}>"
