"""Catalogs for tests: a throwaway catalog per test, and reading back what a run committed.

By default a test gets floe's embedded catalog (SQLite ``SqlCatalog`` plus a warehouse folder)
under its own temporary project folder. ``--floe-catalog-uri`` (see
:mod:`floe_core.testing.pytest_plugin`) points the same tests at another SQL catalog database,
e.g. PostgreSQL, with the warehouse still in the test's folder.

:func:`read_table_rows` loads a table through a catalog and returns its rows, so tests check
what is really in Iceberg rather than what a plugin says it wrote.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_core.catalog import CatalogConfig, load_catalog
from floe_core.plugin import PluginContext
from floe_core.secrets import SecretResolver

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

__all__ = [
    "catalog_config_for_tests",
    "compare_rows",
    "fresh_catalog",
    "make_context",
    "read_table_rows",
]


def catalog_config_for_tests(project_dir: Path, catalog_uri: str | None = None) -> CatalogConfig:
    """The embedded catalog, or a SQL catalog at ``catalog_uri``, warehouse in ``project_dir``."""
    if not catalog_uri:
        return CatalogConfig.embedded()
    return CatalogConfig(
        type="sql", name="floe_test", uri=catalog_uri, warehouse=str(project_dir / "warehouse")
    )


def make_context(
    project_dir: Path,
    *,
    settings: Mapping[str, Any] | None = None,
    catalog_uri: str | None = None,
    secrets: SecretResolver | None = None,
) -> PluginContext:
    """A :class:`PluginContext` for a test: its project folder, settings and catalog."""
    return PluginContext(
        project_dir=project_dir,
        settings=dict(settings or {}),
        catalog_config=catalog_config_for_tests(project_dir, catalog_uri),
        secrets=secrets or SecretResolver(),
    )


def fresh_catalog(context: PluginContext) -> Catalog:
    """A new catalog object on the context's catalog: it sees only what was committed."""
    return load_catalog(
        context.catalog_config, project_dir=context.project_dir, secrets=context.secrets
    )


def read_table_rows(
    catalog: Catalog, identifier: str, *, order_by: str | None = None
) -> list[dict[str, Any]] | None:
    """Every row of table ``identifier`` as dicts, or None when the table does not exist.

    A scan returns rows in no guaranteed order once a table has several data files;
    ``order_by`` sorts them by that column.
    """
    if not catalog.table_exists(identifier):
        return None
    rows: list[dict[str, Any]] = catalog.load_table(identifier).scan().to_arrow().to_pylist()
    if order_by is not None:
        rows.sort(key=lambda row: row[order_by])
    return rows


def compare_rows(
    expected: Sequence[Mapping[str, Any]],
    actual: Sequence[Mapping[str, Any]],
    *,
    key: str = "id",
    limit: int = 5,
) -> list[str]:
    """What differs between ``expected`` and ``actual`` rows, matched by ``key``; [] if nothing.

    Only the columns of the expected rows are compared, so columns a plugin adds (load ids,
    hashes) do not count. At most ``limit`` problems of each kind are listed.
    """
    problems: list[str] = []
    by_key: dict[Any, list[Mapping[str, Any]]] = {}
    for row in actual:
        by_key.setdefault(row.get(key), []).append(row)
    missing = [row[key] for row in expected if row[key] not in by_key]
    if missing:
        problems.append(f"rows with {key} {_some(missing, limit)} are not in the table")
    duplicated = [k for k, rows in by_key.items() if len(rows) > 1]
    if duplicated:
        problems.append(f"rows with {key} {_some(duplicated, limit)} are in the table twice")
    expected_keys = {row[key] for row in expected}
    unexpected = [k for k in by_key if k not in expected_keys]
    if unexpected:
        problems.append(f"rows with {key} {_some(unexpected, limit)} were never yielded")
    differences: list[str] = []
    for row in expected:
        found = by_key.get(row[key])
        if not found:
            continue
        for column, value in row.items():
            if column not in found[0]:
                differences.append(f"column {column!r} is missing")
            elif found[0][column] != value:
                differences.append(
                    f"{key}={row[key]}: column {column!r} holds {found[0][column]!r}, "
                    f"the source yielded {value!r}"
                )
    if differences:
        unique = list(dict.fromkeys(differences))
        problems.append("; ".join(unique[:limit]) + (" ..." if len(unique) > limit else ""))
    return problems


def _some(values: Sequence[Any], limit: int) -> str:
    try:
        ordered = sorted(values)
    except TypeError:  # keys of mixed types
        ordered = sorted(values, key=repr)
    shown = ", ".join(repr(v) for v in ordered[:limit])
    return shown + (f" (and {len(values) - limit} more)" if len(values) > limit else "")
