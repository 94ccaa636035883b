"""``floe.yaml``: the project's ingestion pipelines, and their conversion to `IngestionConfig`.

The shape is ADR-0020's::

    ingestion:
      - name: github_events
        type: dlt                       # absent: the manifest's default plugin
        destination: bronze.github_events
        dlt:
          source: dlt.sources.github.github_reactions
          resource: issues
          write_disposition: merge
          primary_key: id
          incremental: {cursor_column: updated_at}
        secret_refs:
          github_token: github-api-token
      - name: salesforce_sync
        type: airbyte
        destination: bronze.salesforce_accounts
        airbyte:
          connection_id: "abc123-def456"

Each pipeline carries exactly one plugin block, keyed by its type: ``dlt:`` and ``airbyte:`` are
modelled here; a third-party plugin's block (``my_source:``) is free-form, must hold ``source``,
and is validated by the plugin itself. ``write_disposition``, ``primary_key`` and ``incremental``
may be written at the pipeline level or in the ``dlt:`` block, not both.

Conversion (:meth:`PipelineSpec.to_ingestion_config`): ``destination`` becomes
``destination_table``; ``source`` is ``dlt.source``, ``airbyte.connection_id`` or the
third-party block's ``source``; ``options`` is the plugin block as written, minus the keys
lifted into ``IngestionConfig`` fields, which exist in one place only: ``write_disposition``,
``primary_key`` and ``incremental`` of a ``dlt:`` block, and ``source`` of a third-party block
(whose plugin owns every other key). The ``dlt:`` and ``airbyte:`` blocks keep ``source`` and
``connection_id`` in ``options`` too.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import SkipJsonSchema

from floe_core.config import (
    IDENTIFIER_PATTERN,
    IncrementalConfig,
    IngestionConfig,
    WriteDisposition,
    split_table_identifier,
)
from floe_core.project.manifest import DEFAULT_PLUGIN, PLUGIN_TYPE_PATTERN
from floe_core.project.problems import KeyPath, format_path
from floe_core.secrets import is_valid_reference

__all__ = [
    "DEFER_CHECKS",
    "AirbyteBlock",
    "DltBlock",
    "FloeFile",
    "PipelineSpec",
    "SpecProblem",
]

DEFER_CHECKS = "floe_defer_checks"
"""Validation context key: skip the cross-field checks (the loader runs them itself, to report
each at its own line)."""
DEFAULT_TYPE = "floe_default_type"
"""Validation context key: the plugin type of pipelines without ``type`` (the manifest's)."""

SpecProblem = tuple[KeyPath, str]
"""A cross-field problem: the key path (relative to the checked object) and the message."""

_LIFTED = ("write_disposition", "primary_key", "incremental")
_BLOCK_FIELD = "plugin_block"
_STRICT = ConfigDict(extra="forbid", frozen=True)


class DltHttpSettings(BaseModel):
    """dlt's own HTTP retries for ``rest_api`` sources (inside one floe attempt)."""

    model_config = _STRICT

    max_attempts: int | None = Field(default=None, ge=1, description="Requests per call.")
    backoff_factor: float | None = Field(default=None, ge=0, description="Exponential backoff.")
    max_retry_delay: float | None = Field(default=None, ge=0, description="Longest wait, s.")
    timeout: float | None = Field(default=None, gt=0, description="Request timeout, s.")


class DltBlock(BaseModel):
    """The ``dlt:`` block of a pipeline: which dlt source to run and how to load it."""

    model_config = _STRICT

    source: str = Field(
        min_length=1,
        description="The dlt source: a dotted path to a @dlt.source or @dlt.resource function "
        "(package.module.function), or a dlt core source (rest_api, sql_database, filesystem).",
    )
    resource: str | list[str] | None = Field(
        default=None, description="Resource(s) of the source to load; absent: all of them."
    )
    write_disposition: WriteDisposition | None = Field(
        default=None, description="append | replace | merge (or set it on the pipeline)."
    )
    primary_key: str | list[str] | None = Field(
        default=None, description="Key column(s); required for merge."
    )
    incremental: IncrementalConfig | None = Field(
        default=None, description="Incremental loading on a cursor column."
    )
    args: dict[str, Any] = Field(
        default_factory=dict,
        description="Keyword arguments of the source function (no secrets: use secret_refs).",
    )
    http: DltHttpSettings | None = Field(
        default=None, description="rest_api only: dlt's HTTP retry and timeout settings."
    )


class AirbyteBlock(BaseModel):
    """The ``airbyte:`` block of a pipeline: the existing Airbyte connection to sync."""

    model_config = _STRICT

    connection_id: str = Field(
        min_length=1, description="The Airbyte connection's id (quote it in YAML)."
    )
    poll_interval_seconds: float | None = Field(
        default=None, gt=0, description="How often to poll the sync (default: the plugin's)."
    )
    timeout_seconds: float | None = Field(
        default=None, gt=0, description="Cancel the sync after this long (default: the plugin's)."
    )


class PipelineSpec(BaseModel):
    """One entry of ``ingestion:`` in ``floe.yaml``.

    Keys other than the fields below are errors, except one block named after the pipeline's
    third-party plugin type, which must hold ``source``.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "additionalProperties": {
                "type": "object",
                "description": "The block of a third-party plugin, keyed by its type; it must "
                "hold `source`.",
            }
        },
    )

    name: str = Field(description="Pipeline name, unique in the project (letters, digits, _).")
    type: str | None = Field(
        default=None,
        pattern=PLUGIN_TYPE_PATTERN,
        description="Ingestion plugin: dlt, airbyte or an installed plugin; absent: the "
        "manifest's plugins.ingestion.type.",
    )
    destination: str = Field(description="Target Iceberg table, namespace.table.")
    description: str | None = Field(default=None, description="What the pipeline loads.")
    owners: list[str] = Field(default_factory=list, description="Owners (team or e-mail).")
    secret_refs: dict[str, str] = Field(
        default_factory=dict,
        description="Argument name -> secret reference (never a value), resolved at run time "
        "from environment variables and the secrets directory.",
    )
    write_disposition: WriteDisposition | None = Field(
        default=None, description="append | replace | merge; absent: append."
    )
    primary_key: str | list[str] | None = Field(
        default=None, description="Key column(s); required for merge."
    )
    incremental: IncrementalConfig | None = Field(
        default=None, description="Incremental loading on a cursor column."
    )
    dlt: DltBlock | None = Field(default=None, description="Settings of a dlt pipeline.")
    airbyte: AirbyteBlock | None = Field(
        default=None, description="Settings of an Airbyte pipeline."
    )
    plugin_block: SkipJsonSchema[Any] = Field(default=None, exclude=True, repr=False)
    """The third-party plugin block, moved here from the key named after the type (a YAML file
    cannot write this key itself)."""

    @model_validator(mode="before")
    @classmethod
    def _take_plugin_block(cls, data: Any, info: ValidationInfo) -> Any:
        """Move the block keyed by a third-party type into ``plugin_block``."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if _BLOCK_FIELD in data:
            raise ValueError(f"unknown key {_BLOCK_FIELD!r}; name a plugin block after its type")
        plugin = data.get("type") or (info.context or {}).get(DEFAULT_TYPE, DEFAULT_PLUGIN)
        if isinstance(plugin, str) and plugin not in cls.model_fields and plugin in data:
            data[_BLOCK_FIELD] = data.pop(plugin)
        return data

    @classmethod
    def key_candidates(cls, data: Any, context: Mapping[str, Any] | None = None) -> list[str]:
        """Keys allowed in the pipeline mapping ``data``: the fields and its type's block."""
        names = [name for name, field in cls.model_fields.items() if not field.exclude]
        plugin = data.get("type") if isinstance(data, Mapping) else None
        plugin = plugin or (context or {}).get(DEFAULT_TYPE, DEFAULT_PLUGIN)
        if isinstance(plugin, str) and plugin not in names:
            names.append(plugin)
        return names

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, value: str) -> str:
        if not IDENTIFIER_PATTERN.match(value):
            raise ValueError(
                f"pipeline name {value!r} must start with a letter or underscore and contain "
                "only letters, digits and underscores"
            )
        return value

    @field_validator("destination")
    @classmethod
    def _destination_is_table(cls, value: str) -> str:
        split_table_identifier(value)
        return value

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> PipelineSpec:
        context = info.context or {}
        if context.get(DEFER_CHECKS):
            return self
        problems = self.problems(context.get(DEFAULT_TYPE, DEFAULT_PLUGIN))
        if problems:
            raise ValueError("; ".join(_told(problem) for problem in problems))
        return self

    def plugin_type(self, default_type: str = DEFAULT_PLUGIN) -> str:
        """The pipeline's plugin: its ``type``, else ``default_type`` (the manifest's)."""
        return self.type or default_type

    def problems(self, default_type: str = DEFAULT_PLUGIN) -> list[SpecProblem]:
        """What is inconsistent in this pipeline, each with its key path."""
        plugin = self.plugin_type(default_type)
        problems: list[SpecProblem] = []
        problems += self._block_problems(plugin)
        problems += self._secret_ref_problems()
        problems += self._lifted_problems()
        return problems

    def _block_problems(self, plugin: str) -> list[SpecProblem]:
        problems: list[SpecProblem] = []
        typed = "" if self.type else " (the manifest's default)"
        block = self.plugin_block
        if plugin not in ("dlt", "airbyte") and block is not None:
            if not isinstance(block, dict):
                problems.append(
                    ((plugin,), f"expected a mapping with the {plugin} plugin's settings")
                )
            elif not isinstance(block.get("source"), str) or not block["source"].strip():
                problems.append(
                    ((plugin, "source"), "missing required key 'source' (the source identifier)")
                )
        for block in ("dlt", "airbyte"):
            if getattr(self, block) is not None and block != plugin:
                problems.append(
                    (
                        (block,),
                        f"a {block}: block in a pipeline of type {plugin!r}{typed}; set "
                        f"`type: {block}` or name the block {plugin}:",
                    )
                )
        has_block = (
            getattr(self, plugin) is not None
            if plugin in ("dlt", "airbyte")
            else self.plugin_block is not None
        )
        if not has_block:
            needs = {"dlt": "source", "airbyte": "connection_id"}.get(plugin, "source")
            problems.append(
                (
                    (),
                    f"a pipeline of type {plugin!r}{typed} needs a `{plugin}:` block with at "
                    f"least `{needs}:`",
                )
            )
        return problems

    def _secret_ref_problems(self) -> list[SpecProblem]:
        problems: list[SpecProblem] = []
        for argument, reference in self.secret_refs.items():
            if not IDENTIFIER_PATTERN.match(argument):
                problems.append(
                    (
                        ("secret_refs", argument),
                        f"{argument!r} is not an argument name: use letters, digits and "
                        "underscores",
                    )
                )
            if not reference.strip():
                problems.append(
                    (("secret_refs", argument), "the secret reference is empty: name a secret")
                )
            elif not is_valid_reference(reference):
                problems.append(
                    (
                        ("secret_refs", argument),
                        f"secret reference {reference!r} is not valid: use letters, digits, "
                        "'-', '_', '.' and at most one '/' (secret/key)",
                    )
                )
        return problems

    def _lifted_problems(self) -> list[SpecProblem]:
        problems: list[SpecProblem] = []
        for key in _LIFTED:
            if getattr(self, key) is not None and self.dlt and getattr(self.dlt, key) is not None:
                problems.append(
                    (
                        ("dlt", key),
                        f"{key} is set both here and at the pipeline level ({key}); keep one",
                    )
                )
        disposition, where = self._lifted("write_disposition")
        primary_key, _ = self._lifted("primary_key")
        if disposition is WriteDisposition.MERGE and not primary_key:
            problems.append(
                (
                    where,
                    "write_disposition 'merge' needs a primary_key (the column(s) that identify a "
                    "row); add `primary_key: id` or use append/replace",
                )
            )
        return problems

    def _lifted(self, key: str) -> tuple[Any, KeyPath]:
        """The value of a liftable key and where it is written (pipeline level first)."""
        value = getattr(self, key)
        if value is not None:
            return value, (key,)
        if self.dlt is not None and getattr(self.dlt, key) is not None:
            return getattr(self.dlt, key), ("dlt", key)
        return None, (key,)

    def to_ingestion_config(self, default_type: str = DEFAULT_PLUGIN) -> IngestionConfig:
        """The :class:`~floe_core.config.IngestionConfig` a plugin receives for this pipeline.

        Raises pydantic's ValidationError when the pipeline is inconsistent (see
        :meth:`problems`).
        """
        plugin = self.plugin_type(default_type)
        options, source = self._options(plugin)
        disposition, _ = self._lifted("write_disposition")
        primary_key, _ = self._lifted("primary_key")
        incremental, _ = self._lifted("incremental")
        return IngestionConfig(
            name=self.name,
            source=source,
            destination_table=self.destination,
            write_disposition=disposition or WriteDisposition.APPEND,
            incremental=incremental,
            secret_refs=dict(self.secret_refs) or None,
            plugin=plugin,
            primary_key=primary_key,
            options=options,
            description=self.description,
            owners=list(self.owners),
        )

    def _options(self, plugin: str) -> tuple[dict[str, Any], str]:
        if plugin == "dlt" and self.dlt is not None:
            options = self.dlt.model_dump(mode="json", exclude_unset=True, exclude=set(_LIFTED))
            return options, self.dlt.source
        if plugin == "airbyte" and self.airbyte is not None:
            return self.airbyte.model_dump(mode="json", exclude_unset=True), (
                self.airbyte.connection_id
            )
        block = self.plugin_block
        if isinstance(block, dict):
            options = {key: value for key, value in block.items() if key != "source"}
            return options, str(block.get("source") or "")
        return {}, ""


class FloeFile(BaseModel):
    """``floe.yaml``: the ingestion pipelines of a project (owned by the data team)."""

    model_config = ConfigDict(extra="forbid", frozen=True, title="floe project file (floe.yaml)")

    ingestion: list[PipelineSpec] = Field(
        min_length=1, description="The ingestion pipelines; names are unique."
    )

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> FloeFile:
        context = info.context or {}
        if context.get(DEFER_CHECKS):
            return self
        problems = self.problems(context.get(DEFAULT_TYPE, DEFAULT_PLUGIN))
        if problems:
            raise ValueError("; ".join(_told(problem) for problem in problems))
        return self

    def problems(self, default_type: str = DEFAULT_PLUGIN) -> list[SpecProblem]:
        """Every pipeline's problems plus duplicate names, each with its key path."""
        problems: list[SpecProblem] = []
        first_seen: dict[str, int] = {}
        for index, pipeline in enumerate(self.ingestion):
            problems += [
                (("ingestion", index, *path), message)
                for path, message in pipeline.problems(default_type)
            ]
            if pipeline.name in first_seen:
                problems.append(
                    (
                        ("ingestion", index, "name"),
                        duplicate_name_message(pipeline.name, first_seen[pipeline.name]),
                    )
                )
            else:
                first_seen[pipeline.name] = index
        return problems

    def ingestion_configs(self, default_type: str = DEFAULT_PLUGIN) -> list[IngestionConfig]:
        """One :class:`~floe_core.config.IngestionConfig` per pipeline, in file order."""
        return [pipeline.to_ingestion_config(default_type) for pipeline in self.ingestion]


def duplicate_name_message(name: str, first_index: int) -> str:
    """The message for a pipeline name already used by ``ingestion[first_index]``."""
    return (
        f"duplicate pipeline name {name!r} (also ingestion[{first_index}]); pipeline names "
        "must be unique"
    )


def _told(problem: SpecProblem) -> str:
    path, message = problem
    return f"{format_path(path)}: {message}" if path else message
