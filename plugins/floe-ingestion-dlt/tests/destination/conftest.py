"""Fixtures of the Iceberg destination's tests: real catalogs and dlt pipelines on them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dlt
import pytest
from floe_dest_helpers import PipelineFactory
from pyiceberg.catalog import Catalog

from floe_core.catalog import CatalogConfig, load_catalog
from floe_ingestion_dlt.destination import KILL_ENV, iceberg_destination

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


@pytest.fixture(autouse=True)
def _no_kill_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test process itself must never reach a kill point."""
    monkeypatch.delenv(KILL_ENV, raising=False)


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    """The embedded SQLite SqlCatalog of a project in ``tmp_path``."""
    return load_catalog(None, project_dir=tmp_path)


@pytest.fixture
def pg_catalog(tmp_path: Path, postgres_url: str) -> Catalog:
    """A SqlCatalog on a fresh PostgreSQL database, warehouse in ``tmp_path``."""
    config = CatalogConfig(
        type="sql", name="floe_pg", uri=postgres_url, warehouse=str(tmp_path / "warehouse")
    )
    return load_catalog(config, project_dir=tmp_path)


@pytest.fixture
def make_pipeline(tmp_path: Path, catalog: Catalog) -> PipelineFactory:
    """Build dlt pipelines writing into ``catalog`` (namespace ``bronze`` unless told).

    ``workdir`` names the pipelines folder (a new name is a fresh working directory).
    """

    def factory(
        name: str = "test_pipeline",
        *,
        workdir: str = "work",
        namespace: str = "bronze",
        target: Catalog | None = None,
        sleep: Callable[[float], None] = lambda _: None,
        **kwargs: Any,
    ) -> dlt.Pipeline:
        destination = iceberg_destination(
            target or catalog, namespace=namespace, pipeline_name=name, sleep=sleep, **kwargs
        )
        return dlt.pipeline(
            pipeline_name=name,
            destination=destination,
            pipelines_dir=str(tmp_path / workdir),
            dataset_name=namespace,
        )

    return factory
