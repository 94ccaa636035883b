"""The platform manifest (``platform-manifest.yaml``): plugins, retry, catalog, observability.

The shape is ADR-0020's, extended with blocks the platform needs::

    plugins:
      ingestion:
        type: dlt                  # the default plugin (pipelines without `type` use it)
        config: {}                 # its settings (PluginContext.settings)
        retry:                     # RetryPolicy (ADR-0020, "Retry Configuration")
          max_attempts: 3
          retryable_categories: [TRANSIENT]
        additional:                # settings of other plugins that pipelines may name
          airbyte:
            config:
              workspace_url: https://airbyte.internal
              connection_secret_ref: airbyte-api-token
            retry: {max_attempts: 5}   # optional; else the retry above
    catalog:                       # CatalogConfig; absent: the embedded SQLite catalog
      type: sql
      uri: postgresql+psycopg2://iceberg@db:5432/iceberg
      secret_refs: {uri: iceberg-catalog-uri}
    observability:
      lineage:                     # absent: no lineage events
        transport: {type: http, url: http://marquez:5000}
        namespace: analytics
        secret_refs: {auth.apiKey: marquez-api-key}
      metrics:                     # absent: no metrics
        pushgateway_url: http://pushgateway:9091
        job: floe_ingestion
    secrets:
      directory: /var/run/secrets/floe

Why ``additional``: the ADR gives one ``type`` with its ``config``, and a manifest written that
way stays valid. A project that also has pipelines of another type (``type: airbyte`` next to
dlt ones) gets that plugin's settings from ``additional.<type>``; a type listed nowhere runs
with empty settings.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from floe_core.catalog import CatalogConfig
from floe_core.retry import RetryPolicy
from floe_core.secrets import is_valid_reference

__all__ = [
    "DEFAULT_PLUGIN",
    "PLUGIN_TYPE_PATTERN",
    "IngestionPlugins",
    "LineageSettings",
    "MetricsSettings",
    "ObservabilitySettings",
    "PlatformManifest",
    "PluginSettings",
    "Plugins",
    "SecretsSettings",
]

DEFAULT_PLUGIN = "dlt"
"""The ingestion plugin used when the manifest names none (ADR-0020: dlt is the default)."""

PLUGIN_TYPE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
"""What a plugin type (an entry-point name in the ``floe.ingestion`` group) looks like."""

_STRICT = ConfigDict(extra="forbid", frozen=True)


class PluginSettings(BaseModel):
    """Settings of one more ingestion plugin (an entry of ``plugins.ingestion.additional``)."""

    model_config = _STRICT

    config: dict[str, Any] = Field(
        default_factory=dict,
        description="The plugin's settings, handed to it as PluginContext.settings. Keys ending "
        "in `secret_ref` hold secret references, never values.",
    )
    retry: RetryPolicy | None = Field(
        default=None,
        description="Retry policy for this plugin's pipelines; absent: plugins.ingestion.retry.",
    )


class IngestionPlugins(BaseModel):
    """``plugins.ingestion``: the default ingestion plugin, its settings and the retry policy."""

    model_config = _STRICT

    type: str = Field(
        default=DEFAULT_PLUGIN,
        pattern=PLUGIN_TYPE_PATTERN,
        description="The default ingestion plugin (its entry-point name): used by pipelines "
        "that set no `type`. dlt (embedded) or airbyte (external), or any installed plugin.",
    )
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="The default plugin's settings, handed to it as PluginContext.settings. "
        "Keys ending in `secret_ref` hold secret references, never values.",
    )
    retry: RetryPolicy = Field(
        default_factory=RetryPolicy,
        description="How failed runs are retried (ADR-0020 defaults: 3 attempts, 60 s initial "
        "delay doubling up to 3600 s, TRANSIENT errors only).",
    )
    additional: dict[str, PluginSettings] = Field(
        default_factory=dict,
        description="Settings of other plugins that pipelines name in their `type`, keyed by "
        "plugin type.",
    )

    @field_validator("additional")
    @classmethod
    def _additional_names(cls, value: dict[str, PluginSettings]) -> dict[str, PluginSettings]:
        for name in value:
            if not re.match(PLUGIN_TYPE_PATTERN, name):
                raise ValueError(
                    f"{name!r} is not a plugin type: use letters, digits, '_' and '-', "
                    "starting with a letter or '_'"
                )
        return value

    @model_validator(mode="after")
    def _default_not_repeated(self) -> IngestionPlugins:
        if self.type in self.additional:
            raise ValueError(
                f"additional.{self.type} repeats the default plugin {self.type!r}: put its "
                "settings in plugins.ingestion.config and its retry in plugins.ingestion.retry"
            )
        return self

    def settings_for(self, plugin_type: str) -> dict[str, Any]:
        """The settings of ``plugin_type`` (empty when the manifest lists none)."""
        if plugin_type == self.type:
            return dict(self.config)
        extra = self.additional.get(plugin_type)
        return dict(extra.config) if extra is not None else {}

    def retry_for(self, plugin_type: str) -> RetryPolicy:
        """The retry policy of ``plugin_type``'s pipelines."""
        extra = self.additional.get(plugin_type)
        if extra is not None and extra.retry is not None:
            return extra.retry
        return self.retry


class Plugins(BaseModel):
    """``plugins``: the platform's plugin choices (only ``ingestion`` here)."""

    model_config = _STRICT

    ingestion: IngestionPlugins = Field(
        default_factory=IngestionPlugins, description="The ingestion plugin and its retry policy."
    )


class LineageSettings(BaseModel):
    """``observability.lineage``: where OpenLineage events go."""

    model_config = _STRICT

    transport: dict[str, Any] | None = Field(
        default=None,
        description="An OpenLineage transport block, as under `transport:` in openlineage.yml: "
        "{type: http, url: ..., endpoint: ...}, {type: console}, {type: file, log_file_path: "
        "..., append: true}, kafka... A relative log_file_path is relative to the project. "
        "Absent: the OpenLineage client's own configuration (OPENLINEAGE_URL, openlineage.yml).",
    )
    namespace: str | None = Field(
        default=None,
        min_length=1,
        description="Job namespace of the events; absent: OPENLINEAGE_NAMESPACE, else 'floe'.",
    )
    secret_refs: dict[str, str] = Field(
        default_factory=dict,
        description="Transport setting (dotted path, e.g. `auth.apiKey`) -> secret reference, "
        "filled in when the emitter is built.",
    )

    @field_validator("transport")
    @classmethod
    def _transport_has_type(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None and not isinstance(value.get("type"), str):
            raise ValueError(
                "a transport needs a `type` (http, console, file, kafka, ...), as in "
                "openlineage.yml"
            )
        return value

    @field_validator("secret_refs")
    @classmethod
    def _references_valid(cls, value: dict[str, str]) -> dict[str, str]:
        return _check_references(value)


class MetricsSettings(BaseModel):
    """``observability.metrics``: Prometheus metrics, pushed to a Pushgateway when set."""

    model_config = _STRICT

    pushgateway_url: str | None = Field(
        default=None,
        description="Base URL of a Prometheus Pushgateway (http://host:9091); absent: metrics "
        "are only kept in-process.",
    )
    job: str = Field(
        default="floe_ingestion", min_length=1, description="The `job` label of pushed metrics."
    )
    push_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Upper bound of one push, read and write included."
    )

    @field_validator("pushgateway_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value


class ObservabilitySettings(BaseModel):
    """``observability``: lineage and metrics; each is off when its block is absent."""

    model_config = _STRICT

    lineage: LineageSettings | None = Field(
        default=None, description="OpenLineage events of every run; absent: none."
    )
    metrics: MetricsSettings | None = Field(
        default=None, description="Prometheus metrics of every run; absent: none."
    )


class SecretsSettings(BaseModel):
    """``secrets``: where secret references are resolved besides environment variables."""

    model_config = _STRICT

    directory: str | None = Field(
        default=None,
        description="Folder of mounted secrets (Kubernetes layout: one file per key), "
        "relative to the project or absolute. FLOE_SECRETS_DIR, when set, takes precedence.",
    )


class PlatformManifest(BaseModel):
    """``platform-manifest.yaml``: how the platform runs ingestion (owned by the platform team).

    Every block is optional; an absent manifest means dlt, the embedded catalog, ADR retry
    defaults, no lineage and no metrics.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="floe platform manifest (platform-manifest.yaml)",
    )

    plugins: Plugins = Field(
        default_factory=Plugins, description="Plugin choices: `ingestion` (type, config, retry)."
    )
    catalog: CatalogConfig | None = Field(
        default=None,
        description="The Iceberg catalog every plugin writes through; absent: the embedded "
        "SQLite catalog and warehouse under <project>/.floe/.",
    )
    observability: ObservabilitySettings = Field(
        default_factory=ObservabilitySettings, description="OpenLineage and Prometheus metrics."
    )
    secrets: SecretsSettings = Field(
        default_factory=SecretsSettings, description="Where secret references are resolved."
    )

    @property
    def default_plugin(self) -> str:
        """The plugin type of pipelines that name none."""
        return self.plugins.ingestion.type


def _check_references(value: dict[str, str]) -> dict[str, str]:
    for key, reference in value.items():
        if not is_valid_reference(reference):
            raise ValueError(
                f"secret reference {reference!r} for {key!r} is not valid: use letters, digits, "
                "'-', '_', '.' and at most one '/' (secret/key)"
            )
    return value
