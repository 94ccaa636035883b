"""A *table chain*: a root table and its nested tables, committed by one follow-up job.

dlt's loader calls ``create_table_chain_completed_followup_jobs`` once every parquet file of a
chain (root table plus the child tables dlt made from nested lists) is in the package. The
destination answers with one :class:`ChainJobRequest`: a ``.reference`` job file listing, per
table, all the parquet files of that table in the load. Running it (:func:`commit_chain`) makes
one Iceberg commit per table: nested tables first, the root last.

In a merge chain the nested tables follow their root rows: before anything commits, the ids
(``_dlt_id``) of the existing root rows that the load replaces and of the incoming root rows
that it keeps are computed; each nested table then deletes the rows of replaced roots and
inserts the rows of kept roots. A replace chain overwrites every table, emptying existing
nested tables that got no rows.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import pyarrow as pa
import pyarrow.compute as pc
from dlt.common.destination.client import FollowupJobRequest
from dlt.common.destination.typing import PreparedTableSchema
from dlt.common.schema.typing import TTableSchema
from dlt.common.schema.utils import (
    get_columns_names_with_prop,
    get_first_column_name_with_prop,
    is_nested_table,
)
from dlt.common.storages.load_package import ParsedLoadJobFileName
from dlt.destinations.job_impl import FollowupJobRequestImpl
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from floe_ingestion_dlt.destination.changes import (
    NestedMerge,
    TableWrite,
    matching_rows,
    read_incoming,
)
from floe_ingestion_dlt.destination.commits import TableCommit
from floe_ingestion_dlt.destination.committer import CommitContext, commit_table
from floe_ingestion_dlt.destination.merge import SortRule, deduplicate, key_table
from floe_ingestion_dlt.destination.naming import TableNaming
from floe_ingestion_dlt.destination.summary import find_load

__all__ = [
    "ChainJobRequest",
    "ChainPlan",
    "commit_chain",
    "make_request",
    "table_name",
    "table_write",
]


@dataclass(frozen=True)
class ChainPlan:
    """The tables of a chain, parent first, each with its parquet files in the load."""

    tables: tuple[tuple[str, tuple[str, ...]], ...]

    def dumps(self) -> str:
        return json.dumps({"tables": [[name, list(files)] for name, files in self.tables]})

    @classmethod
    def read(cls, path: str) -> ChainPlan:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        return cls(tuple((name, tuple(files)) for name, files in data["tables"]))


class ChainJobRequest(FollowupJobRequestImpl):
    """A ``<root>.<file id>.0.reference`` job file holding a :class:`ChainPlan`."""

    def __init__(self, plan: ChainPlan, file_id: str) -> None:
        root = plan.tables[0][0]
        super().__init__(ParsedLoadJobFileName(root, file_id, 0, "reference").file_name())
        self._save_text_file(plan.dumps())


def table_name(table: PreparedTableSchema | TTableSchema) -> str:
    """The name of a dlt table schema (always present in a schema dlt loads)."""
    return str(table["name"])


def make_request(
    chain: Sequence[PreparedTableSchema], files_by_table: Mapping[str, Sequence[str]]
) -> FollowupJobRequest:
    """The follow-up job request for a completed chain."""
    names = [table_name(t) for t in chain]
    plan = ChainPlan(
        tuple((name, tuple(_write_order(files_by_table.get(name, ())))) for name in names)
    )
    first = next(f for _, files in plan.tables for f in files)
    return ChainJobRequest(plan, ParsedLoadJobFileName.parse(os.path.basename(first)).file_id)


def _write_order(files: Sequence[str]) -> list[str]:
    def key(path: str) -> tuple[int, str]:
        try:
            return os.stat(path).st_mtime_ns, path
        except OSError:
            return 0, path

    return sorted(files, key=key)


def _sort_rule(table: TTableSchema) -> SortRule | None:
    for name, column in table["columns"].items():
        order = column.get("dedup_sort")
        if order:
            return SortRule(name, descending=order != "asc")
    cursor = get_first_column_name_with_prop(table, "incremental")
    return SortRule(cursor) if cursor else None


def table_write(
    prepared: PreparedTableSchema, naming: TableNaming, files: Sequence[str]
) -> TableWrite:
    """The :class:`TableWrite` for a prepared dlt table and its files."""
    table = cast(TTableSchema, prepared)
    name = table_name(table)
    disposition = table.get("write_disposition") or "append"
    nested = is_nested_table(table)
    root_key = get_first_column_name_with_prop(table, "root_key") if nested else None
    return TableWrite(
        dlt_table=name,
        identifier=naming.identifier(name),
        disposition=disposition,
        files=tuple(files),
        primary_key=() if nested else tuple(get_columns_names_with_prop(table, "primary_key")),
        merge_key=() if nested else tuple(get_columns_names_with_prop(table, "merge_key")),
        sort=None if nested else _sort_rule(table),
        hard_delete=None if nested else get_first_column_name_with_prop(table, "hard_delete"),
        root_key=root_key if disposition == "merge" else None,
    )


def _nested_merge(catalog: Catalog, root: TableWrite, row_key: str) -> NestedMerge:
    incoming = read_incoming(root.files)
    empty = pa.array([], pa.string())
    if incoming.num_rows == 0 or row_key not in incoming.column_names:
        return NestedMerge(replaced_root_ids=empty, kept_root_ids=empty)
    kept = deduplicate(incoming, root.primary_key, root.sort)
    if root.hard_delete is not None and root.hard_delete in kept.column_names:
        flags = pc.fill_null(pc.cast(kept.column(root.hard_delete), pa.bool_()), False)
        kept = kept.filter(pc.invert(flags))
    kept_ids = kept.column(row_key).combine_chunks()
    try:
        table = catalog.load_table(root.identifier)
    except NoSuchTableError:
        return NestedMerge(replaced_root_ids=empty, kept_root_ids=kept_ids)
    replaced: list[pa.Array] = []
    for keys in (root.primary_key, root.merge_key):
        if keys:
            rows = matching_rows(table.metadata, table.io, key_table(incoming, keys), [row_key])
            replaced.append(rows.column(row_key).combine_chunks().cast(pa.string()))
    replaced_ids = pa.concat_arrays(replaced) if replaced else empty
    return NestedMerge(replaced_root_ids=replaced_ids, kept_root_ids=kept_ids.cast(pa.string()))


def commit_chain(
    catalog: Catalog,
    tables: Sequence[PreparedTableSchema],
    plan: ChainPlan,
    naming: TableNaming,
    context: CommitContext,
) -> list[TableCommit]:
    """Commit every table of a chain (nested tables first, root last); see the module doc."""
    files = dict(plan.tables)
    writes = [table_write(t, naming, files.get(table_name(t), ())) for t in tables]
    root_table, root = tables[0], writes[0]
    nested: NestedMerge | None = None
    if root.disposition == "merge" and any(w.root_key for w in writes[1:]):
        row_key = get_first_column_name_with_prop(cast(TTableSchema, root_table), "row_key")
        if row_key and not _committed(catalog, root, context):
            nested = _nested_merge(catalog, root, row_key)
    commits: list[TableCommit] = []
    for write in [*writes[1:], writes[0]]:
        if write.disposition == "append" and not write.files:
            continue
        commit = commit_table(catalog, write, context, nested if write.root_key else None)
        if commit is not None:
            commits.append(commit)
    return commits


def _committed(catalog: Catalog, write: TableWrite, context: CommitContext) -> bool:
    try:
        table = catalog.load_table(write.identifier)
    except NoSuchTableError:
        return False
    return find_load(table, context.load_id, context.pipeline) is not None
