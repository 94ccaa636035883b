"""IngestionConfig validation: the contract plugins receive."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from floe_core.config import IngestionConfig, WriteDisposition, split_table_identifier


def make(**overrides: Any) -> IngestionConfig:
    fields: dict[str, Any] = {
        "name": "github_events",
        "source": "dlt.sources.github.github_reactions",
        "destination_table": "bronze.github_events",
    }
    return IngestionConfig(**{**fields, **overrides})


def test_adr_fields_and_defaults() -> None:
    config = make(secret_refs={"access_token": "github-api-token"})
    assert config.write_disposition is WriteDisposition.APPEND
    assert config.incremental is None
    assert config.secret_refs == {"access_token": "github-api-token"}
    assert config.namespace == ("bronze",)
    assert config.table_name == "github_events"


def test_merge_requires_primary_key() -> None:
    with pytest.raises(ValidationError, match="merge' needs a primary_key"):
        make(write_disposition="merge")
    assert make(write_disposition="merge", primary_key="id").primary_key == ["id"]


def test_write_disposition_is_closed() -> None:
    with pytest.raises(ValidationError, match="'append', 'replace' or 'merge'"):
        make(write_disposition="upsert")


@pytest.mark.parametrize(
    "table", ["events", "bronze.", "bronze.1events", "bronze.github-events", "a..b", ""]
)
def test_destination_table_must_be_qualified_iceberg_identifiers(table: str) -> None:
    with pytest.raises(ValidationError, match="destination table"):
        make(destination_table=table)


def test_nested_namespace_is_allowed() -> None:
    assert split_table_identifier("lake.bronze.events") == (("lake", "bronze"), "events")


def test_incremental_needs_cursor_column() -> None:
    with pytest.raises(ValidationError, match="cursor_column"):
        make(incremental={"initial_value": 1})
    config = make(incremental={"cursor_column": "updated_at", "lag": 3600})
    assert config.incremental is not None
    assert config.incremental.cursor_column == "updated_at"


def test_unknown_fields_are_errors() -> None:
    with pytest.raises(ValidationError, match="write_dispositon"):
        make(write_dispositon="append")


def test_empty_secret_reference_is_rejected() -> None:
    with pytest.raises(ValidationError, match="secret reference for 'token' is empty"):
        make(secret_refs={"token": " "})


def test_bad_pipeline_name() -> None:
    with pytest.raises(ValidationError, match="pipeline name"):
        make(name="github events")
