"""Which tables of a namespace a pipeline writes, kept in the namespace's properties.

Restoring a pipeline's state and collecting what a load committed need the tables that hold
the pipeline's commits. Without an index that means loading every table of the namespace (a
metadata file read each): N pipelines sharing a namespace cost N² table loads in all.

The index is one namespace property per pipeline, ``floe.dlt.tables.<pipeline>``, a JSON list
of table names. :func:`register_table` adds a table to it *before* the pipeline first commits
to that table, so the list never misses a table holding one of the pipeline's commits (it may
name one that holds none, after a failed first commit, or one that was dropped: harmless).

The index is trusted only in a namespace marked ``floe.dlt.table-index``: the mark is set by
the first registration in a namespace that holds no table yet, so every table of a marked
namespace was written by a registering writer. A namespace that already held tables when
registration first met it (written by an earlier version of this destination) is never
marked, and :func:`pipeline_tables` answers ``None`` there: callers list the namespace.

Each pipeline writes only its own property, so pipelines running at once do not overwrite
each other's entries. One load commits its tables from several threads (dlt's load workers):
registrations are serialised within the process, so no thread overwrites another's table
(two runs of the *same* pipeline in two processes at once are not supported anyway: they
would read one cursor). A registration that loses a race on the mark is repeated.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError
from pyiceberg.typedef import Identifier

__all__ = ["INDEX_MARK", "index_key", "pipeline_tables", "register_table", "tables_or_listing"]

INDEX_MARK = "floe.dlt.table-index"
_KEY_PREFIX = "floe.dlt.tables."
_ATTEMPTS = 3
_REGISTERING = threading.Lock()  # read-modify-write of one pipeline's entry, see module doc


def index_key(pipeline: str) -> str:
    """The namespace property listing ``pipeline``'s tables."""
    return f"{_KEY_PREFIX}{pipeline}"


def pipeline_tables(
    catalog: Catalog, namespace: tuple[str, ...], pipeline: str
) -> list[Identifier] | None:
    """The identifiers of ``pipeline``'s tables in ``namespace``, sorted.

    ``[]`` when the namespace does not exist; ``None`` when the namespace is not indexed (list
    it instead).
    """
    try:
        properties = catalog.load_namespace_properties(namespace)
    except NoSuchNamespaceError:
        return []
    if INDEX_MARK not in properties:
        return None
    return [(*namespace, name) for name in sorted(_names(properties.get(index_key(pipeline))))]


def register_table(catalog: Catalog, namespace: tuple[str, ...], pipeline: str, table: str) -> None:
    """Record that ``pipeline`` writes ``table`` (creating the namespace if need be).

    Call before the first commit of ``pipeline`` to ``table``. A failure propagates: a commit
    must not land in an indexed namespace without its table in the index.
    """
    with _REGISTERING:
        _register(catalog, namespace, pipeline, table)


def _register(catalog: Catalog, namespace: tuple[str, ...], pipeline: str, table: str) -> None:
    key = index_key(pipeline)
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            properties = catalog.load_namespace_properties(namespace)
        except NoSuchNamespaceError:
            catalog.create_namespace_if_not_exists(namespace)
            properties = catalog.load_namespace_properties(namespace)
        names = _names(properties.get(key))
        marked = INDEX_MARK in properties
        if table in names and marked:
            return
        updates = {key: json.dumps(sorted({*names, table}))}
        if not marked and not catalog.list_tables(namespace):
            updates[INDEX_MARK] = "1"
        elif table in names:
            return  # an unmarked namespace: the entry is kept, the scan stays
        try:
            catalog.update_namespace_properties(namespace, updates=updates)
            return
        except Exception:
            # Another pipeline set the mark at the same moment (a unique-key clash in a SQL
            # catalog): read the properties again and write only this pipeline's entry.
            if attempt == _ATTEMPTS:
                raise


def tables_or_listing(
    catalog: Catalog, namespace: tuple[str, ...], pipeline: str
) -> Iterable[Identifier]:
    """:func:`pipeline_tables`, or every table of the namespace when it is not indexed."""
    indexed = pipeline_tables(catalog, namespace, pipeline)
    if indexed is not None:
        return indexed
    try:
        return sorted(catalog.list_tables(namespace))
    except NoSuchNamespaceError:
        return []


def _names(value: str | None) -> set[str]:
    if not value:
        return set()
    loaded = json.loads(value)
    if not isinstance(loaded, list):
        raise ValueError(f"namespace property {value!r} is not a JSON list of table names")
    return {str(name) for name in loaded}
