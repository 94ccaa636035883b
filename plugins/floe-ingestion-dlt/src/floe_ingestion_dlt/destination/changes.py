"""What a write disposition changes in a table's data files (planned, not committed).

Every ``plan_*`` function works on the transaction's view of the table (schema already
evolved) and returns a :class:`Change`: data files to add and to remove, rows inserted and
deleted. :mod:`.committer` stages the change as one snapshot.

* append: :func:`add_incoming` registers the load's files (placed as they are when they fit,
  else rewritten once, :mod:`.datafiles`);
* replace (:func:`plan_replace`): every current data file is removed, the load's files added;
* merge (:func:`plan_merge`): delete-insert. The load's rows are deduplicated (:mod:`.merge`);
  data files holding one of the incoming keys (primary key and/or merge key) are dropped or
  rewritten without those rows (copy-on-write; files whose key bounds miss every incoming key
  are skipped without reading); the kept rows are added, except rows flagged by a
  ``hard_delete`` column. Without any key, merge appends, as in dlt. A nested table of a merge
  chain deletes the rows of replaced root rows and inserts those of kept root rows
  (:class:`NestedMerge`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    GreaterThanOrEqual,
    LessThanOrEqual,
    Or,
)
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import ArrowScan
from pyiceberg.manifest import DataFile
from pyiceberg.table import DataScan, FileScanTask, Table
from pyiceberg.table.metadata import TableMetadata

from floe_ingestion_dlt.destination import datafiles
from floe_ingestion_dlt.destination.failures import DestinationWriteError
from floe_ingestion_dlt.destination.merge import SortRule, deduplicate, key_table, matching_mask

__all__ = [
    "Change",
    "NestedMerge",
    "TableWrite",
    "add_incoming",
    "matching_rows",
    "plan_merge",
    "plan_replace",
    "read_incoming",
]

_EVERYTHING: BooleanExpression = AlwaysTrue()


@dataclass(frozen=True)
class TableWrite:
    """What one load writes to one table."""

    dlt_table: str
    identifier: tuple[str, ...]
    disposition: str
    """``append``, ``replace`` or ``merge``."""
    files: tuple[str, ...] = ()
    """Incoming parquet files, oldest first (the order decides "last wins" in a merge)."""
    primary_key: tuple[str, ...] = ()
    merge_key: tuple[str, ...] = ()
    sort: SortRule | None = None
    hard_delete: str | None = None
    root_key: str | None = None
    """Nested table of a merge chain: the column holding the root row's ``_dlt_id``."""

    @property
    def name(self) -> str:
        return ".".join(self.identifier)


@dataclass(frozen=True)
class NestedMerge:
    """Root-row ids that decide a nested table's merge (computed before the root commits)."""

    replaced_root_ids: pa.Array
    kept_root_ids: pa.Array


def read_incoming(files: Sequence[str]) -> pa.Table:
    """All rows of ``files`` as one Arrow table (columns unified by name, missing ones null)."""
    tables = [pq.read_table(path) for path in files]
    if not tables:
        return pa.table({})
    try:
        return pa.concat_tables(tables, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DestinationWriteError(
            f"the files of one load disagree on column types and cannot be combined: {exc}",
            details={"files": list(files)},
        ) from exc


def _scan_tasks(
    metadata: TableMetadata, io: FileIO, row_filter: BooleanExpression = _EVERYTHING
) -> list[FileScanTask]:
    if metadata.current_snapshot() is None:
        return []
    return list(DataScan(table_metadata=metadata, io=io, row_filter=row_filter).plan_files())


def _key_range(key_sets: Sequence[pa.Table]) -> BooleanExpression:
    """A filter that lets pyiceberg skip data files whose key bounds miss every incoming key.

    Built from the min/max of single-column integer or string keys; anything else reads all
    files (the key match itself is always exact, see :func:`matching_mask`).
    """
    ranges: list[BooleanExpression] = []
    for keys in key_sets:
        if keys.num_columns != 1:
            return AlwaysTrue()
        column = keys.column(0)
        if not (pa.types.is_integer(column.type) or pa.types.is_string(column.type)):
            return AlwaysTrue()
        bounds = pc.min_max(column).as_py()
        if bounds["min"] is None:
            continue
        name = keys.column_names[0]
        ranges.append(
            And(
                GreaterThanOrEqual(term=name, value=bounds["min"]),
                LessThanOrEqual(term=name, value=bounds["max"]),
            )
        )
    if not ranges:
        return AlwaysTrue()
    return ranges[0] if len(ranges) == 1 else Or(*ranges)


def _read_task(
    metadata: TableMetadata, io: FileIO, task: FileScanTask, columns: Sequence[str] | None = None
) -> pa.Table:
    schema = metadata.schema()
    projected = schema.select(*columns) if columns else schema
    return ArrowScan(metadata, io, projected, AlwaysTrue()).to_table([task])


def matching_rows(
    metadata: TableMetadata, io: FileIO, keys: pa.Table, columns: Sequence[str]
) -> pa.Table:
    """``columns`` of the table's rows whose key (the columns of ``keys``) is in ``keys``."""
    wanted = list(dict.fromkeys([*keys.column_names, *columns]))
    parts = []
    for task in _scan_tasks(metadata, io, _key_range([keys])):
        rows = _read_task(metadata, io, task, wanted)
        mask = matching_mask(rows, keys)
        if pc.any(mask).as_py():
            parts.append(rows.filter(mask).select(list(columns)))
    if not parts:
        return pa.table({c: pa.array([], pa.string()) for c in columns})
    return pa.concat_tables(parts, promote_options="permissive")


@dataclass
class Change:
    added: list[DataFile] = field(default_factory=list)
    removed: list[DataFile] = field(default_factory=list)
    rows: int = 0
    deleted_rows: int = 0


def add_incoming(
    table: Table, metadata: TableMetadata, files: Sequence[str], load_id: str, change: Change
) -> None:
    """Add ``files`` as data files: as they are when they fit, else rewritten (once)."""
    stored = datafiles.table_arrow_schema(metadata.schema())
    misfits: list[str] = []
    for path in files:
        with pq.ParquetFile(path) as parquet:
            rows, schema = parquet.metadata.num_rows, parquet.schema_arrow
        if rows == 0:
            continue
        change.rows += rows
        data_file = None
        if datafiles.fits_table(schema, metadata.schema()):
            data_file = datafiles.add_file(table, metadata, path, load_id)
        if data_file is None:
            misfits.append(path)
        else:
            change.added.append(data_file)
    change.added.extend(datafiles.write_batches(table, metadata, misfits, stored))


def _add_rows(table: Table, metadata: TableMetadata, rows: pa.Table, change: Change) -> None:
    stored = datafiles.table_arrow_schema(metadata.schema())
    conformed = datafiles.conform(rows, stored)
    change.rows += conformed.num_rows
    change.added.extend(datafiles.write_table(table, metadata, conformed))


def _remove_matching(
    table: Table,
    metadata: TableMetadata,
    key_sets: Sequence[pa.Table],
    change: Change,
) -> None:
    """Drop or rewrite the current data files holding rows whose key is in one of ``key_sets``."""
    key_sets = [keys for keys in key_sets if keys.num_rows]
    if not key_sets:
        return
    key_columns = list(dict.fromkeys(c for keys in key_sets for c in keys.column_names))
    stored = datafiles.table_arrow_schema(metadata.schema())
    for task in _scan_tasks(metadata, table.io, _key_range(key_sets)):
        key_rows = _read_task(metadata, table.io, task, key_columns)
        mask = None
        for keys in key_sets:
            part = matching_mask(key_rows, keys)
            mask = part if mask is None else pc.or_(mask, part)
        hits = pc.sum(mask).as_py() or 0
        if hits == 0:
            continue
        change.deleted_rows += hits
        change.removed.append(task.file)
        if hits == key_rows.num_rows and not task.delete_files:
            continue
        remaining = _read_task(metadata, table.io, task).filter(pc.invert(mask))
        if remaining.num_rows:
            conformed = datafiles.conform(remaining, stored)
            change.added.extend(datafiles.write_table(table, metadata, conformed))


def _current_data_files(metadata: TableMetadata, io: FileIO) -> list[FileScanTask]:
    return _scan_tasks(metadata, io)


def plan_replace(table: Table, metadata: TableMetadata, write: TableWrite, load_id: str) -> Change:
    change = Change()
    for task in _current_data_files(metadata, table.io):
        change.removed.append(task.file)
        change.deleted_rows += task.file.record_count
    add_incoming(table, metadata, write.files, load_id, change)
    return change


def plan_merge(
    table: Table,
    metadata: TableMetadata,
    write: TableWrite,
    load_id: str,
    nested: NestedMerge | None,
) -> Change:
    change = Change()
    if write.root_key is not None:
        if nested is None:
            raise DestinationWriteError(
                f"table {write.name}: nested table of a merge has no root rows to follow",
                details={"table": write.name},
            )
        replaced = pa.table({write.root_key: nested.replaced_root_ids})
        _remove_matching(table, metadata, [replaced], change)
        incoming = read_incoming(write.files)
        if incoming.num_rows:
            keep = pc.is_in(incoming.column(write.root_key), value_set=nested.kept_root_ids)
            _add_rows(table, metadata, incoming.filter(keep), change)
        return change
    if not write.primary_key and not write.merge_key:
        add_incoming(table, metadata, write.files, load_id, change)
        return change
    incoming = read_incoming(write.files)
    key_sets = [key_table(incoming, k) for k in (write.primary_key, write.merge_key) if k]
    _remove_matching(table, metadata, key_sets, change)
    kept = deduplicate(incoming, write.primary_key, write.sort)
    if write.hard_delete is not None and write.hard_delete in kept.column_names:
        deleted = pc.fill_null(pc.cast(kept.column(write.hard_delete), pa.bool_()), False)
        kept = kept.filter(pc.invert(deleted))
    if kept is incoming:
        add_incoming(table, metadata, write.files, load_id, change)
    else:
        _add_rows(table, metadata, kept, change)
    return change
