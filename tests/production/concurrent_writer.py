"""A floe run in its own process, made to collide with other writers of the same table.

Usage (the tests start it with ``subprocess``; secrets come from the environment)::

    python concurrent_writer.py writer PROJECT PIPELINE SYNC_DIR --parties N
    python concurrent_writer.py writer PROJECT PIPELINE SYNC_DIR --rival-turns K
    python concurrent_writer.py rival  PROJECT TABLE    SYNC_DIR --rival-turns K

``writer`` runs one pipeline exactly as ``floe run`` does (``Project.run``: plugin, runner,
retry policy from the manifest) but loads the manifest's catalog as a :class:`CountingCatalog`,
the same pyiceberg ``SqlCatalog`` that also

* counts every data commit it sends and every ``CommitFailedException`` it gets back, and
* synchronises with other processes, so that conflicts happen for certain instead of by luck:
  ``--parties N`` holds this writer's first data commit until N writers are all ready to
  commit (then they commit at the same instant); ``--rival-turns K`` lets the ``rival`` process
  commit one row to the table right before each of this writer's first K data commits.

It prints one JSON line: the IngestionResult and the counters. ``rival`` is another writer of
the table (plain pyiceberg appends, as any engine sharing the catalog could make).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

TIMEOUT_SECONDS = 120.0
_POLL_SECONDS = 0.02


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {TIMEOUT_SECONDS} s")
        time.sleep(_POLL_SECONDS)


def _catalog_properties(project: Any) -> tuple[str, dict[str, str]]:
    config = project.catalog_config
    properties = config.resolved_properties(project.project_dir, project.secrets, create=True)
    properties.pop("type")
    return config.name, properties


def counting_catalog_class() -> type:
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.exceptions import CommitFailedException
    from pyiceberg.table.update import AddSnapshotUpdate

    class CountingCatalog(SqlCatalog):
        """SqlCatalog that counts data commits and conflicts, and syncs with other processes."""

        def __init__(self, name: str, sync: Path, parties: int, rival_turns: int, **props: Any):
            super().__init__(name, **props)
            self.sync = sync
            self.parties = parties
            self.rival_turns = rival_turns
            self.data_commits = 0
            self.conflicts = 0

        def commit_table(self, table: Any, requirements: Any, updates: Any) -> Any:
            if any(isinstance(update, AddSnapshotUpdate) for update in updates):
                self.data_commits += 1
                self._synchronise(self.data_commits)
            try:
                return super().commit_table(table, requirements, updates)
            except CommitFailedException:
                self.conflicts += 1
                raise

        def _synchronise(self, commit: int) -> None:
            if self.parties > 1 and commit == 1:
                (self.sync / f"ready-{os.getpid()}").touch()
                _wait_for(
                    lambda: len(list(self.sync.glob("ready-*"))) >= self.parties,
                    f"{self.parties} writers ready to commit",
                )
            if commit <= self.rival_turns:
                (self.sync / f"turn-{commit}").touch()
                done = self.sync / f"done-{commit}"
                _wait_for(done.exists, f"the rival's commit {commit}")

    return CountingCatalog


def run_writer(args: argparse.Namespace) -> dict[str, Any]:
    from floe_core.project import Project

    retries = _count_pyiceberg_retries()
    project = Project.load(args.project)
    name, properties = _catalog_properties(project)
    catalog = counting_catalog_class()(
        name, Path(args.sync), args.parties, args.rival_turns, **properties
    )
    project.context().catalog = catalog  # replaces the lazily loaded catalog of the plugin
    [result] = project.run([args.target])
    return {
        "result": result.to_dict(),
        "data_commits": catalog.data_commits,
        "conflicts": catalog.conflicts,
        "pyiceberg_retries": retries.count,
    }


def run_rival(args: argparse.Namespace) -> dict[str, Any]:
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog

    from floe_core.project import Project

    project = Project.load(args.project)
    name, properties = _catalog_properties(project)
    catalog = SqlCatalog(name, **properties)
    rows: list[dict[str, Any]] = []
    sync = Path(args.sync)
    for turn in range(1, args.rival_turns + 1):
        _wait_for((sync / f"turn-{turn}").exists, f"the writer's commit {turn}")
        table = catalog.load_table(args.target)
        row = {"id": 100_000 + turn, "seq": 1, "name": f"rival-{turn}", "amount": 0.5 * turn}
        schema = table.schema().as_arrow()
        table.append(pa.Table.from_pylist([row], schema=schema))
        rows.append(row)
        (sync / f"done-{turn}").touch()
    return {"rows": rows}


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "concurrent update" in record.getMessage():
            self.count += 1


def _count_pyiceberg_retries() -> _Counter:
    """Counts pyiceberg's own in-transaction retries (it logs one warning per retry)."""
    counter = _Counter()
    logging.getLogger("pyiceberg").addHandler(counter)
    return counter


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["writer", "rival"])
    parser.add_argument("project")
    parser.add_argument("target", help="writer: the pipeline; rival: the table")
    parser.add_argument("sync", help="folder the processes synchronise through")
    parser.add_argument("--parties", type=int, default=1)
    parser.add_argument("--rival-turns", type=int, default=0)
    args = parser.parse_args(argv)
    outcome = run_writer(args) if args.mode == "writer" else run_rival(args)
    print(json.dumps(outcome, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
