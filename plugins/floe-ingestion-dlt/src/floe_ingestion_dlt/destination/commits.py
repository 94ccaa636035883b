"""What a load committed, read back from the catalog (:func:`load_commits`)."""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from floe_core.result import SchemaField
from floe_ingestion_dlt.destination import summary
from floe_ingestion_dlt.destination.index import tables_or_listing
from floe_ingestion_dlt.destination.naming import parse_namespace

__all__ = ["TableCommit", "commit_of", "load_commits"]


@dataclass(frozen=True)
class TableCommit:
    """One Iceberg commit of one table by one dlt load.

    ``rows`` are the rows the commit inserted (after deduplication for merge); ``created`` is
    true when the load created the table; ``skipped`` is true when the load id was already in
    the table's history, so this attempt committed nothing new (an idempotent retry).
    ``size_bytes`` and ``file_count`` describe the data files the commit added.
    """

    identifier: str
    rows: int
    snapshot_id: int | None
    created: bool
    skipped: bool
    location: str
    schema: tuple[SchemaField, ...]
    size_bytes: int | None
    file_count: int | None


def _int(value: str | None) -> int | None:
    return int(value) if value not in (None, "") else None


def commit_of(table: Table, snapshot: Snapshot, *, skipped: bool = False) -> TableCommit:
    """The :class:`TableCommit` that ``snapshot`` of ``table`` records."""
    schema_id = snapshot.schema_id if snapshot.schema_id is not None else table.schema().schema_id
    schema = table.schemas().get(schema_id, table.schema())
    return TableCommit(
        identifier=".".join(table.name()),
        rows=_int(summary.summary_value(snapshot, summary.ROWS)) or 0,
        snapshot_id=snapshot.snapshot_id,
        created=summary.summary_value(snapshot, summary.CREATED) == "true",
        skipped=skipped,
        location=table.location(),
        schema=tuple(
            SchemaField(name=f.name, type=str(f.field_type), description=f.doc)
            for f in schema.fields
        ),
        size_bytes=_int(summary.summary_value(snapshot, "added-files-size")),
        file_count=_int(summary.summary_value(snapshot, "added-data-files")),
    )


def load_commits(
    catalog: Catalog, load_id: str, *, namespace: tuple[str, ...] | str, pipeline_name: str
) -> list[TableCommit]:
    """The commits that dlt load ``load_id`` of ``pipeline_name`` made in ``namespace``.

    Read from the snapshot summaries of the histories of the pipeline's tables (see
    :mod:`.index`), sorted by identifier.
    """
    commits: list[TableCommit] = []
    for identifier in tables_or_listing(catalog, parse_namespace(namespace), pipeline_name):
        try:
            table = catalog.load_table(identifier)
        except NoSuchTableError:
            continue
        snapshot = summary.find_load(table, load_id, pipeline_name)
        if snapshot is not None:
            commits.append(commit_of(table, snapshot))
    return commits
