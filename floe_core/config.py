"""`IngestionConfig`: one ingestion pipeline, as a plugin receives it (ADR-0020).

The model keeps the ADR's fields (``name``, ``source``, ``destination_table``,
``write_disposition``, ``incremental``, ``secret_refs``) and adds what a plugin needs to act on
them without guessing: ``plugin`` (the entry-point name), ``primary_key`` (required for
``merge``), ``options`` (the plugin-specific block of ``floe.yaml``, e.g. ``dlt:`` or
``airbyte:``), ``description`` and ``owners``.

Validation is strict and explains itself: unknown fields are rejected, ``destination_table``
must be ``namespace.table`` made of Iceberg-safe identifiers, ``merge`` needs a primary key and
``incremental`` needs a ``cursor_column``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "IDENTIFIER_PATTERN",
    "IncrementalConfig",
    "IngestionConfig",
    "WriteDisposition",
    "split_table_identifier",
]

IDENTIFIER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
"""A name part that every Iceberg engine (Spark, Trino, DuckDB, pyiceberg) accepts unquoted."""


class WriteDisposition(StrEnum):
    """How a load treats rows already in the destination table."""

    APPEND = "append"
    REPLACE = "replace"
    MERGE = "merge"


class IncrementalConfig(BaseModel):
    """Incremental loading: only rows whose ``cursor_column`` moved past the last run's maximum.

    ``initial_value`` is where the very first run starts; ``end_value`` bounds a backfill;
    ``lag`` re-reads that much behind the high-water mark (seconds for date/time cursors,
    units of the cursor for numbers) to catch late-arriving rows.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    cursor_column: str = Field(min_length=1)
    initial_value: Any = None
    end_value: Any = None
    lag: float | None = Field(default=None, ge=0)


class IngestionConfig(BaseModel):
    """Configuration for one ingestion pipeline (the contract a plugin receives)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)

    name: str = Field(description="Pipeline name, unique in the project.")
    source: str = Field(
        min_length=1,
        description="Source identifier: a dotted path or core source for dlt, a connection id "
        "for Airbyte.",
    )
    destination_table: str = Field(description="Target Iceberg table, `namespace.table`.")
    write_disposition: WriteDisposition = Field(
        default=WriteDisposition.APPEND, description="append | replace | merge"
    )
    incremental: IncrementalConfig | None = None
    secret_refs: dict[str, str] | None = Field(
        default=None, description="Argument name -> secret reference (never the value)."
    )
    plugin: str = Field(default="dlt", description="Ingestion plugin (entry-point name).")
    primary_key: list[str] | None = Field(
        default=None, description="Key columns; required for merge."
    )
    options: dict[str, Any] = Field(
        default_factory=dict, description="The plugin-specific block of floe.yaml."
    )
    description: str | None = None
    owners: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _name_is_identifier(cls, value: str) -> str:
        if not IDENTIFIER_PATTERN.match(value):
            raise ValueError(
                f"pipeline name {value!r} must start with a letter or underscore and contain "
                "only letters, digits and underscores"
            )
        return value

    @field_validator("destination_table")
    @classmethod
    def _table_is_qualified(cls, value: str) -> str:
        split_table_identifier(value)
        return value

    @field_validator("primary_key", mode="before")
    @classmethod
    def _primary_key_as_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @field_validator("secret_refs")
    @classmethod
    def _secret_refs_not_blank(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for argument, reference in (value or {}).items():
            if not reference.strip():
                raise ValueError(f"secret reference for {argument!r} is empty")
        return value

    @model_validator(mode="after")
    def _merge_needs_primary_key(self) -> IngestionConfig:
        if self.write_disposition is WriteDisposition.MERGE and not self.primary_key:
            raise ValueError(
                "write_disposition 'merge' needs a primary_key (the column(s) that identify a "
                "row); add primary_key: [id] or use append/replace"
            )
        return self

    @property
    def namespace(self) -> tuple[str, ...]:
        """The Iceberg namespace of ``destination_table`` (all parts but the last)."""
        return split_table_identifier(self.destination_table)[0]

    @property
    def table_name(self) -> str:
        """The table part of ``destination_table``."""
        return split_table_identifier(self.destination_table)[1]


def split_table_identifier(identifier: str) -> tuple[tuple[str, ...], str]:
    """Split ``namespace[.sub].table`` into ``(namespace parts, table)``; raise ValueError."""
    parts = identifier.split(".")
    if len(parts) < 2:
        raise ValueError(
            f"destination table {identifier!r} must be qualified as namespace.table "
            "(e.g. bronze.github_events)"
        )
    for part in parts:
        if not IDENTIFIER_PATTERN.match(part):
            raise ValueError(
                f"{part!r} in destination table {identifier!r} is not a valid Iceberg "
                "identifier: use letters, digits and underscores, not starting with a digit"
            )
    return tuple(parts[:-1]), parts[-1]
