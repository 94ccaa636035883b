"""The test project helper of the dlt plugin's tests (see conftest.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

from floe_core.catalog import CatalogConfig
from floe_core.config import IngestionConfig
from floe_core.plugin import PluginContext
from floe_core.result import IngestionResult
from floe_core.retry import RetryPolicy
from floe_core.runner import IngestionRunner
from floe_core.secrets import SecretResolver
from floe_ingestion_dlt.plugin import DltIngestionPlugin


class Project:
    """A test project: folder, secrets (an environment of its own), context, plugin, readers."""

    def __init__(self, root: Path, catalog_config: CatalogConfig | None = None) -> None:
        self.root = root
        self.env: dict[str, str] = {}
        self.catalog_config = catalog_config or CatalogConfig.embedded()
        self.context = self.new_context()
        self.plugin = DltIngestionPlugin(self.context)

    def new_context(self) -> PluginContext:
        return PluginContext(
            project_dir=self.root,
            catalog_config=self.catalog_config,
            secrets=SecretResolver(environ=self.env),
        )

    def fresh_plugin(self) -> DltIngestionPlugin:
        """A plugin on a new context (a new process would see the same)."""
        return DltIngestionPlugin(self.new_context())

    def config(self, **values: Any) -> IngestionConfig:
        values.setdefault("name", "test_pipeline")
        values.setdefault("source", "dlt_project.no_rows")
        values.setdefault("destination_table", "bronze.events")
        return IngestionConfig.model_validate(values)

    def run(
        self, config: IngestionConfig, plugin: DltIngestionPlugin | None = None, **kw: Any
    ) -> IngestionResult:
        """``plugin.run(plugin.create_pipeline(config), **kw)``."""
        plugin = plugin or self.plugin
        return plugin.run(plugin.create_pipeline(config), **kw)

    def run_through_runner(
        self,
        config: IngestionConfig,
        *,
        retry: RetryPolicy | None = None,
        sleeps: list[float] | None = None,
        plugin: DltIngestionPlugin | None = None,
        **kw: Any,
    ) -> IngestionResult:
        """One run through floe's runner (no retry unless ``retry``), sleeping recorded."""
        recorded = sleeps if sleeps is not None else []
        runner = IngestionRunner(
            plugin or self.plugin,
            retry=retry or RetryPolicy.no_retry(),
            sleep=recorded.append,
        )
        return runner.run(config, **kw)

    def catalog(self) -> Any:
        """A new catalog object: it sees only committed data."""
        from floe_core.catalog import load_catalog

        return load_catalog(
            self.catalog_config, project_dir=self.root, secrets=self.context.secrets
        )

    def table_exists(self, identifier: str) -> bool:
        return bool(self.catalog().table_exists(identifier))

    def rows(self, identifier: str, *, key: str | Sequence[str] = "id") -> list[dict[str, Any]]:
        """The table's rows through pyiceberg, sorted by ``key``, dlt's own columns dropped."""
        arrow = self.catalog().load_table(identifier).scan().to_arrow()
        return _sorted(_user_rows(arrow.to_pylist()), key)

    def duckdb_rows(
        self, identifier: str, *, key: str | Sequence[str] = "id"
    ) -> list[dict[str, Any]]:
        """The table's rows read by DuckDB from the data files of the current snapshot."""
        import duckdb

        table = self.catalog().load_table(identifier)
        files = [task.file.file_path for task in table.scan().plan_files()]
        if not files:
            return []
        paths = [path.removeprefix("file://") for path in files]
        connection = duckdb.connect()
        try:
            relation = connection.read_parquet(paths, union_by_name=True)
            columns = relation.columns
            rows = [dict(zip(columns, values, strict=True)) for values in relation.fetchall()]
        finally:
            connection.close()
        return _sorted(_user_rows(rows), key)

    def assert_table(
        self,
        identifier: str,
        expected: Sequence[Mapping[str, Any]],
        *,
        key: str | Sequence[str] = "id",
        normalize: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        """The table holds exactly ``expected`` (their columns), read by pyiceberg and DuckDB."""
        want = _sorted([dict(row) for row in expected], key)
        for reader in (self.rows, self.duckdb_rows):
            got = reader(identifier, key=key)
            got = [{column: row.get(column) for column in want[0]} for row in got] if want else got
            if normalize is not None:
                got = [normalize(row) for row in got]
            assert got == want, f"{reader.__name__} of {identifier}"


def _user_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if not k.startswith("_dlt")} for row in rows]


def _sorted(rows: list[dict[str, Any]], key: str | Sequence[str]) -> list[dict[str, Any]]:
    keys = [key] if isinstance(key, str) else list(key)
    return sorted(rows, key=lambda row: tuple(row.get(k) for k in keys))


def no_rows(token: str | None = None) -> list[dict[str, Any]]:
    """The default declared source of test configs (tests pass ``source=`` to run)."""
    return []
