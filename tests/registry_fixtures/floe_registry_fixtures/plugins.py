"""A valid plugin and one class per way of breaking the plugin contract."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from floe_core.config import IngestionConfig
from floe_core.errors import ConfigurationError, ErrorCode
from floe_core.plugin import IngestionPlugin, PluginContext
from floe_core.result import IngestionResult
from floe_registry_fixtures import IMPORT_LOG

IMPORT_LOG.append(__name__)


class _Complete(IngestionPlugin):
    """Implements every abstract method, trivially; subclasses set the attributes."""

    def create_pipeline(self, config: IngestionConfig) -> Any:
        return config

    def run(self, pipeline: Any, **kwargs: Any) -> IngestionResult:
        return IngestionResult(success=True, rows_loaded=0, tables_created=[], duration_seconds=0.0)

    def get_destination_config(self, catalog_config: Mapping[str, Any]) -> dict[str, Any]:
        return {"catalog": dict(catalog_config)}

    def create_dagster_assets(self, configs: list[IngestionConfig]) -> list[Any]:
        return []


class GoodPlugin(_Complete):
    name = "good"
    version = "1.2.3"
    is_external = False


class ExternalPlugin(_Complete):
    name = "external"
    version = "0.9.0"
    is_external = True
    floe_api_version = "1.0"


class NotAPlugin:
    name = "not_a_plugin"
    version = "1.0.0"
    is_external = False


class AbstractPlugin(IngestionPlugin):
    name = "abstract"
    version = "1.0.0"
    is_external = False

    def create_pipeline(self, config: IngestionConfig) -> Any:
        return config


class NamelessPlugin(_Complete):
    version = "1.0.0"
    is_external = False


class MisnamedPlugin(_Complete):
    name = "other_name"
    version = "1.0.0"
    is_external = False


class VersionlessPlugin(_Complete):
    name = "versionless"
    is_external = False


class EmptyVersionPlugin(_Complete):
    name = "empty_version"
    version = ""
    is_external = False


class UndecidedPlugin(_Complete):
    """Leaves is_external unset."""

    name = "undecided"
    version = "1.0.0"


class StringlyExternalPlugin(_Complete):
    name = "stringly"
    version = "1.0.0"
    is_external = "yes"  # type: ignore[assignment]


class FutureApiPlugin(_Complete):
    name = "future_api"
    version = "1.0.0"
    is_external = False
    floe_api_version = "2.0"


class NewerMinorPlugin(_Complete):
    name = "newer_minor"
    version = "1.0.0"
    is_external = False
    floe_api_version = "1.99"


class OldApiPlugin(_Complete):
    name = "old_api"
    version = "1.0.0"
    is_external = False
    floe_api_version = "0.9"


class GarbageApiPlugin(_Complete):
    name = "garbage_api"
    version = "1.0.0"
    is_external = False
    floe_api_version = "latest"


class ManyProblemsPlugin(IngestionPlugin):
    """Abstract, misnamed, versionless and for a future API: every problem is reported."""

    name = "not_many"
    is_external = False
    floe_api_version = "3.1"


class NeedsArgumentsPlugin(_Complete):
    """The ADR's Airbyte sketch: settings as constructor arguments instead of the context."""

    name = "needs_arguments"
    version = "1.0.0"
    is_external = False

    def __init__(self, workspace_url: str, api_token: str) -> None:
        super().__init__()
        self.workspace_url = workspace_url


class InitCrashPlugin(_Complete):
    name = "init_crash"
    version = "1.0.0"
    is_external = False

    def __init__(self, context: PluginContext | None = None) -> None:
        raise RuntimeError("cannot start: the frobnicator is missing")


class InitRefusesSettingsPlugin(_Complete):
    name = "init_refuses"
    version = "1.0.0"
    is_external = False

    def __init__(self, context: PluginContext | None = None) -> None:
        super().__init__(context)
        if "workspace_url" not in self.context.settings:
            raise ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                "plugins.ingestion.config.workspace_url is required",
            )


def make_plugin() -> type[IngestionPlugin]:
    """An entry point must name the class itself, not a factory."""
    return GoodPlugin


NOT_A_CLASS = 42
