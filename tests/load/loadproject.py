"""A floe project of N small pipelines, run by Dagster's multiprocess executor, and measured.

:func:`write_project` makes the folder: ``floe.yaml`` with pipelines ``load_000``...
(each a dotted-path dlt source, ``load_feed.rows``, giving ``rows`` rows with ids unique
across the project) writing one table each in the same namespace (Dagster has one asset per
table, so two pipelines cannot share a table in one set of definitions); a manifest with the
shared ``SqlCatalog`` on PostgreSQL; and
``floe_load_definitions.py``, the Dagster definitions (``build_definitions``) with one job,
``all_ingestion``, on the multiprocess executor.

:func:`run_job` runs that job the way a deployment does, with the ``dagster`` command line in
its own process (``dagster job execute``) on an instance under ``DAGSTER_HOME``, while a
:class:`TreeSampler` follows the memory of the whole process tree (the run process, its step
processes, the forkserver). :func:`read_outcome` then reads what happened back from the
Dagster instance and from the catalog.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "LoadOutcome",
    "LoadRun",
    "TreeSampler",
    "expected_ids",
    "read_outcome",
    "run_job",
    "table_of",
    "write_project",
]

ID_STRIDE = 100_000
PRELOAD = [
    "dagster",
    "pyarrow",
    "pyiceberg.catalog.sql",
    "dlt",
    "floe_core.dagster",
    "floe_ingestion_dlt.plugin",
    "floe_ingestion_dlt.destination",
    "floe_load_definitions",
]
"""What a forkserver imports once, so that each step process starts as a cheap fork."""

FEED_PY = '''\
"""The load test's source: ``count`` rows per pipeline, ids unique across the project."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt


@dlt.resource
def rows(pipeline: int, count: int = 300) -> Iterator[list[dict[str, Any]]]:
    first = pipeline * {stride}
    yield [
        {{"id": first + i, "pipeline": pipeline, "amount": i * 0.25, "note": f"row {{i}}"}}
        for i in range(count)
    ]
'''

DEFINITIONS_PY = '''\
"""Dagster definitions of the load test's project: every pipeline in one multiprocess job."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from floe_core.dagster import build_definitions

_executor: dict = {{"max_concurrent": int(os.environ.get("FLOE_LOAD_CONCURRENCY", "3"))}}
if os.environ.get("FLOE_LOAD_START_METHOD") == "forkserver":
    _executor["start_method"] = {{"forkserver": {{"preload_modules": {preload!r}}}}}


def _all_ingestion() -> dg.Definitions:
    project = build_definitions(Path(__file__).resolve().parent)
    job = dg.define_asset_job(
        "all_ingestion",
        selection=dg.AssetSelection.all(),
        executor_def=dg.multiprocess_executor.configured(_executor),
    )
    return dg.Definitions(assets=project.assets, resources=project.resources, jobs=[job])


defs = _all_ingestion()
'''


def table_of(pipeline: int) -> str:
    return f"bronze.load_{pipeline:03d}"


def expected_ids(pipelines: int, rows: int) -> dict[str, set[int]]:
    """Table -> the ids it must hold once every pipeline ran exactly once."""
    tables: dict[str, set[int]] = {}
    for index in range(pipelines):
        first = index * ID_STRIDE
        tables.setdefault(table_of(index), set()).update(range(first, first + rows))
    return tables


def write_project(root: Path, *, pipelines: int, rows: int, catalog_url: str) -> Path:
    """Write the project (see the module docstring) into the new folder ``root``."""
    root.mkdir(parents=True)
    lines = ["# The load test: small pipelines, one table each, one namespace.", "ingestion:"]
    for index in range(pipelines):
        lines += [
            f"  - name: load_{index:03d}",
            f"    destination: {table_of(index)}",
            "    dlt:",
            "      source: load_feed.rows",
            f"      args: {{pipeline: {index}, count: {rows}}}",
        ]
    (root / "floe.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = f"""\
        plugins:
          ingestion:
            type: dlt
            retry: {{max_attempts: 5, initial_delay_seconds: 0.5, max_delay_seconds: 5}}
        catalog:
          type: sql
          name: load
          uri: "{catalog_url}"
          warehouse: "{root.parent / "warehouse"}"
        """
    (root / "platform-manifest.yaml").write_text(textwrap.dedent(manifest), encoding="utf-8")
    (root / "load_feed.py").write_text(FEED_PY.format(stride=ID_STRIDE), encoding="utf-8")
    (root / "floe_load_definitions.py").write_text(
        DEFINITIONS_PY.format(preload=PRELOAD), encoding="utf-8"
    )
    return root


class TreeSampler:
    """Samples the resident memory of a process and all its descendants, in a thread."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        import psutil

        self.root = psutil.Process(pid)
        self.interval = interval
        self.peak_rss = 0
        self.peak_processes = 0
        self.samples = 0
        self.peak_kinds: dict[str, int] = {}
        self.cpu_by_process: dict[tuple[int, float], float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def cpu_seconds(self) -> float:
        """CPU time (user + system) of every process seen, as last sampled: a lower bound
        (a process's last interval, and processes shorter than one, are missed)."""
        return sum(self.cpu_by_process.values())

    def _loop(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                processes = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            total = 0
            for process in processes:
                try:
                    total += process.memory_info().rss
                    times = process.cpu_times()
                except psutil.Error:
                    continue  # it ended between listing and reading
                self.cpu_by_process[(process.pid, process.create_time())] = (
                    times.user + times.system
                )
            self.peak_rss = max(self.peak_rss, total)
            if len(processes) > self.peak_processes:
                self.peak_processes = len(processes)
                self.peak_kinds = _kinds(processes)
            self.samples += 1
            self._stop.wait(self.interval)


def _kinds(processes: list[Any]) -> dict[str, int]:
    """How many processes of each kind (the module or command a process runs)."""
    kinds: dict[str, int] = {}
    for process in processes:
        try:
            command = process.cmdline()
        except Exception:  # ended meanwhile
            continue
        text = " ".join(command[1:4])
        kind = next(
            (
                name
                for name in ("forkserver", "resource_tracker", "spawn_main", "dagster")
                if name in text
            ),
            "other: " + text[:60],
        )
        kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


@dataclass
class LoadRun:
    """How the job ran: exit code, wall time, memory of the process tree, its output."""

    returncode: int
    wall_seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    peak_processes: int
    peak_kinds: dict[str, int]
    load_average: tuple[float, float]
    log: Path


NO_COMPUTE_LOGS = """\
compute_logs:
  module: dagster._core.storage.noop_compute_log_manager
  class: NoOpComputeLogManager
"""
"""Instance setting that stops capturing each step's stdout/stderr: Dagster's default local
capture starts two ``tail -F`` and two ``watch_orphans.py`` Python processes per step."""


def run_job(
    project: Path,
    dagster_home: Path,
    *,
    concurrency: int,
    start_method: str,
    capture_compute_logs: bool,
    timeout: float,
) -> LoadRun:
    """``dagster job execute -m floe_load_definitions -j all_ingestion`` in its own process."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    settings = "telemetry:\n  enabled: false\n"
    if not capture_compute_logs:
        settings += NO_COMPUTE_LOGS
    (dagster_home / "dagster.yaml").write_text(settings)
    log = dagster_home / "job.log"
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "PYTHONPATH": os.pathsep.join([str(project), os.environ.get("PYTHONPATH", "")]),
        "FLOE_LOAD_CONCURRENCY": str(concurrency),
        "FLOE_LOAD_START_METHOD": start_method,
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "RUNTIME__LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "dagster", "job", "execute", "-m", "floe_load_definitions"]
    command += ["-j", "all_ingestion"]
    started = time.monotonic()
    load_before = os.getloadavg()[0]
    with log.open("w") as output:
        process = subprocess.Popen(
            command, cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        with TreeSampler(process.pid) as sampler:
            try:
                returncode = process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
                raise
    return LoadRun(
        returncode=returncode,
        wall_seconds=time.monotonic() - started,
        cpu_seconds=sampler.cpu_seconds,
        peak_rss_bytes=sampler.peak_rss,
        peak_processes=sampler.peak_processes,
        peak_kinds=sampler.peak_kinds,
        load_average=(load_before, os.getloadavg()[0]),
        log=log,
    )


@dataclass
class LoadOutcome:
    """What the Dagster instance and the catalog say about the run."""

    run_status: str
    steps_succeeded: int
    steps_failed: int
    rows_by_table: dict[str, list[int]]
    runner_attempts: dict[str, int]
    floe_seconds: list[float]
    step_seconds: list[float]
    snapshots: int
    metadata_files: int
    tables: int
    errors: list[str] = field(default_factory=list)

    @property
    def runner_retries(self) -> int:
        """Runs the floe runner had to try again (COMMIT_CONFLICT after the destination's own
        retries, or any other transient error)."""
        return sum(attempts - 1 for attempts in self.runner_attempts.values())

    @property
    def lost_commit_races(self) -> int:
        """Commit attempts that lost to a concurrent writer and were retried by the
        destination: metadata files written beyond one per table creation and one per snapshot
        (each attempt writes a metadata file; only the winner becomes a snapshot)."""
        return self.metadata_files - self.tables - self.snapshots


def read_outcome(dagster_home: Path, catalog_url: str, warehouse: Path) -> LoadOutcome:
    """The run's status, steps and materialisations, and every table's rows and commits."""
    import dagster as dg

    from floe_core.catalog import CatalogConfig, load_catalog

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        runs = instance.get_runs()
        assert len(runs) == 1, f"expected one run, found {len(runs)}"
        run = runs[0]
        stats = instance.get_run_step_stats(run.run_id)
        attempts: dict[str, int] = {}
        floe_seconds: list[float] = []
        errors: list[str] = []
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
                metadata: dict[str, Any] = event.event_specific_data.materialization.metadata
                pipeline = event.step_key.removeprefix("ingest_")
                attempts[pipeline] = metadata["floe/attempts"].value
                floe_seconds.append(metadata["floe/duration_seconds"].value)
            elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
                errors.append(f"{event.step_key}: {event.event_specific_data.error.message}")
        step_seconds = [
            stat.end_time - stat.start_time for stat in stats if stat.end_time and stat.start_time
        ]
        status = run.status.value
        succeeded = sum(1 for stat in stats if stat.status.value == "SUCCESS")
        failed = sum(1 for stat in stats if stat.status.value == "FAILURE")
    finally:
        instance.dispose()

    config = CatalogConfig(type="sql", name="load", uri=catalog_url, warehouse=str(warehouse))
    catalog = load_catalog(config)
    rows_by_table: dict[str, list[int]] = {}
    snapshots = 0
    for identifier in catalog.list_tables("bronze"):
        table = catalog.load_table(identifier)
        name = ".".join(identifier)
        rows_by_table[name] = table.scan(selected_fields=("id",)).to_arrow()["id"].to_pylist()
        snapshots += len(table.snapshots())
    metadata_files = sum(1 for _ in warehouse.rglob("*.metadata.json"))
    return LoadOutcome(
        run_status=status,
        steps_succeeded=succeeded,
        steps_failed=failed,
        rows_by_table=rows_by_table,
        runner_attempts=attempts,
        floe_seconds=floe_seconds,
        step_seconds=step_seconds,
        snapshots=snapshots,
        metadata_files=metadata_files,
        tables=len(rows_by_table),
        errors=errors,
    )
