"""The ``floe.*`` entries of a snapshot summary: what a commit carries besides the data.

Every commit of the destination writes, in its snapshot summary:

=======================  ================================================================
``floe.load-id``          the dlt load id (load package) the data comes from
``floe.pipeline``         the dlt pipeline name
``floe.dlt-table``        the dlt table name (the Iceberg name may be mapped)
``floe.disposition``      ``append``, ``replace`` or ``merge``
``floe.rows``             rows this commit inserted (after deduplication for merge)
``floe.deleted-rows``     rows a merge replaced or a replace removed
``floe.created``          ``true`` when this load created the table
``floe.state-tables``     JSON list of the table names that the same resource(s) commit in
                          this load: the load counts as committed for the resource only when
                          every one of them holds the load id
``floe.state``            dlt's typed JSON of the state of the table's resource(s) after this
                          load (``{"source": ..., "resources": {...}, "source_state": {...}}``);
                          when dlt's state did not change in the load, the table's previous
                          value is carried forward; zlib+base64 with a ``z:`` prefix when long
``floe.state-version``    dlt's pipeline state version that ``floe.state`` belongs to
=======================  ================================================================

A snapshot *belongs* to a table's history when it is an ancestor of (or is) the current
snapshot: snapshots that were rolled back do not count.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Iterator
from typing import Any

from pyiceberg.table import Table
from pyiceberg.table.snapshots import Snapshot, ancestors_of

__all__ = [
    "CREATED",
    "DELETED_ROWS",
    "DISPOSITION",
    "DLT_TABLE",
    "LOAD_ID",
    "PIPELINE",
    "ROWS",
    "STATE",
    "STATE_TABLES",
    "STATE_VERSION",
    "decode_json",
    "encode_json",
    "find_load",
    "lineage",
    "load_ids",
    "pack",
    "summary_value",
    "unpack",
]

LOAD_ID = "floe.load-id"
PIPELINE = "floe.pipeline"
DLT_TABLE = "floe.dlt-table"
DISPOSITION = "floe.disposition"
ROWS = "floe.rows"
DELETED_ROWS = "floe.deleted-rows"
CREATED = "floe.created"
STATE_TABLES = "floe.state-tables"
STATE = "floe.state"
STATE_VERSION = "floe.state-version"

_COMPRESS_ABOVE = 2048


def pack(text: str) -> str:
    """``text`` as is, or ``z:`` + base64 of its zlib compression when longer than 2 KiB."""
    if len(text) <= _COMPRESS_ABOVE:
        return text
    return "z:" + base64.b64encode(zlib.compress(text.encode(), 9)).decode()


def unpack(text: str) -> str:
    """Inverse of :func:`pack`."""
    if text.startswith("z:"):
        return zlib.decompress(base64.b64decode(text[2:])).decode()
    return text


def encode_json(value: Any) -> str:
    """Compact, sorted JSON of plain values, packed."""
    return pack(json.dumps(value, separators=(",", ":"), sort_keys=True))


def decode_json(text: str) -> Any:
    """Inverse of :func:`encode_json`."""
    return json.loads(unpack(text))


def lineage(table: Table) -> Iterator[Snapshot]:
    """The table's history: the current snapshot and its ancestors, newest first."""
    return iter(ancestors_of(table.current_snapshot(), table.metadata))


def _summary_get(snapshot: Snapshot, key: str) -> str | None:
    summary = snapshot.summary
    return None if summary is None else summary.get(key)


def find_load(table: Table, load_id: str, pipeline: str) -> Snapshot | None:
    """The snapshot of the table's history that load ``load_id`` of ``pipeline`` committed."""
    for snapshot in lineage(table):
        if (
            _summary_get(snapshot, LOAD_ID) == load_id
            and _summary_get(snapshot, PIPELINE) == pipeline
        ):
            return snapshot
    return None


def load_ids(table: Table, pipeline: str) -> set[str]:
    """Every load id of ``pipeline`` in the table's history."""
    return {
        load_id
        for snapshot in lineage(table)
        if _summary_get(snapshot, PIPELINE) == pipeline
        and (load_id := _summary_get(snapshot, LOAD_ID)) is not None
    }


def summary_value(snapshot: Snapshot, key: str) -> str | None:
    """One summary entry of ``snapshot`` (``None`` when absent)."""
    return _summary_get(snapshot, key)
