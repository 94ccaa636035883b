"""dlt state that rides with the data, and its restoration in a fresh working directory.

**Writing.** dlt adds its pipeline state (incremental cursors, source state) to every load
package whose extract changed it. :func:`state_summary` cuts out the part that belongs to the
resource(s) of a table (``sources.<source>.resources.<resource>`` plus the source-level keys)
and the destination writes it, with dlt's state version, in the snapshot summary of that
table's commit. Each commit also lists (``floe.state-tables``) every table the same
resource(s) commit in the load: a resource's state counts as committed only when all of them
hold the load id, so a load killed between two tables of one resource never advances that
resource's cursor past rows that did not land.

**Restoring** (:func:`restore_state`, called before extract). When the local working directory
has no state (a new pod) or an older one than the catalog (dlt's state version), floe

1. rolls back, table by table, a current snapshot that belongs to a load whose resource group
   is incomplete (its package died with the old working directory; its rows will be extracted
   again): to the parent snapshot, or by dropping a table that load created;
2. takes, for every resource, the state of its newest complete commit, and for every source
   the source-level state of the newest complete commit;
3. installs them in the local pipeline state, with a state version not lower than the
   catalog's, so dlt's next extract continues exactly where the committed data ends.

A local state that is newer than or as new as the catalog's (same working directory, maybe with
a pending package that dlt will finish first) is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlt.common.json import json as dlt_json
from dlt.common.versioned_state import decompress_state
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot

from floe_ingestion_dlt.destination import summary
from floe_ingestion_dlt.destination.index import tables_or_listing
from floe_ingestion_dlt.destination.naming import parse_namespace

if TYPE_CHECKING:
    import dlt

__all__ = ["restore_state", "state_summary"]

log = logging.getLogger(__name__)


def _source_of(
    sources: Mapping[str, Any], schema_name: str, resources: Iterable[str]
) -> str | None:
    if schema_name in sources:
        return schema_name
    wanted = set(resources)
    for name, source in sources.items():
        if wanted & set((source or {}).get("resources", {})):
            return name
    return None


def state_summary(
    package_state: Mapping[str, Any], schema_name: str, resources: Iterable[str]
) -> dict[str, str]:
    """``floe.state``/``floe.state-version`` for ``resources`` from a load package's state.

    Empty when the package carries no pipeline state (dlt's state did not change in the load).
    """
    doc = package_state.get("pipeline_state")
    if not doc:
        return {}
    resources = list(resources)
    state = decompress_state(doc["state"])
    sources = state.get("sources") or {}
    source_name = _source_of(sources, schema_name, resources)
    source = dict(sources.get(source_name) or {}) if source_name else {}
    resource_states = source.pop("resources", {}) or {}
    payload = {
        "source": source_name or schema_name,
        "resources": {r: resource_states[r] for r in resources if r in resource_states},
        "source_state": source,
    }
    return {
        summary.STATE: summary.pack(dlt_json.typed_dumps(payload)),
        summary.STATE_VERSION: str(doc["version"]),
    }


@dataclass(frozen=True)
class _Commit:
    table: str
    load_id: str
    version: int | None
    payload: str | None
    state_tables: tuple[str, ...] | None
    timestamp_ms: int


@dataclass
class _Catalogued:
    tables: dict[str, Table]
    commits: list[_Commit]
    loads: dict[str, set[str]]

    def complete(self, commit: _Commit) -> bool:
        if commit.state_tables is None:
            return True
        return all(commit.load_id in self.loads.get(t, set()) for t in commit.state_tables)

    @property
    def version(self) -> int | None:
        versions = [c.version for c in self.commits if c.version is not None]
        return max(versions) if versions else None


def _commit(table: str, snapshot: Snapshot) -> _Commit:
    def get(key: str) -> str | None:
        return summary.summary_value(snapshot, key)

    version = get(summary.STATE_VERSION)
    tables = get(summary.STATE_TABLES)
    return _Commit(
        table=table,
        load_id=get(summary.LOAD_ID) or "",
        version=int(version) if version else None,
        payload=get(summary.STATE),
        state_tables=tuple(summary.decode_json(tables)) if tables else None,
        timestamp_ms=snapshot.timestamp_ms,
    )


def _scan(catalog: Catalog, namespace: tuple[str, ...], pipeline: str) -> _Catalogued:
    found = _Catalogued(tables={}, commits=[], loads={})
    for identifier in tables_or_listing(catalog, namespace, pipeline):
        try:
            table = catalog.load_table(identifier)
        except NoSuchTableError:
            continue
        name = identifier[-1]
        found.tables[name] = table
        found.loads[name] = summary.load_ids(table, pipeline)
        for snapshot in summary.lineage(table):
            if summary.summary_value(snapshot, summary.PIPELINE) == pipeline:
                found.commits.append(_commit(name, snapshot))
    return found


def _roll_back_incomplete(catalog: Catalog, found: _Catalogued, pipeline: str) -> list[str]:
    rolled: list[str] = []
    for name, table in found.tables.items():
        current = table.current_snapshot()
        if current is None or summary.summary_value(current, summary.PIPELINE) != pipeline:
            continue
        commit = _commit(name, current)
        if found.complete(commit):
            continue
        log.warning(
            "rolling back %s: load %s of pipeline %s committed it but not every table of its "
            "resource; the rows will be extracted again",
            ".".join(table.name()),
            commit.load_id,
            pipeline,
        )
        if current.parent_snapshot_id is None:
            catalog.drop_table(table.name())
        else:
            with table.manage_snapshots() as manage:
                manage.rollback_to_snapshot(current.parent_snapshot_id)
        rolled.append(name)
    return rolled


def _assemble(found: _Catalogued) -> dict[str, dict[str, Any]]:
    """``{source: {"resources": ..., "source_state": ...}}`` of the newest complete commits."""
    assembled: dict[str, dict[str, Any]] = {}
    newest_first = sorted(
        (c for c in found.commits if c.payload and found.complete(c)),
        key=lambda c: (c.version or 0, c.timestamp_ms),
        reverse=True,
    )
    for commit in newest_first:
        payload = dlt_json.typed_loads(summary.unpack(commit.payload or ""))
        source = assembled.setdefault(payload["source"], {"resources": {}, "source_state": None})
        if source["source_state"] is None:
            source["source_state"] = payload.get("source_state") or {}
        for resource, resource_state in (payload.get("resources") or {}).items():
            source["resources"].setdefault(resource, resource_state)
    return assembled


def restore_state(
    pipeline: dlt.Pipeline,
    catalog: Catalog,
    *,
    namespace: tuple[str, ...] | str,
    table_names: Mapping[str, str] | None = None,
) -> bool:
    """Rebuild ``pipeline``'s state from the catalog when the local one is missing or older.

    Call it before extract. Returns True when the local state was replaced. ``table_names`` is
    accepted for symmetry with :func:`iceberg_destination`; tables are recognised by their
    ``floe.pipeline`` summary entry, so renamed tables are found as well. See the module doc.
    """
    del table_names
    name = pipeline.pipeline_name
    ns = parse_namespace(namespace)
    found = _scan(catalog, ns, name)
    catalog_version = found.version
    local_version = int(pipeline.state.get("_state_version") or 0)
    if catalog_version is None or local_version >= catalog_version:
        return False
    if pipeline.has_pending_data:
        log.warning(
            "pipeline %s has pending load packages but the catalog holds newer state (version "
            "%s > %s): another working directory ran it since; the catalog wins",
            name,
            catalog_version,
            local_version,
        )
    if _roll_back_incomplete(catalog, found, name):
        found = _scan(catalog, ns, name)
    assembled = _assemble(found)
    with pipeline.managed_state() as state:
        sources = state.setdefault("sources", {})
        for source_name, restored in assembled.items():
            source = sources.setdefault(source_name, {})
            source.update(restored["source_state"] or {})
            resources = source.setdefault("resources", {})
            resources.update(restored["resources"])
        state["_state_version"] = max(int(state.get("_state_version") or 0), catalog_version)
    log.info(
        "restored dlt state of pipeline %s from the catalog (state version %s, %d source(s))",
        name,
        catalog_version,
        len(assembled),
    )
    return True
