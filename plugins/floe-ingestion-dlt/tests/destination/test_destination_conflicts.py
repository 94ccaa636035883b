"""Commit conflicts: another writer commits between our read and our commit.

The "other writer" is a second pyiceberg catalog object on the same SQLite database that
appends to the table at the moment our committer loads it, so our transaction starts from a
stale snapshot. With pyiceberg's own retries off (``commit.retry.num-retries=0``, a table
property users may set) the conflict reaches floe's retry loop.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from floe_dest_helpers import rows
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from floe_core.catalog import load_catalog
from floe_core.errors import ErrorCategory, ErrorCode
from floe_ingestion_dlt.destination.committer import CommitContext, TableWrite, commit_table
from floe_ingestion_dlt.destination.failures import CommitConflictError

IDENTIFIER = ("bronze", "ledger")


class RacingCatalog:
    """Delegates to a real catalog; before handing out the table, lets a rival commit first."""

    def __init__(self, catalog: Catalog, rival: Catalog, races: int) -> None:
        self._catalog = catalog
        self._rival = rival
        self.races = races
        self.rival_commits = 0

    def load_table(self, identifier: Any) -> Table:
        table = self._catalog.load_table(identifier)
        if self.races > 0:
            self.races -= 1
            self.rival_commits += 1
            self._rival.load_table(identifier).append(
                pa.table({"entry": [f"rival-{self.rival_commits}"]})
            )
        return table

    def __getattr__(self, name: str) -> Any:
        return getattr(self._catalog, name)


@pytest.fixture
def ledger(tmp_path: Path, catalog: Catalog) -> str:
    catalog.create_namespace("bronze")
    table = catalog.create_table(IDENTIFIER, schema=pa.schema([("entry", pa.string())]))
    table.append(pa.table({"entry": ["seed"]}))
    path = tmp_path / "ours.parquet"
    pq.write_table(pa.table({"entry": ["ours-1", "ours-2"]}), path)
    return str(path)


def _no_pyiceberg_retries(catalog: Catalog) -> None:
    with catalog.load_table(IDENTIFIER).transaction() as tx:
        tx.set_properties({"commit.retry.num-retries": "0"})


def test_conflict_is_retried_on_a_fresh_table(
    tmp_path: Path, catalog: Catalog, ledger: str
) -> None:
    _no_pyiceberg_retries(catalog)
    rival = load_catalog(None, project_dir=tmp_path)
    racing = RacingCatalog(catalog, rival, races=2)
    pauses: list[float] = []
    context = CommitContext("load-7", "p", attempts=4, sleep=pauses.append, base_delay=0.5)

    commit = commit_table(racing, TableWrite("ledger", IDENTIFIER, "append", (ledger,)), context)  # type: ignore[arg-type]

    assert commit is not None
    assert not commit.skipped
    assert racing.rival_commits == 2
    assert pauses == [0.5, 1.0]  # two conflicts, then the third attempt lands
    assert rows(catalog, "bronze.ledger", "entry") == [
        ("ours-1",),
        ("ours-2",),
        ("rival-1",),
        ("rival-2",),
        ("seed",),
    ]


def test_persistent_conflict_is_a_transient_commit_conflict(
    tmp_path: Path, catalog: Catalog, ledger: str
) -> None:
    _no_pyiceberg_retries(catalog)
    rival = load_catalog(None, project_dir=tmp_path)
    racing = RacingCatalog(catalog, rival, races=99)
    pauses: list[float] = []
    context = CommitContext("load-8", "p", attempts=3, sleep=pauses.append)

    with pytest.raises(CommitConflictError) as failed:
        commit_table(racing, TableWrite("ledger", IDENTIFIER, "append", (ledger,)), context)  # type: ignore[arg-type]

    error = failed.value.error
    assert (error.category, error.code, error.retryable) == (
        ErrorCategory.TRANSIENT,
        ErrorCode.COMMIT_CONFLICT,
        True,
    )
    assert "bronze.ledger" in error.message
    assert "3 times" in error.message
    assert error.details == {"table": "bronze.ledger", "attempts": 3, "load_id": "load-8"}
    assert len(pauses) == 2
    assert ("ours-1",) not in rows(catalog, "bronze.ledger", "entry")


def test_pyiceberg_rebases_an_append_over_a_concurrent_one(
    tmp_path: Path, catalog: Catalog, ledger: str
) -> None:
    rival = load_catalog(None, project_dir=tmp_path)
    racing = RacingCatalog(catalog, rival, races=1)
    pauses: list[float] = []
    context = CommitContext("load-9", "p", sleep=pauses.append)

    commit_table(racing, TableWrite("ledger", IDENTIFIER, "append", (ledger,)), context)  # type: ignore[arg-type]

    assert pauses == []  # resolved inside pyiceberg's transaction retry
    assert len(rows(catalog, "bronze.ledger", "entry")) == 4


def test_merge_conflict_recomputes_the_delete(tmp_path: Path, catalog: Catalog) -> None:
    catalog.create_namespace("bronze")
    identifier = ("bronze", "accounts")
    table = catalog.create_table(
        identifier, schema=pa.schema([("id", pa.int64()), ("v", pa.string())])
    )
    table.append(pa.table({"id": [1, 2], "v": ["a", "b"]}))
    with catalog.load_table(identifier).transaction() as tx:
        tx.set_properties({"commit.retry.num-retries": "0"})
    path = tmp_path / "m.parquet"
    pq.write_table(pa.table({"id": [2, 3], "v": ["B", "C"]}), path)

    class RivalUpdates(RacingCatalog):
        def load_table(self, identifier: Any) -> Table:
            ours = self._catalog.load_table(identifier)
            if self.races > 0:
                self.races -= 1
                self._rival.load_table(identifier).overwrite(
                    pa.table({"id": [1, 2], "v": ["a2", "b2"]})
                )
            return ours

    racing = RivalUpdates(catalog, load_catalog(None, project_dir=tmp_path), races=1)
    write = TableWrite("accounts", identifier, "merge", (str(path),), primary_key=("id",))
    commit_table(racing, write, CommitContext("m-1", "p", sleep=lambda _: None))  # type: ignore[arg-type]

    assert rows(catalog, "bronze.accounts", "id", "v") == [(1, "a2"), (2, "B"), (3, "C")]


def test_merge_never_rebases_over_a_concurrent_insert_of_the_same_key(
    tmp_path: Path, catalog: Catalog
) -> None:
    """With pyiceberg's own retries on, a concurrent append still forces a full recompute."""
    catalog.create_namespace("bronze")
    identifier = ("bronze", "people")
    table = catalog.create_table(
        identifier, schema=pa.schema([("id", pa.int64()), ("v", pa.string())])
    )
    table.append(pa.table({"id": [1], "v": ["a"]}))
    path = tmp_path / "m.parquet"
    pq.write_table(pa.table({"id": [2], "v": ["ours"]}), path)

    class RivalInserts(RacingCatalog):
        def load_table(self, identifier: Any) -> Table:
            ours = self._catalog.load_table(identifier)
            if self.races > 0:
                self.races -= 1
                self._rival.load_table(identifier).append(pa.table({"id": [2], "v": ["rival"]}))
            return ours

    racing = RivalInserts(catalog, load_catalog(None, project_dir=tmp_path), races=1)
    pauses: list[float] = []
    write = TableWrite("people", identifier, "merge", (str(path),), primary_key=("id",))
    commit_table(racing, write, CommitContext("m-2", "p", sleep=pauses.append))  # type: ignore[arg-type]

    assert len(pauses) == 1  # pyiceberg refused to rebase the overwrite; floe recomputed
    assert rows(catalog, "bronze.people", "id", "v") == [(1, "a"), (2, "ours")]
