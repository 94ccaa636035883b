"""Fixtures of the dlt plugin's tests: a project folder with a catalog, and readers.

Every test that loads data reads the Iceberg table back twice: through pyiceberg (a fresh
catalog object, so only committed data is seen) and through DuckDB reading the data files of
the table's current snapshot, and compares both with what the source produced
(:class:`dlt_project.Project`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_core.catalog import CatalogConfig

from dlt_project import Project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A project folder with the embedded catalog and a plugin on it."""
    root = tmp_path / "project"
    root.mkdir()
    return Project(root)


@pytest.fixture
def pg_catalog_project(tmp_path: Path, postgres_url: str) -> Project:
    """A project whose Iceberg catalog is a SqlCatalog on a real PostgreSQL database."""
    root = tmp_path / "project"
    root.mkdir()
    config = CatalogConfig(
        type="sql", name="floe_pg", uri=postgres_url, warehouse=str(tmp_path / "warehouse")
    )
    return Project(root, config)


@pytest.fixture
def dlt_pipelines_dir(tmp_path: Path) -> Path:
    """A pipelines folder for tests that drive dlt directly (to obtain dlt's own exceptions)."""
    path = tmp_path / "dlt_pipelines"
    path.mkdir()
    return path
