"""The floe Iceberg destination for dlt: load packages become Iceberg commits, exactly once.

dlt extracts and normalises as usual and writes each table's rows as parquet; this destination
(a dlt ``Destination`` with its own job client, not ``@dlt.destination``) turns every *table
chain* of a load package into Iceberg commits through the platform's pyiceberg catalog:

* **Tables.** Each dlt table lands in ``<namespace>.<table_names.get(t, t)>`` (namespace made
  on first use, locations left to the catalog). **Nested data follows dlt's normalisation into
  child tables**: a list ``lines`` in resource ``orders`` becomes ``<namespace>.orders__lines``,
  linked by ``_dlt_parent_id``/``_dlt_id`` (and ``_dlt_root_id`` under merge).
* **One commit per table per load**, one snapshot: the parquet files dlt wrote are registered
  as they are when their types fit the table (written once), else rewritten once.
* **Write dispositions.** ``append``; ``replace`` as one overwrite snapshot (readers never see
  the table empty, the previous snapshot stays readable); ``merge`` as one delete-insert
  snapshot on the primary key (and/or merge key), rows of one load deduplicated (last wins, by
  ``dedup_sort`` or the incremental cursor when there is one), new columns welcome.
* **Schema evolution.** New columns are added, ``int -> long``, ``float -> double`` and
  decimal precision widen; any other type change fails before anything is written, as
  ``PERMANENT``/``SCHEMA_MISMATCH`` naming table, column, old and new type.
* **Exactly once.** Every snapshot records ``floe.load-id``, ``floe.pipeline`` and the dlt state
  of the table's resource (:mod:`.summary`). A commit whose load id is already in the table's
  history is skipped, so dlt resuming a package in the same working directory after a crash is
  idempotent for every disposition. In a fresh working directory :func:`restore_state` rebuilds
  the incremental state from the catalog (and rolls back a load that died half-committed), so
  incremental and merge pipelines neither lose nor duplicate rows. A plain append without a
  cursor extracts everything again on every run, by definition. Commit conflicts are retried on
  a re-read table, then reported as ``TRANSIENT``/``COMMIT_CONFLICT``.
  The full guarantee and its limits: ``docs/exactly-once.md``.
* **Test-only kill points** (:mod:`.killpoints`): ``FLOE_TEST_KILL_AT`` makes the process
  SIGKILL itself at a named point of the load, for the exactly-once tests.
"""

from __future__ import annotations

from floe_ingestion_dlt.destination.commits import TableCommit, load_commits
from floe_ingestion_dlt.destination.factory import floe_iceberg, iceberg_destination
from floe_ingestion_dlt.destination.killpoints import KILL_ENV
from floe_ingestion_dlt.destination.state import restore_state

__all__ = [
    "KILL_ENV",
    "TableCommit",
    "floe_iceberg",
    "iceberg_destination",
    "load_commits",
    "restore_state",
]
