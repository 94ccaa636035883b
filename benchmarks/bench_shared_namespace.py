"""Many small pipelines in one namespace: the cost of a run as the namespace fills up.

Run by hand from the repository root::

    .venv/bin/python benchmarks/bench_shared_namespace.py                  # 100 pipelines
    .venv/bin/python benchmarks/bench_shared_namespace.py --pipelines 20 --rows 50
    .venv/bin/python benchmarks/bench_shared_namespace.py --catalog-url postgresql+psycopg2://...

Each pipeline is a dotted-path dlt source of ``--rows`` rows writing its own table in the
namespace ``bronze``; the pipelines run one after another in this process, each through a
freshly loaded :class:`~floe_core.project.Project` (as every Dagster step loads one), so the
figure is floe's own cost per run without process start-up. Two modes, side by side, each in a
project and catalog of its own:

* ``indexed``: the dlt plugin's default. It finds a pipeline's tables in the namespace's
  index (``floe.dlt.tables.<pipeline>``), so a run reads its own table only;
* ``scanned``: the natural baseline, what the plugin did before the index and still does in a
  namespace that held tables before it was indexed (made here by creating one foreign table
  first): every run loads every table of the namespace, twice.

The catalog is the embedded SQLite ``SqlCatalog`` unless ``--catalog-url`` names a database
(a fresh, empty one: each mode gets its own catalog name in it). Printed: total wall and CPU
seconds per mode, and the median seconds of a run among the first and the last tenth of the
pipelines; rows are checked after each mode (a mismatch exits 1).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FEED = """\
import dlt


@dlt.resource
def rows(pipeline: int, count: int):
    yield [{"id": pipeline * 1_000_000 + i, "note": f"row {i}"} for i in range(count)]
"""


@dataclass
class ModeFigures:
    mode: str
    wall: float
    cpu: float
    first_tenth: float
    last_tenth: float
    rows: int


def write_project(root: Path, *, mode: str, pipelines: int, rows: int, url: str | None) -> None:
    root.mkdir(parents=True)
    lines = ["ingestion:"]
    for index in range(pipelines):
        lines += [
            f"  - name: p{index:03d}",
            f"    destination: bronze.t{index:03d}",
            f"    dlt: {{source: bench_feed.rows, args: {{pipeline: {index}, count: {rows}}}}}",
        ]
    (root / "floe.yaml").write_text("\n".join(lines) + "\n")
    (root / "bench_feed.py").write_text(FEED)
    if url is not None:
        (root / "platform-manifest.yaml").write_text(
            textwrap.dedent(f"""\
                catalog:
                  type: sql
                  name: bench_{mode}
                  uri: "{url}"
                  warehouse: "{root / "warehouse"}"
                """)
        )


def unindex(root: Path) -> None:
    """Give the namespace a table before any pipeline writes: it is never marked indexed."""
    import pyarrow as pa

    catalog = open_catalog(root)
    catalog.create_namespace_if_not_exists("bronze")
    data = pa.table({"id": pa.array([0], pa.int64())})
    catalog.create_table("bronze.written_before_the_index", schema=data.schema).append(data)


def open_catalog(root: Path) -> Any:
    from floe_core.catalog import load_catalog
    from floe_core.project import Project

    project = Project.load(root)
    return load_catalog(project.catalog_config, project_dir=root, secrets=project.secrets)


def run_mode(
    workdir: Path, *, mode: str, pipelines: int, rows: int, url: str | None
) -> ModeFigures:
    from floe_core.project import Project

    root = workdir / mode
    write_project(root, mode=mode, pipelines=pipelines, rows=rows, url=url)
    if mode == "scanned":
        unindex(root)
    seconds: list[float] = []
    wall = time.perf_counter()
    cpu = time.process_time()
    for index in range(pipelines):
        started = time.perf_counter()
        [result] = Project.load(root).run([f"p{index:03d}"])
        if not result.success:
            raise SystemExit(f"{mode}: pipeline p{index:03d} failed: {result.error}")
        seconds.append(time.perf_counter() - started)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu
    catalog = open_catalog(root)
    loaded = sum(
        len(catalog.load_table(("bronze", f"t{index:03d}")).scan().to_arrow())
        for index in range(pipelines)
    )
    if loaded != pipelines * rows:
        raise SystemExit(f"{mode}: the tables hold {loaded} rows, expected {pipelines * rows}")
    tenth = max(1, pipelines // 10)
    return ModeFigures(
        mode=mode,
        wall=wall,
        cpu=cpu,
        first_tenth=statistics.median(seconds[:tenth]),
        last_tenth=statistics.median(seconds[-tenth:]),
        rows=loaded,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pipelines", type=int, default=100)
    parser.add_argument("--rows", type=int, default=300)
    parser.add_argument("--catalog-url", help="a fresh SQL database (default: embedded SQLite)")
    parser.add_argument("--workdir", type=Path, help="default: a new temporary folder")
    args = parser.parse_args(argv)
    if args.pipelines < 2:
        parser.error("--pipelines must be at least 2")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="floe-bench-namespace-"))
    # one untimed run first: imports and first-use costs are not any mode's
    run_mode(workdir, mode="warmup", pipelines=2, rows=args.rows, url=None)
    figures = [
        run_mode(workdir, mode=mode, pipelines=args.pipelines, rows=args.rows, url=args.catalog_url)
        for mode in ("indexed", "scanned")
    ]
    print(
        f"\n{args.pipelines} pipelines x {args.rows} rows, one namespace, one after another "
        f"in one process ({'SQLite' if args.catalog_url is None else 'SQL'} catalog)\n"
    )
    print("| mode | wall s | CPU s | median run s, first tenth | median run s, last tenth |")
    print("|---|---|---|---|---|")
    for f in figures:
        print(
            f"| {f.mode} | {f.wall:.1f} | {f.cpu:.1f} | {f.first_tenth:.2f} | {f.last_tenth:.2f} |"
        )
    indexed, scanned = figures
    print(
        f"\nindexed / scanned wall time: {indexed.wall / scanned.wall:.2f}x; "
        f"last-tenth run: {indexed.last_tenth:.2f} s vs {scanned.last_tenth:.2f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
