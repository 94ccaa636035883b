"""One Iceberg commit per table per load: :func:`commit_table`.

For one table and the parquet files one dlt load brought for it, :func:`commit_table`

1. loads the table (or creates it from the files' schema, all columns optional, location left
   to the catalog) and returns at once, ``skipped``, when the load id is already in the table's
   history: a retried or resumed load never commits twice;
2. plans the schema change (:mod:`.evolution`), raising ``SCHEMA_MISMATCH`` before writing;
3. stages, in ONE transaction producing ONE snapshot, the schema change, the name mapping
   (for files without field ids) and the data change of the write disposition
   (:mod:`.changes`): a fast append for ``append``; an overwrite for ``replace`` (readers see
   the old rows or the new rows, never an empty table; the previous snapshot stays readable)
   and for ``merge`` (delete-insert). Replace and merge use an overwrite snapshot even when
   they remove no file: its concurrency validation refuses to rebase them over a concurrent
   writer's new rows, where a fast append would be rebased silently and could duplicate keys;
4. writes the ``floe.*`` summary entries (:mod:`.summary`) and commits (the table was first
   recorded in the namespace's index of the pipeline's tables, :mod:`.index`). A commit conflict
   (``CommitFailedException``/``ValidationException`` from pyiceberg, after pyiceberg's own
   retries) is retried from step 1 on a freshly loaded table, ``attempts`` times in all, with
   a growing pause (``sleep`` is injectable); then ``TRANSIENT``/``COMMIT_CONFLICT``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import (
    CommitFailedException,
    NoSuchNamespaceError,
    NoSuchTableError,
    TableAlreadyExistsError,
    ValidationException,
)
from pyiceberg.table import Table, TableProperties, Transaction

from floe_ingestion_dlt.destination import summary
from floe_ingestion_dlt.destination.changes import (
    Change,
    NestedMerge,
    TableWrite,
    add_incoming,
    plan_merge,
    plan_replace,
)
from floe_ingestion_dlt.destination.commits import TableCommit, commit_of
from floe_ingestion_dlt.destination.evolution import apply_plan, plan_evolution
from floe_ingestion_dlt.destination.failures import CommitConflictError, DestinationWriteError
from floe_ingestion_dlt.destination.index import register_table
from floe_ingestion_dlt.destination.killpoints import checkpoint
from floe_ingestion_dlt.destination.types import iceberg_arrow_schema

__all__ = ["CommitContext", "NestedMerge", "TableWrite", "commit_table"]


@dataclass(frozen=True)
class CommitContext:
    """Load-wide settings of the commits."""

    load_id: str
    pipeline: str
    extra_summary: dict[str, str] = field(default_factory=dict)
    attempts: int = 4
    sleep: Callable[[float], None] = time.sleep
    base_delay: float = 0.2


def _incoming_schema(files: Sequence[str]) -> pa.Schema:
    schemas = [pq.read_schema(path) for path in files]
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DestinationWriteError(
            f"the files of one load disagree on column types: {exc}",
            details={"files": list(files)},
        ) from exc


def _load_or_create(
    catalog: Catalog, write: TableWrite, schema: pa.Schema | None
) -> tuple[Table | None, bool]:
    try:
        return catalog.load_table(write.identifier), False
    except NoSuchTableError:
        if schema is None:
            return None, False
    try:
        return catalog.create_table(write.identifier, schema=iceberg_arrow_schema(schema)), True
    except NoSuchNamespaceError:
        catalog.create_namespace_if_not_exists(write.identifier[:-1])
        return catalog.create_table(write.identifier, schema=iceberg_arrow_schema(schema)), True
    except TableAlreadyExistsError:
        return catalog.load_table(write.identifier), False


def _stage(tx: Transaction, change: Change, overwrite: bool, properties: dict[str, str]) -> int:
    snapshot = tx.update_snapshot(snapshot_properties=properties)
    producer = snapshot.overwrite() if overwrite else snapshot.fast_append()
    with producer:
        for data_file in change.removed:
            producer.delete_data_file(data_file)
        for data_file in change.added:
            producer.append_data_file(data_file)
    return producer.snapshot_id


def _carried_state(table: Table, context: CommitContext) -> dict[str, str]:
    """The resource state of the table's newest commit, when this load brings none.

    dlt puts its state in a package only when it changed; carrying the unchanged state forward
    keeps every commit self-contained, so expiring older snapshots never loses it.
    """
    if summary.STATE in context.extra_summary or summary.STATE_TABLES not in context.extra_summary:
        return {}
    for snapshot in summary.lineage(table):
        if summary.summary_value(snapshot, summary.PIPELINE) != context.pipeline:
            continue
        state = summary.summary_value(snapshot, summary.STATE)
        if state is not None:
            carried = {summary.STATE: state}
            version = summary.summary_value(snapshot, summary.STATE_VERSION)
            if version is not None:
                carried[summary.STATE_VERSION] = version
            return carried
    return {}


def _commit_once(
    table: Table,
    write: TableWrite,
    context: CommitContext,
    nested: NestedMerge | None,
    created: bool,
    incoming_schema: pa.Schema | None,
) -> TableCommit:
    tx = table.transaction()
    if incoming_schema is not None:
        apply_plan(write.name, tx, plan_evolution(write.name, table.schema(), incoming_schema))
    metadata = tx.table_metadata
    if metadata.name_mapping() is None:
        tx.set_properties(
            {TableProperties.DEFAULT_NAME_MAPPING: metadata.schema().name_mapping.model_dump_json()}
        )
        metadata = tx.table_metadata
    if write.disposition == "replace":
        change = plan_replace(table, metadata, write, context.load_id)
    elif write.disposition == "merge":
        change = plan_merge(table, metadata, write, context.load_id, nested)
    else:
        change = Change()
        add_incoming(table, metadata, write.files, context.load_id, change)
    properties = {
        summary.LOAD_ID: context.load_id,
        summary.PIPELINE: context.pipeline,
        summary.DLT_TABLE: write.dlt_table,
        summary.DISPOSITION: write.disposition,
        summary.ROWS: str(change.rows),
        summary.DELETED_ROWS: str(change.deleted_rows),
        summary.CREATED: "true" if created else "false",
        **context.extra_summary,
        **_carried_state(table, context),
    }
    snapshot_id = _stage(tx, change, write.disposition != "append", properties)
    checkpoint("before_commit", write.dlt_table)
    committed = tx.commit_transaction()
    checkpoint("after_commit", write.dlt_table)
    snapshot = committed.snapshot_by_id(snapshot_id)
    if snapshot is None:  # pragma: no cover - a committed snapshot is always in the metadata
        raise CommitFailedException(f"snapshot {snapshot_id} missing after commit")
    return commit_of(committed, snapshot)


def commit_table(
    catalog: Catalog,
    write: TableWrite,
    context: CommitContext,
    nested: NestedMerge | None = None,
) -> TableCommit | None:
    """Commit ``write`` as one snapshot (see the module doc); ``None`` when there is no table.

    A table that does not exist and receives no file (a nested table of a replace or merge
    chain that never got rows) is left alone.
    """
    files = [path for path in write.files if os.path.exists(path)]
    if len(files) != len(write.files):
        missing = sorted(set(write.files) - set(files))
        raise DestinationWriteError(
            f"table {write.name}: load files {missing} are gone from the load package; the "
            "package cannot be loaded again. Drop it (dlt pipeline drop-pending-packages) "
            "and rerun.",
            details={"table": write.name, "missing": missing},
        )
    incoming_schema = _incoming_schema(files) if files else None
    # before any commit: the pipeline's readers look only at the tables the index names
    register_table(catalog, write.identifier[:-1], context.pipeline, write.identifier[-1])
    created = False
    last_error: Exception | None = None
    for attempt in range(1, context.attempts + 1):
        table, made = _load_or_create(catalog, write, incoming_schema)
        if table is None:
            return None
        created = created or made or table.current_snapshot() is None
        done = summary.find_load(table, context.load_id, context.pipeline)
        if done is not None:
            return commit_of(table, done, skipped=True)
        try:
            return _commit_once(table, write, context, nested, created, incoming_schema)
        except (CommitFailedException, ValidationException) as exc:
            last_error = exc
            if attempt < context.attempts:
                context.sleep(context.base_delay * 2 ** (attempt - 1))
    raise CommitConflictError(
        f"table {write.name}: other writers committed first {context.attempts} times in a row "
        f"({type(last_error).__name__}: {last_error}). The load stays pending and is committed "
        "exactly once when the run is retried.",
        details={"table": write.name, "attempts": context.attempts, "load_id": context.load_id},
    )
