"""Helpers shared by the project and CLI tests (not a test module).

``floe_project_fixtures`` (in ``tests/project_fixtures``) holds :class:`IcebergTestPlugin`, a
real plugin writing Iceberg tables with pyiceberg; :func:`test_registry` registers it in a
registry that ignores installed plugins, so results do not depend on the environment.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any

FIXTURES_DIR = Path(__file__).resolve().parent / "project_fixtures"
if str(FIXTURES_DIR) not in sys.path:
    sys.path.insert(0, str(FIXTURES_DIR))

from floe_project_fixtures.plugin import IcebergTestPlugin  # noqa: E402

from floe_core.registry import PluginRegistry  # noqa: E402

__all__ = [
    "FIXTURES_DIR",
    "NUMBERS_FLOE_YAML",
    "IcebergTestPlugin",
    "files_under",
    "read_rows",
    "test_registry",
    "write_project",
]

NUMBERS_FLOE_YAML = """\
ingestion:
  - name: numbers
    type: testsource
    destination: bronze.numbers
    description: generated numbers
    owners: [data-team]
    testsource:
      source: numbers
      rows: 3
  - name: letters
    type: testsource
    destination: bronze.letters
    write_disposition: merge
    primary_key: id
    testsource:
      source: letters
      rows: 2
"""


def test_registry() -> PluginRegistry:
    """A registry with only the test plugin (installed entry points are ignored)."""
    registry = PluginRegistry(entry_points=lambda: [])
    registry.register(IcebergTestPlugin)
    return registry


test_registry.__test__ = False  # type: ignore[attr-defined]  # not a test, despite its name


def write_project(root: Path, floe_yaml: str | None, manifest: str | None = None) -> Path:
    """Write ``floe.yaml`` (and the manifest) into ``root``; None leaves a file out."""
    root.mkdir(parents=True, exist_ok=True)
    if floe_yaml is not None:
        (root / "floe.yaml").write_text(textwrap.dedent(floe_yaml), encoding="utf-8")
    if manifest is not None:
        (root / "platform-manifest.yaml").write_text(textwrap.dedent(manifest), encoding="utf-8")
    return root


def files_under(root: Path) -> set[str]:
    """Every file below ``root`` (relative paths), to prove that nothing was written."""
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()}


def read_rows(project_dir: Path, identifier: str) -> list[dict[str, Any]]:
    """The rows of ``identifier`` in the project's embedded catalog, sorted by id."""
    from floe_core.catalog import load_catalog

    catalog = load_catalog(None, project_dir=project_dir)
    rows = catalog.load_table(identifier).scan().to_arrow().to_pylist()
    return sorted(rows, key=lambda row: row["id"])
