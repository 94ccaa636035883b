"""The quickstart tour (`make demo`): a shop's data into Iceberg, through Dagster and floe.

Each run of this script is one day of the shop: the day's data arrives (new orders, updated
customers, a file of web events), every pipeline of ``floe.yaml`` is materialised as Dagster
assets through the floe runner into the embedded Iceberg catalog, and the tables are read
back. A fresh project runs two days, so the second load shows incremental loading at work:
only the new rows are loaded, and the merged customers table keeps one row per customer.

Nothing here needs a network or a service.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import shop_data  # noqa: E402  (the dataset generator beside this file)

console = Console()
QUIET = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}  # dagster's own log lines


def main() -> int:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "ERROR")  # the tour shows floe's own summary
    fresh = not (HERE / ".floe" / "catalog.db").exists()
    days = 2 if fresh else 1
    console.print(
        Panel.fit(
            "[bold]floe quickstart[/]: a coffee shop's database and web events -> Apache Iceberg\n"
            f"project: {HERE}",
            border_style="cyan",
        )
    )
    for _ in range(days):
        day = shop_data.advance(HERE / "data")
        _write_secret()
        console.rule(f"[bold]day {day}[/]: the shop's new data arrived")
        results = _materialize_all()
        console.print(_summary(results))
        if any(not row["success"] for row in results):
            console.print("[red]some pipelines failed: see the errors above[/]")
            return 1
    _show_tables()
    console.print(
        Panel.fit(
            "Run [bold]make demo[/] again: one more day arrives and only its rows are loaded.\n"
            "The same project in Dagster's UI:\n"
            "  [bold].venv/bin/dagster dev -f examples/quickstart/definitions.py[/]\n"
            "and on the command line:\n"
            "  [bold].venv/bin/floe run -p examples/quickstart[/]",
            title="next",
            border_style="green",
        )
    )
    return 0


def _write_secret() -> None:
    """The shop database URL, as a mounted secret file (what a Kubernetes secret looks like)."""
    secrets = HERE / ".floe" / "secrets"
    secrets.mkdir(parents=True, exist_ok=True)
    (secrets / "shop-db-url").write_text(f"sqlite:///{HERE / 'data' / 'shop.db'}\n")


def _materialize_all() -> list[dict[str, Any]]:
    """Materialise every pipeline's assets with Dagster, one pipeline after the other."""
    import dagster as dg

    from floe_core.dagster import build_definitions

    definitions = build_definitions(HERE)
    assets = list(definitions.assets or [])
    resources = definitions.resources or {}
    rows: list[dict[str, Any]] = []
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    )
    with progress:
        for asset in assets:
            task = progress.add_task(f"materialising {asset.op.name}", total=None)
            outcome = dg.materialize(
                [asset], resources=resources, raise_on_error=False, run_config=QUIET
            )
            for event in outcome.get_asset_materialization_events():
                metadata = event.materialization.metadata
                rows.append(
                    {
                        "asset": event.asset_key.to_user_string(),
                        "rows": metadata["floe/rows_loaded"].value,
                        "total": metadata["dagster/row_count"].value
                        if "dagster/row_count" in metadata
                        else None,
                        "seconds": metadata["floe/duration_seconds"].value,
                        "success": outcome.success,
                    }
                )
            if not outcome.success:
                for failure in outcome.get_step_failure_events():
                    console.print(f"[red]{failure.step_failure_data.error.message}[/]")
                rows.append(
                    {
                        "asset": asset.op.name,
                        "rows": 0,
                        "total": None,
                        "seconds": 0.0,
                        "success": False,
                    }
                )
            progress.update(task, completed=1, total=1, description=f"done {asset.op.name}")
    return rows


def _summary(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="what this load committed to Iceberg")
    table.add_column("asset (Iceberg table)")
    for column in ("rows loaded", "rows in table", "seconds"):
        table.add_column(column, justify="right")
    table.add_column("status")
    for row in rows:
        table.add_row(
            row["asset"],
            f"{row['rows']:,}",
            f"{row['total']:,}" if row["total"] is not None else "-",
            f"{row['seconds']:.2f}",
            "[green]ok[/]" if row["success"] else "[red]failed[/]",
        )
    return table


def _show_tables() -> None:
    """Read the tables back through the catalog: a few rows and each table's snapshots."""
    from floe_core.project import Project

    project = Project.load(HERE)
    catalog = project.context().catalog
    for config in project.pipelines:
        iceberg = catalog.load_table(config.destination_table)
        data = iceberg.scan(limit=3).to_arrow()
        preview = Table(title=f"{config.destination_table}: first rows", title_justify="left")
        columns = [name for name in data.column_names if not name.startswith("_dlt")][:6]
        for name in columns:
            preview.add_column(name)
        for record in data.select(columns).to_pylist():
            preview.add_row(*(str(record[name]) for name in columns))
        console.print(preview)
        snapshots = Table(
            title=f"{config.destination_table}: Iceberg snapshots", title_justify="left"
        )
        for column in ("snapshot id", "operation", "added rows", "total rows"):
            snapshots.add_column(column)
        for snapshot in iceberg.snapshots():
            summary = snapshot.summary
            snapshots.add_row(
                str(snapshot.snapshot_id),
                summary.operation.value if summary else "?",
                summary.get("added-records", "0") if summary else "?",
                summary.get("total-records", "?") if summary else "?",
            )
        console.print(snapshots)
    console.print(f"warehouse: {project.catalog_config.describe(project.project_dir)['warehouse']}")


if __name__ == "__main__":
    sys.exit(main())
