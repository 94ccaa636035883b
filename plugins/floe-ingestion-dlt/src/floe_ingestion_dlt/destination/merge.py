"""Merge (delete-insert) building blocks on Arrow tables.

* :func:`deduplicate` keeps one row per primary key among the rows of one load. The winner is
  the row with the highest value of the ``dedup_sort`` column (``desc``, dlt's default) or the
  lowest (``asc``); without such a column, the highest value of the incremental cursor column;
  without either, the row that came last (files in write order, rows in file order). Ties go to
  the later row.
* :func:`matching_mask` tells which rows of an existing data file have a key among the incoming
  keys (a hash join on the key columns, so composite keys and any payload types work).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["SortRule", "deduplicate", "key_table", "matching_mask"]

_POS = "__floe_pos"


@dataclass(frozen=True)
class SortRule:
    """Which duplicate wins: the row with the largest (``descending``) or smallest value."""

    column: str
    descending: bool = True


def _positions(count: int) -> pa.Array:
    """``0..count-1`` as int64, built vectorised (``pa.array(range(n))`` is slow for millions)."""
    if count == 0:
        return pa.array([], pa.int64())
    ones = pa.nulls(count, pa.int64()).fill_null(1)
    return pc.subtract(pc.cumulative_sum(ones), 1)


def _has_duplicates(table: pa.Table, keys: Sequence[str]) -> bool:
    rows = int(table.num_rows)
    if len(keys) == 1:
        return int(pc.count_distinct(table.column(keys[0]), mode="all").as_py()) != rows
    return int(key_table(table, keys).num_rows) != rows


def deduplicate(table: pa.Table, keys: Sequence[str], sort: SortRule | None) -> pa.Table:
    """One row per key, chosen by ``sort`` (see module doc); the input when there is nothing to do.

    The kept rows stay in their original order.
    """
    if not keys or table.num_rows < 2 or not _has_duplicates(table, keys):
        return table
    positions = _positions(table.num_rows)
    indexed = table.select(list(keys) + ([sort.column] if sort else [])).append_column(
        _POS, positions
    )
    order: list[tuple[str, str]] = []
    if sort is not None:
        order.append((sort.column, "descending" if sort.descending else "ascending"))
    order.append((_POS, "descending"))
    ranked = indexed.sort_by(order)
    winners = (
        ranked.select([*keys, _POS])
        .group_by(list(keys), use_threads=False)
        .aggregate([(_POS, "first")])
        .column(f"{_POS}_first")
    )
    kept: pa.Table = table.take(pc.take(winners, pc.sort_indices(winners)))
    return kept


def key_table(table: pa.Table, keys: Sequence[str]) -> pa.Table:
    """The distinct key tuples of ``table``."""
    return table.select(list(keys)).group_by(list(keys)).aggregate([])


def matching_mask(existing: pa.Table, keys: pa.Table) -> pa.ChunkedArray | pa.Array:
    """Boolean mask of ``existing`` rows whose key (the columns of ``keys``) is in ``keys``."""
    names = keys.column_names
    left = existing.select(names)
    right = keys.cast(left.schema) if keys.schema != left.schema else keys
    if len(names) == 1:
        return pc.is_in(left.column(0), value_set=right.column(0).combine_chunks())
    positions = _positions(existing.num_rows)
    left = left.append_column(_POS, positions)
    matched = left.join(right, keys=names, join_type="left semi").column(_POS)
    return pc.is_in(positions, value_set=matched.combine_chunks())
