"""floe's dlt plugin against its baselines, the same data in the same run (issue 4).

Run by hand from the repository root::

    .venv/bin/python benchmarks/bench_dlt_iceberg.py                 # the full run (minutes)
    .venv/bin/python benchmarks/bench_dlt_iceberg.py --quick         # 20k rows, no 10M stream
    .venv/bin/python benchmarks/bench_dlt_iceberg.py --repeat 3 --json figures.json
    .venv/bin/python benchmarks/bench_dlt_iceberg.py --only floe:arrow --profile

Engines:

* ``floe``: floe's dlt plugin as a user runs it: ``IngestionConfig`` (source = a dotted path to
  a generator of this module, ``dlt.args``) -> ``IngestionRunner(DltIngestionPlugin(context))``
  on the embedded SQLite ``SqlCatalog`` of a fresh project folder;
* ``dlt_iceberg``: dlt's ``filesystem`` destination with ``table_format="iceberg"`` and a
  persistent SQLite ``SqlCatalog`` (``iceberg_catalog.iceberg_catalog_config``); its merge is
  dlt's ``upsert`` strategy;
* ``dlt_duckdb``: dlt to a DuckDB file (the dicts reference: floe should add no cost of its own);
* ``pyiceberg``: a bare pyiceberg ``append`` of the Arrow data, one snapshot (the floor);
  ``upsert`` for the merge; a one-snapshot fast append of chunks for the stream;
* ``source``: only iterates the rows, to show what generating them costs.

Workloads (``R`` = ``--rows``, default 1,000,000; the issue's sizes):

* ``arrow``: R rows of 6 typed columns as pyarrow record batches of 50k rows, prebuilt in
  memory before the timer starts (every engine gets the same batches);
* ``dicts``: the same rows as Python dicts, in pages of 10k, generated while loading;
* ``append_into``: R/10 rows appended to a table already holding R rows (floe only: the
  reference time of the merge target);
* ``merge``: R/10 rows, half existing keys (new values) and half new keys, merged on ``id``
  into a table holding R rows. dlt's upsert commits every 1,000 rows and is slow (minutes):
  ``--upsert-rows N`` runs it on N rows and scales its time up linearly (labelled
  *extrapolated*);
* ``stream``: R and 10*R rows as a lazily generated Arrow stream (floe and bare pyiceberg),
  for peak memory; ``--quick`` skips it.

Every load runs in its own subprocess (a setup load, when the workload needs a populated table,
in another one before it), so one engine's memory cannot pollute another's: the peak RSS is the
measured process's ``ru_maxrss`` from ``os.wait4`` (the per-child form of
``getrusage(RUSAGE_CHILDREN)``); it includes the interpreter, the imports and, for ``arrow``
and ``merge``, the prebuilt input. Before the timed load, each worker loads 1,000 rows into a
scratch folder with the same engine (untimed), so lazy imports and first-use costs are not
timed. The timer covers what a user waits for per run: pipeline creation and the whole run
(extract, normalize, load) for dlt engines; table creation and the write for pyiceberg.
``CPU s`` is the process's user+system CPU time over the same span (all threads): on a busy
machine it moves much less than the wall time. After each load the table is checked (row count
from the snapshot summary, or ``count(*)`` in DuckDB; a mismatch fails the job) and its Iceberg
snapshots are counted.

``--repeat N`` runs each job N times in fresh folders and keeps the median (a job whose first
run takes over a minute runs once). ``--only`` takes engines, workloads or ``engine:workload``
pairs. ``--profile`` runs the measured loads under cProfile, including dlt's loader threads,
and prints the top of each profile (``.prof`` files stay in the work folder with ``--keep``).

The targets of issue 4 are printed with PASS/FAIL under the table. Exit status: 0 when every
load ran (a failed target is a finding, not an error), 1 when a load failed.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any

MODULE = "bench_dlt_iceberg"
SCRIPT = Path(__file__).resolve()
NAMESPACE = "bench"
CATALOG_NAME = "bench"  # SqlCatalog keys its rows by catalog name: one name everywhere
ARROW_BATCH_ROWS = 50_000
WARMUP_ROWS = 1_000
REPEAT_LIMIT_SECONDS = 60.0
DICT_PAGE_ROWS = 10_000
STREAM_CHUNK_ROWS = 1_000_000  # bare pyiceberg stream: rows per written chunk
BASE_TIME_US = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z
ENGINES = ("floe", "dlt_iceberg", "dlt_duckdb", "pyiceberg", "source")
WORKLOADS = ("arrow", "dicts", "append_into", "merge", "stream")
TABLES = {
    "arrow": "arrow_rows",
    "dicts": "dict_rows",
    "append_into": "append_rows",
    "merge": "merge_rows",
    "stream": "stream_rows",
}
PACKAGES = ("dlt", "pyiceberg", "pyarrow", "duckdb", "sqlalchemy", "floe-ingestion-dlt")


# -- data: deterministic rows of 6 typed columns ---------------------------------------------


def arrow_schema() -> Any:
    import pyarrow as pa

    return pa.schema(
        [
            pa.field("id", pa.int64()),
            pa.field("created_at", pa.timestamp("us", tz="UTC")),
            pa.field("customer", pa.string()),
            pa.field("quantity", pa.int64()),
            pa.field("amount", pa.float64()),
            pa.field("active", pa.bool_()),
        ]
    )


def arrow_batch(start: int, count: int, version: int = 0) -> Any:
    """Rows ``start .. start+count-1``; ``version`` changes every non-key value (for merges)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = pa.array(range(start, start + count), pa.int64())
    mixed = pc.bit_wise_and(pc.multiply(pc.add(ids, version * 7919), 2_654_435_761), 0xFFFFF)
    created = pc.add(pc.multiply(ids, 1_000_003), BASE_TIME_US + version * 86_400_000_000)
    customer = pc.binary_join_element_wise(
        "customer-", pc.cast(pc.bit_wise_and(mixed, 0x3FFF), pa.string()), ""
    )
    return pa.RecordBatch.from_arrays(
        [
            ids,
            pc.cast(created, pa.timestamp("us", tz="UTC")),
            customer,
            pc.add(pc.bit_wise_and(mixed, 0x3F), version),
            pc.add(pc.divide(pc.cast(mixed, pa.float64()), 100.0), float(version)),
            pc.equal(pc.bit_wise_and(mixed, 1), 0),
        ],
        schema=arrow_schema(),
    )


def arrow_batches(start: int, rows: int, version: int = 0) -> Iterator[Any]:
    """A lazy stream of record batches of :data:`ARROW_BATCH_ROWS` rows."""
    for offset in range(start, start + rows, ARROW_BATCH_ROWS):
        yield arrow_batch(offset, min(ARROW_BATCH_ROWS, start + rows - offset), version)


def dict_pages(start: int, rows: int, version: int = 0) -> Iterator[list[dict[str, Any]]]:
    """The same rows as lists of dicts (datetimes, strings, ints, floats, bools)."""
    for offset in range(start, start + rows, DICT_PAGE_ROWS):
        count = min(DICT_PAGE_ROWS, start + rows - offset)
        yield arrow_batch(offset, count, version).to_pylist()


_PREBUILT: dict[tuple[int, int, int], list[Any]] = {}


def prebuild(start: int, rows: int, version: int = 0) -> list[Any]:
    """Build (once) and keep the record batches of a workload, before any timer starts."""
    key = (start, rows, version)
    if key not in _PREBUILT:
        _PREBUILT[key] = list(arrow_batches(start, rows, version))
    return _PREBUILT[key]


def bench_source(
    kind: str, start: int, rows: int, version: int = 0, prebuilt: bool = False
) -> Iterator[Any]:
    """The floe pipelines' source (``source: bench_dlt_iceberg.bench_source`` + ``dlt.args``)."""
    if kind == "dicts":
        return dict_pages(start, rows, version)
    if prebuilt:
        return iter(prebuild(start, rows, version))
    return arrow_batches(start, rows, version)


# -- the plan --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    """One load of ``rows`` rows of ``kind`` (``arrow``/``dicts``) starting at key ``start``."""

    kind: str
    start: int
    rows: int
    disposition: str = "append"  # append | merge
    version: int = 0
    prebuilt: bool = False


@dataclass(frozen=True)
class Job:
    """A measured load by one engine, after an optional (untimed) setup load in its folder."""

    engine: str
    workload: str
    load: Load
    setup: Load | None = None
    expected_rows: int = 0  # rows the table must hold afterwards
    represents: int = 0  # rows the figure stands for (> load.rows when extrapolated)
    label: str = ""

    @property
    def name(self) -> str:
        return f"{self.engine}-{self.workload}-{self.load.rows}"

    @property
    def table(self) -> str:
        return TABLES[self.workload]


@dataclass
class Outcome:
    """What a job measured (``error`` set when it failed)."""

    job: Job
    seconds: float | None = None
    cpu_seconds: float | None = None
    peak_rss_mb: float | None = None
    rss_before_mb: float | None = None
    snapshots: int | None = None
    snapshots_added: int | None = None
    table_rows: int | None = None
    error: str | None = None
    profile: str | None = None
    runs: list[float] = field(default_factory=list)

    @property
    def scale(self) -> float:
        return self.job.represents / self.job.load.rows if self.job.load.rows else 1.0

    @property
    def scaled_seconds(self) -> float | None:
        return None if self.seconds is None else self.seconds * self.scale

    @property
    def rows_per_second(self) -> float | None:
        seconds = self.scaled_seconds
        return None if not seconds else self.job.represents / seconds


def plan(args: argparse.Namespace) -> list[Job]:
    """The jobs of this run, in order (``--only`` filters by engine or workload name)."""
    rows, merge_rows, dict_rows = args.rows, args.merge_rows, args.dict_rows
    upsert_rows = args.upsert_rows
    jobs: list[Job] = []
    arrow = Load("arrow", 0, rows, prebuilt=True)
    for engine in ("pyiceberg", "floe", "dlt_iceberg", "dlt_duckdb"):
        jobs.append(Job(engine, "arrow", arrow, expected_rows=rows, represents=rows))
    dicts = Load("dicts", 0, dict_rows)
    for engine in ("source", "pyiceberg", "floe", "dlt_iceberg", "dlt_duckdb"):
        jobs.append(Job(engine, "dicts", dicts, expected_rows=dict_rows, represents=dict_rows))

    base = Load("arrow", 0, rows)

    def merge_load(count: int, disposition: str = "merge") -> Load:
        """``count`` rows with new values: the first half has existing keys, the rest new."""
        start = rows - count // 2
        return Load("arrow", start, count, disposition, version=1, prebuilt=True)

    jobs.append(
        Job(
            "floe",
            "append_into",
            merge_load(merge_rows, "append"),
            setup=base,
            expected_rows=rows + merge_rows,
            represents=merge_rows,
        )
    )
    merged = rows + merge_rows - merge_rows // 2
    for engine in ("floe", "pyiceberg"):
        jobs.append(
            Job(
                engine,
                "merge",
                merge_load(merge_rows),
                setup=replace(base, disposition="merge") if engine == "floe" else base,
                expected_rows=merged,
                represents=merge_rows,
            )
        )
    label = "" if upsert_rows == merge_rows else f"extrapolated from {upsert_rows:,} rows"
    jobs.append(
        Job(
            "dlt_iceberg",
            "merge",
            merge_load(upsert_rows),
            setup=base,
            expected_rows=rows + upsert_rows - upsert_rows // 2,
            represents=merge_rows,
            label=label,
        )
    )
    if not args.quick:
        for engine in ("floe", "pyiceberg"):
            for count in (rows, args.stream_rows):
                load = Load("arrow", 0, count)
                jobs.append(Job(engine, "stream", load, expected_rows=count, represents=count))
    if args.only:
        wanted = set(args.only)
        jobs = [
            job
            for job in jobs
            if {job.engine, job.workload, f"{job.engine}:{job.workload}"} & wanted
        ]
    return jobs


# -- the parent: run every job in subprocesses -----------------------------------------------


def worker_env(root: Path) -> dict[str, str]:
    """The workers' environment: bytecode cached under the work folder, dlt telemetry off.

    With ``PYTHONDONTWRITEBYTECODE`` set (as it may be here), every worker would compile dlt,
    pyiceberg... from source again; a private ``PYTHONPYCACHEPREFIX`` keeps the venv untouched.
    """
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    env.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    return env


def run_process(argv: list[str], cwd: Path, log: Path) -> tuple[int, float]:
    """Run ``argv``; return its exit code and its own peak RSS in MB (``os.wait4``)."""
    env = worker_env(cwd.parent)
    with log.open("ab") as out:
        process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)  # reaped: keep Popen consistent
    return process.returncode, usage.ru_maxrss / 1024  # Linux: kilobytes


def worker_argv(job: Job, phase: str, folder: Path, result: Path, profile: bool) -> list[str]:
    argv = [sys.executable, str(SCRIPT), "--worker", phase, "--folder", str(folder)]
    argv += ["--job", json.dumps(asdict(job)), "--result", str(result)]
    return argv + (["--profile"] if profile else [])


def run_job(job: Job, root: Path, attempt: int, profile: bool) -> Outcome:
    folder = root / f"{job.name}-{attempt}"
    folder.mkdir(parents=True)
    log = folder / "worker.log"
    if job.setup is not None:
        code, _ = run_process(
            worker_argv(job, "setup", folder, folder / "setup.json", False), folder, log
        )
        if code != 0:
            return Outcome(job, error=f"setup failed (exit {code}): {_tail(log)}")
    result = folder / "measure.json"
    code, peak = run_process(worker_argv(job, "measure", folder, result, profile), folder, log)
    if code != 0 or not result.exists():
        return Outcome(job, error=f"exit {code}: {_tail(log)}")
    data = json.loads(result.read_text())
    outcome = Outcome(job, peak_rss_mb=peak, **data)
    if outcome.table_rows != job.expected_rows:
        outcome.error = f"table holds {outcome.table_rows} rows, expected {job.expected_rows}"
    return outcome


def run_repeated(job: Job, root: Path, repeat: int, profile: bool) -> Outcome:
    """Run ``job`` ``repeat`` times (fresh folders); keep the run with the median time.

    A job whose first run took over :data:`REPEAT_LIMIT_SECONDS` is not repeated.
    """
    outcomes = [run_job(job, root, 0, profile)]
    while len(outcomes) < repeat and not outcomes[0].error:
        if (outcomes[0].seconds or 0.0) > REPEAT_LIMIT_SECONDS:
            break
        outcomes.append(run_job(job, root, len(outcomes), profile))
    failed = [o for o in outcomes if o.error]
    if failed:
        return failed[0]
    ordered = sorted(outcomes, key=lambda o: o.seconds or 0.0)
    chosen = ordered[(len(ordered) - 1) // 2]
    chosen.runs = [o.seconds or 0.0 for o in outcomes]
    return chosen


def _tail(log: Path, lines: int = 12) -> str:
    text = log.read_text(errors="replace").strip().splitlines() if log.exists() else []
    return "\n    ".join(text[-lines:]) or "(no output)"


# -- the worker: one load in this process ----------------------------------------------------


def worker(phase: str, folder: Path, job: Job, result: Path, profile: bool) -> None:
    """Run the setup load or the measured load of ``job`` in ``folder``; write the figures."""
    import psutil

    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    load = job.setup if phase == "setup" else job.load
    assert load is not None
    if phase == "measure":
        # An untimed load of WARMUP_ROWS rows in a scratch folder first: lazy imports and
        # first-use costs (config resolution, code paths) stay out of every engine's timer.
        warmup = replace(load, start=0, rows=WARMUP_ROWS, version=0)
        ENGINES_IMPL[job.engine](folder / "warmup", job).load(warmup)
    engine = ENGINES_IMPL[job.engine](folder, job)
    if load.prebuilt:
        prebuild(load.start, load.rows, load.version)
    before = engine.snapshots()
    rss_before = psutil.Process().memory_info().rss / 2**20
    profiler = ThreadsProfiler() if profile and phase == "measure" else None
    cpu_started = _cpu_seconds()
    started = time.perf_counter()
    if profiler is not None:
        profiler.start()
    engine.load(load)
    if profiler is not None:
        profiler.stop()
    seconds = time.perf_counter() - started
    cpu_seconds = _cpu_seconds() - cpu_started
    after = engine.snapshots()
    figures: dict[str, Any] = {
        "seconds": seconds,
        "cpu_seconds": cpu_seconds,
        "rss_before_mb": rss_before,
        "snapshots": after,
        "snapshots_added": None if after is None else after - (before or 0),
        "table_rows": engine.table_rows(),
    }
    if profiler is not None:
        path = folder / f"{job.name}.prof"
        profiler.dump(path)
        figures["profile"] = str(path)
    result.write_text(json.dumps(figures))


def _cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (less sensitive to a busy box)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class ThreadsProfiler:
    """cProfile of this thread and of every thread started while it runs (dlt loads in a
    thread pool), merged into one stats file. Times of threads overlap; ``tottime`` sums CPU
    and waiting of all threads."""

    def __init__(self) -> None:
        self.main = cProfile.Profile()
        self.threads: list[cProfile.Profile] = []

    def _hook(self, *_: Any) -> None:
        sys.setprofile(None)
        profiler = cProfile.Profile()
        self.threads.append(profiler)
        profiler.enable()

    def start(self) -> None:
        threading.setprofile(self._hook)
        self.main.enable()

    def stop(self) -> None:
        self.main.disable()
        threading.setprofile(None)

    def dump(self, path: Path) -> None:
        stats = pstats.Stats(self.main)
        for profiler in self.threads:
            stats.add(profiler)
        stats.dump_stats(str(path))


class Engine:
    """How one engine loads a :class:`Load` into ``job.table``; figures read afterwards."""

    def __init__(self, folder: Path, job: Job) -> None:
        self.folder = folder
        self.job = job
        folder.mkdir(parents=True, exist_ok=True)

    def load(self, load: Load) -> None:
        raise NotImplementedError

    def snapshots(self) -> int | None:
        table = self._iceberg_table()
        return None if table is None else len(table.snapshots())

    def table_rows(self) -> int | None:
        table = self._iceberg_table()
        snapshot = None if table is None else table.current_snapshot()
        if snapshot is None or snapshot.summary is None:
            return None
        return int(snapshot.summary["total-records"])

    def catalog(self) -> Any:
        return None

    def _iceberg_table(self) -> Any:
        from pyiceberg.exceptions import NoSuchTableError

        catalog = self.catalog()
        if catalog is None:
            return None
        try:
            return catalog.load_table(f"{NAMESPACE}.{self.job.table}")
        except NoSuchTableError:
            return None


class FloeEngine(Engine):
    """floe's dlt plugin through the runner, on the embedded catalog of a project folder."""

    def __init__(self, folder: Path, job: Job) -> None:
        super().__init__(folder, job)
        import floe_ingestion_dlt.destination
        import floe_ingestion_dlt.plugin  # noqa: F401

        self.project = folder / "project"
        self.project.mkdir(exist_ok=True)

    def load(self, load: Load) -> None:
        from floe_ingestion_dlt.plugin import DltIngestionPlugin

        from floe_core.config import IngestionConfig
        from floe_core.plugin import PluginContext
        from floe_core.retry import RetryPolicy
        from floe_core.runner import IngestionRunner

        args = {
            "kind": load.kind,
            "start": load.start,
            "rows": load.rows,
            "version": load.version,
            "prebuilt": load.prebuilt,
        }
        config = IngestionConfig(
            name=f"bench_{self.job.workload}",
            source=f"{MODULE}.bench_source",
            destination_table=f"{NAMESPACE}.{self.job.table}",
            write_disposition=load.disposition,
            primary_key=["id"] if load.disposition == "merge" else None,
            options={"args": args},
        )
        plugin = DltIngestionPlugin(PluginContext(project_dir=self.project))
        result = IngestionRunner(plugin, retry=RetryPolicy.no_retry()).run(config)
        if not result.success:
            raise RuntimeError(f"floe run failed: {result.error}")

    def catalog(self) -> Any:
        from floe_core.catalog import CatalogConfig, load_catalog

        return load_catalog(CatalogConfig.embedded(), project_dir=self.project)


class DltEngine(Engine):
    """dlt to the filesystem destination with Iceberg tables, or to DuckDB."""

    def __init__(self, folder: Path, job: Job) -> None:
        super().__init__(folder, job)
        self.iceberg = job.engine == "dlt_iceberg"
        self.catalog_uri = f"sqlite:///{folder / 'catalog.db'}"
        self.lake = folder / "lake"
        if self.iceberg:
            # without this block dlt silently uses an in-memory catalog (ARCHITECTURE.md)
            os.environ["ICEBERG_CATALOG__ICEBERG_CATALOG_NAME"] = CATALOG_NAME
            os.environ["ICEBERG_CATALOG__ICEBERG_CATALOG_CONFIG"] = json.dumps(
                {"type": "sql", "uri": self.catalog_uri, "warehouse": self.lake.as_uri()}
            )
        import dlt
        import dlt.destinations

        if self.iceberg:
            import dlt.common.libs.pyiceberg
            import pyiceberg.catalog.sql  # noqa: F401
        else:
            import duckdb  # noqa: F401
        self.dlt = dlt

    def load(self, load: Load) -> None:
        dlt = self.dlt
        if self.iceberg:
            destination = dlt.destinations.filesystem(bucket_url=self.lake.as_uri())
        else:
            destination = dlt.destinations.duckdb(str(self.folder / "warehouse.duckdb"))
        disposition: Any = load.disposition
        if load.disposition == "merge":
            disposition = {"disposition": "merge", "strategy": "upsert"}
        data = bench_source(load.kind, load.start, load.rows, load.version, load.prebuilt)
        resource = dlt.resource(
            data,
            name=self.job.table,
            write_disposition=disposition,
            primary_key="id",
            table_format="iceberg" if self.iceberg else None,
        )
        pipeline = dlt.pipeline(
            pipeline_name=f"bench_{self.job.workload}",
            destination=destination,
            dataset_name=NAMESPACE,
            pipelines_dir=str(self.folder / "dlt"),
        )
        # DuckDB: parquet load files, as floe gets (dlt's default for DuckDB is insert_values)
        pipeline.run(resource, loader_file_format="parquet")

    def catalog(self) -> Any:
        if not self.iceberg or not (self.folder / "catalog.db").exists():
            return None
        from pyiceberg.catalog.sql import SqlCatalog

        return SqlCatalog(CATALOG_NAME, uri=self.catalog_uri, warehouse=self.lake.as_uri())

    def table_rows(self) -> int | None:
        if self.iceberg:
            return super().table_rows()
        path = self.folder / "warehouse.duckdb"
        if not path.exists():
            return None
        import duckdb

        with duckdb.connect(str(path), read_only=True) as connection:
            query = f"select count(*) from {NAMESPACE}.{self.job.table}"
            row = connection.execute(query).fetchone()
        return None if row is None else int(row[0])


class PyicebergEngine(Engine):
    """Bare pyiceberg on a SQLite SqlCatalog: the floor."""

    def __init__(self, folder: Path, job: Job) -> None:
        super().__init__(folder, job)
        import pyarrow  # noqa: F401
        import pyiceberg.catalog.sql
        import pyiceberg.io.pyarrow  # noqa: F401

    def catalog(self) -> Any:
        from pyiceberg.catalog.sql import SqlCatalog

        warehouse = self.folder / "warehouse"
        warehouse.mkdir(exist_ok=True)
        return SqlCatalog(
            CATALOG_NAME,
            uri=f"sqlite:///{self.folder / 'catalog.db'}",
            warehouse=warehouse.as_uri(),
        )

    def load(self, load: Load) -> None:
        import pyarrow as pa

        catalog = self.catalog()
        catalog.create_namespace_if_not_exists(NAMESPACE)
        identifier = f"{NAMESPACE}.{self.job.table}"
        table = catalog.create_table_if_not_exists(identifier, schema=arrow_schema())
        if load.disposition == "merge":
            data = pa.Table.from_batches(prebuild(load.start, load.rows, load.version))
            table.upsert(data, join_cols=["id"])
        elif load.kind == "dicts":
            schema = arrow_schema()
            pages = dict_pages(load.start, load.rows, load.version)
            table.append(
                pa.Table.from_batches(
                    [pa.RecordBatch.from_pylist(page, schema=schema) for page in pages]
                )
            )
        elif load.prebuilt:
            table.append(pa.Table.from_batches(prebuild(load.start, load.rows, load.version)))
        else:
            _stream_append(table, arrow_batches(load.start, load.rows, load.version))


def _stream_append(table: Any, batches: Iterator[Any]) -> None:
    """Write chunks of :data:`STREAM_CHUNK_ROWS` rows as they come; commit one snapshot."""
    import pyarrow as pa
    from pyiceberg.io.pyarrow import _dataframe_to_data_files

    def chunks() -> Iterator[Any]:
        pending: list[Any] = []
        for batch in batches:
            pending.append(batch)
            if sum(b.num_rows for b in pending) >= STREAM_CHUNK_ROWS:
                yield pa.Table.from_batches(pending)
                pending = []
        if pending:
            yield pa.Table.from_batches(pending)

    with table.transaction() as transaction:
        with transaction.update_snapshot().fast_append() as append:
            for chunk in chunks():
                for data_file in _dataframe_to_data_files(
                    table_metadata=transaction.table_metadata, df=chunk, io=table.io
                ):
                    append.append_data_file(data_file)


class SourceEngine(Engine):
    """Only iterates the source: the cost of generating the rows."""

    def load(self, load: Load) -> None:
        count = 0
        for page in bench_source(load.kind, load.start, load.rows, load.version, load.prebuilt):
            count += len(page) if isinstance(page, list) else page.num_rows
        self.count = count

    def table_rows(self) -> int | None:
        return getattr(self, "count", None)


ENGINES_IMPL: dict[str, Callable[[Path, Job], Engine]] = {
    "floe": FloeEngine,
    "dlt_iceberg": DltEngine,
    "dlt_duckdb": DltEngine,
    "pyiceberg": PyicebergEngine,
    "source": SourceEngine,
}


# -- report ----------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    """nproc, memory, CPU model, load, Python and package versions."""
    import psutil

    cpu = "unknown"
    with Path("/proc/cpuinfo").open() as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} (not installed)")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return {
        "nproc": str(os.cpu_count()),
        "memory": f"{psutil.virtual_memory().total / 2**30:.1f} GiB",
        "cpu": cpu,
        "load average": load,
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": ", ".join(versions),
        "os": platform.platform(),
    }


def _number(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def table_lines(outcomes: Sequence[Outcome]) -> list[str]:
    """A Markdown table (readable as is in a terminal, pasted as is into the README)."""
    header = [
        "engine",
        "workload",
        "rows",
        "seconds",
        "CPU s",
        "rows/s",
        "peak RSS MB",
        "snapshots (+load)",
        "note",
    ]
    rows = []
    for o in outcomes:
        snaps = "-" if o.snapshots is None else f"{o.snapshots} (+{o.snapshots_added})"
        note = o.job.label
        if o.job.setup is not None:
            note = "; ".join(filter(None, [f"into {o.job.setup.rows:,} rows", note]))
        if len(o.runs) > 1:
            runs = "/".join(f"{r:.2f}" for r in o.runs)
            note = "; ".join(filter(None, [note, f"median of {runs} s"]))
        if o.error:
            note = "FAILED: " + o.error.strip().splitlines()[-1].strip()[:100]
        rows.append(
            [
                o.job.engine,
                o.job.workload,
                f"{o.job.represents:,}",
                _number(o.scaled_seconds),
                _number(None if o.cpu_seconds is None else o.cpu_seconds * o.scale),
                _number(o.rows_per_second, 0),
                _number(o.peak_rss_mb, 0),
                snaps,
                note,
            ]
        )
    widths = [max(len(line[i]) for line in [header, *rows]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    return [fmt(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [
        fmt(r) for r in rows
    ]


def _find(outcomes: Sequence[Outcome], engine: str, workload: str, rows: int) -> Outcome | None:
    for o in outcomes:
        if (o.job.engine, o.job.workload, o.job.load.rows) == (engine, workload, rows):
            return None if o.error else o
    return None


def _find_any(outcomes: Sequence[Outcome], engine: str, workload: str) -> Outcome | None:
    for o in outcomes:
        if (o.job.engine, o.job.workload) == (engine, workload):
            return None if o.error else o
    return None


def targets(outcomes: Sequence[Outcome], args: argparse.Namespace) -> list[tuple[str, str]]:
    """(PASS | FAIL | n/a, sentence) for each target of issue 4."""
    checks: list[tuple[str, str]] = []

    def check(ok: bool | None, sentence: str) -> None:
        checks.append(("n/a" if ok is None else "PASS" if ok else "FAIL", sentence))

    def speed(fast: Outcome | None, slow: Outcome | None) -> tuple[float, float | None] | None:
        """How many times ``fast`` is faster per row than ``slow``: by wall time, by CPU."""
        if fast is None or slow is None or not fast.scaled_seconds or not slow.scaled_seconds:
            return None
        per_row = fast.job.represents / slow.job.represents
        wall = slow.scaled_seconds / fast.scaled_seconds * per_row
        if not fast.cpu_seconds or not slow.cpu_seconds:
            return wall, None
        return wall, slow.cpu_seconds * slow.scale / (fast.cpu_seconds * fast.scale) * per_row

    def cpu_note(ratio: float | None) -> str:
        return "" if ratio is None else f"; by CPU time {ratio:.2f}x"

    def faster(engine: str, workload: str, than: str, factor: float, what: str) -> None:
        ours = _find_any(outcomes, engine, workload)
        theirs = _find_any(outcomes, than, workload)
        ratio = speed(ours, theirs)
        if ours is None or theirs is None or ratio is None:
            check(None, f"{what}: not measured")
            return
        check(
            ratio[0] >= factor,
            f"{what}: {ours.rows_per_second:,.0f} vs {theirs.rows_per_second:,.0f} rows/s = "
            f"{ratio[0]:.2f}x (target >= {factor}x{cpu_note(ratio[1])})",
        )

    faster("floe", "arrow", "pyiceberg", 0.75, "arrow append, floe vs bare pyiceberg")
    faster("floe", "arrow", "dlt_iceberg", 2.0, "arrow append, floe vs dlt filesystem+iceberg")
    faster("floe", "dicts", "dlt_duckdb", 0.95, "dicts append, floe vs dlt to DuckDB")

    merge = _find_any(outcomes, "floe", "merge")
    append = _find_any(outcomes, "floe", "append_into")
    upsert = _find_any(outcomes, "dlt_iceberg", "merge")
    slower = speed(append, merge)
    if merge and append and slower:
        check(
            slower[0] < 3,
            f"merge of {merge.job.represents:,} rows, floe: {merge.seconds:.2f} s = "
            f"{slower[0]:.2f}x its append ({append.seconds:.2f} s) (target < 3x"
            f"{cpu_note(slower[1])})",
        )
    else:
        check(None, "floe merge vs floe append: not measured")
    quicker = speed(merge, upsert)
    if merge and upsert and quicker:
        how = f" ({upsert.job.label})" if upsert.job.label else ""
        check(
            quicker[0] >= 20,
            f"merge, floe vs dlt filesystem+iceberg upsert: {merge.seconds:.2f} s "
            f"vs {upsert.scaled_seconds:.2f} s{how} = {quicker[0]:.1f}x faster "
            f"(target >= 20x{cpu_note(quicker[1])})",
        )
    else:
        check(None, "floe merge vs dlt upsert: not measured")
    floe_loads = [o for o in outcomes if o.job.engine == "floe" and not o.error]
    if floe_loads:
        counts = sorted({o.snapshots_added for o in floe_loads if o.snapshots_added is not None})
        check(
            counts == [1],
            f"one snapshot per table per load, floe: snapshots added per load "
            f"{counts} over {len(floe_loads)} loads",
        )
    small = _find(outcomes, "floe", "stream", args.rows)
    big = _find(outcomes, "floe", "stream", args.stream_rows)
    if small and big and small.peak_rss_mb and big.peak_rss_mb:
        growth = big.peak_rss_mb / small.peak_rss_mb
        check(
            growth < 1.5,
            f"peak RSS, floe stream of {args.stream_rows:,} rows vs "
            f"{args.rows:,}: {big.peak_rss_mb:.0f} vs {small.peak_rss_mb:.0f} MB "
            f"= {growth:.2f}x (target < 1.5x)",
        )
    else:
        check(None, "peak RSS of the stream: not measured (--quick or --only)")
    return checks


def print_profiles(outcomes: Sequence[Outcome], top: int = 25) -> None:
    for o in outcomes:
        if o.profile and Path(o.profile).exists():
            print(f"\n## profile of {o.job.name} ({o.profile}), top {top} by cumulative time")
            stats = pstats.Stats(o.profile, stream=sys.stdout)
            stats.sort_stats("cumulative").print_stats(top)


# -- command line ----------------------------------------------------------------------------


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, help="rows of the arrow/dicts loads (1,000,000)")
    parser.add_argument("--quick", action="store_true", help="20k rows, no 10M-row stream")
    parser.add_argument("--dict-rows", type=int, help="rows of the dicts load (--rows)")
    parser.add_argument("--merge-rows", type=int, help="rows merged (--rows / 10)")
    parser.add_argument(
        "--upsert-rows",
        type=int,
        help="rows dlt's upsert really merges (all); a smaller number is scaled up linearly to "
        "--merge-rows and labelled extrapolated (it commits every 1,000 rows: ~2 s each here)",
    )
    parser.add_argument("--stream-rows", type=int, help="rows of the big stream (10 x --rows)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per job, median kept (1)")
    parser.add_argument(
        "--only",
        type=lambda s: s.split(","),
        help="comma-separated engines, workloads or engine:workload pairs to run",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the timed loads")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--workdir", type=Path, help="work folder (default: a temp folder)")
    parser.add_argument("--worker", choices=("setup", "measure"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.rows = args.rows or (20_000 if args.quick else 1_000_000)
    args.dict_rows = args.dict_rows or args.rows
    args.merge_rows = args.merge_rows or max(2, args.rows // 10)
    args.upsert_rows = min(args.upsert_rows or args.merge_rows, args.merge_rows)
    args.stream_rows = args.stream_rows or 10 * args.rows
    if args.only:
        pairs = {f"{e}:{w}" for e in ENGINES for w in WORKLOADS}
        unknown = set(args.only) - set(ENGINES) - set(WORKLOADS) - pairs
        if unknown:
            parser.error(f"--only: unknown {sorted(unknown)}; use {ENGINES + WORKLOADS}")
    return args


def _job_from_json(text: str) -> Job:
    data = json.loads(text)
    data["load"] = Load(**data["load"])
    data["setup"] = Load(**data["setup"]) if data["setup"] else None
    return Job(**data)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.worker:
        worker(args.worker, args.folder, _job_from_json(args.job), args.result, args.profile)
        return 0
    info = machine()
    print(
        "# floe dlt plugin benchmark"
        + (" (--quick: figures not representative)" if args.quick else "")
    )
    for key, value in info.items():
        print(f"- {key}: {value}")
    root = args.workdir or Path(tempfile.mkdtemp(prefix="floe-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    started = time.monotonic()
    try:
        for job in plan(args):
            print(f"... {job.engine} {job.workload} {job.load.rows:,} rows", flush=True)
            outcome = run_repeated(job, root, max(1, args.repeat), args.profile)
            if outcome.error:
                print(f"    FAILED: {outcome.error}", flush=True)
            outcomes.append(outcome)
    finally:
        if not (args.keep or args.workdir):
            shutil.rmtree(root, ignore_errors=True)
    print(
        f"\nload average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}; "
        f"total {time.monotonic() - started:.0f} s\n"
    )
    print("\n".join(table_lines(outcomes)))
    print("\n## targets (issue 4)")
    checks = targets(outcomes, args)
    for verdict, sentence in checks:
        print(f"{verdict:4}  {sentence}")
    if args.profile:
        print_profiles(outcomes)
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": info,
                    "args": {
                        k: v
                        for k, v in vars(args).items()
                        if k
                        in (
                            "rows",
                            "dict_rows",
                            "merge_rows",
                            "upsert_rows",
                            "stream_rows",
                            "repeat",
                            "quick",
                        )
                    },
                    "results": [
                        {
                            **asdict(o.job),
                            **{k: v for k, v in asdict(o).items() if k != "job"},
                            "scaled_seconds": o.scaled_seconds,
                            "rows_per_second": o.rows_per_second,
                        }
                        for o in outcomes
                    ],
                    "targets": checks,
                },
                indent=2,
                default=str,
            )
        )
    return 1 if any(o.error for o in outcomes) else 0


if __name__ == "__main__":
    # Run as the module ``bench_dlt_iceberg`` so floe's dotted source path finds this very
    # module (and its prebuilt batches) instead of a second copy of it.
    sys.path.insert(0, str(SCRIPT.parent))
    import bench_dlt_iceberg

    raise SystemExit(bench_dlt_iceberg.main())
