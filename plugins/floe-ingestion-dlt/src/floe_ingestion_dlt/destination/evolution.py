"""Schema evolution of an Iceberg table for the data a load brings.

:func:`plan_evolution` compares the table's schema with the (Iceberg-storable) Arrow schema of
the incoming files, column by column, by name:

* a column the table lacks is added (optional);
* the same type, or a narrower one the table already reads (``int`` into ``long``), changes
  nothing; a timestamp with or without zone is stored as the table's kind (UTC assumed);
* a wider type that Iceberg allows (``int -> long``, ``float -> double``, decimal precision) is
  applied to the table;
* anything else is a :class:`~.failures.SchemaMismatchError` (``PERMANENT``/``SCHEMA_MISMATCH``)
  naming table, column, old and new type, raised before anything is written.

Nested columns (struct/list/map) are handed to pyiceberg's ``union_by_name``, whose own refusal
becomes the same error. :func:`check_dlt_columns` applies the same rule to dlt's column hints so
that a load is refused before its first table commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from pyiceberg.exceptions import ValidationError
from pyiceberg.io.pyarrow import schema_to_pyarrow
from pyiceberg.schema import Schema
from pyiceberg.table import Transaction
from pyiceberg.types import IcebergType, NestedField

from floe_ingestion_dlt.destination.failures import SchemaMismatchError
from floe_ingestion_dlt.destination.types import (
    dlt_iceberg_type,
    family,
    iceberg_arrow_schema,
    iceberg_type,
    widening,
)

__all__ = ["Mismatch", "SchemaPlan", "apply_plan", "check_dlt_columns", "plan_evolution"]

ALLOWED = "int -> long, float -> double, decimal(P,S) -> decimal(P',S) with P' > P"


@dataclass(frozen=True)
class Mismatch:
    """One column whose incoming type the table cannot take."""

    column: str
    old: str
    new: str


@dataclass
class SchemaPlan:
    """What to change in a table so it takes the incoming data."""

    target: pa.Schema
    """Incoming columns with the type the table will have: ``union_by_name`` input."""
    added: list[str] = field(default_factory=list)
    widened: list[tuple[str, str, str]] = field(default_factory=list)
    nested: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.added or self.widened or self.nested)


def _arrow_of(iceberg: IcebergType) -> pa.DataType:
    return schema_to_pyarrow(iceberg, include_field_ids=False)


def raise_mismatches(table: str, mismatches: list[Mismatch], *, where: str) -> None:
    """Raise one SchemaMismatchError describing every mismatch (first one in the headline)."""
    if not mismatches:
        return
    first = mismatches[0]
    others = "".join(f"; column {m.column!r}: {m.old} -> {m.new}" for m in mismatches[1:])
    raise SchemaMismatchError(
        f"table {table}: column {first.column!r} is {first.old} in Iceberg but {where} brings "
        f"{first.new}{others}. Iceberg allows only {ALLOWED}; nothing of this load was written "
        "to the table. Cast the column back in the source, load it under a new name, or "
        "migrate the table; the load package stays pending until then.",
        details={
            "table": table,
            "column": first.column,
            "old_type": first.old,
            "new_type": first.new,
            "mismatches": [m.__dict__ for m in mismatches],
        },
    )


def plan_evolution(table: str, current: Schema, incoming: pa.Schema) -> SchemaPlan:
    """Plan the schema change for ``incoming`` files (raise on an incompatible column)."""
    incoming = iceberg_arrow_schema(incoming)
    plan_fields: list[pa.Field] = []
    plan = SchemaPlan(target=pa.schema([]))
    mismatches: list[Mismatch] = []
    for arrow_field in incoming:
        try:
            existing: NestedField | None = current.find_field(arrow_field.name)
        except ValueError:
            existing = None
        if existing is None:
            plan.added.append(arrow_field.name)
            plan_fields.append(arrow_field)
            continue
        new = iceberg_type(arrow_field.type)
        old = existing.field_type
        if new is None or not old.is_primitive:
            if new is not None or old.is_primitive:
                mismatches.append(Mismatch(arrow_field.name, str(old), str(arrow_field.type)))
            else:
                plan.nested.append(arrow_field.name)
                plan_fields.append(arrow_field)
            continue
        if new == old or widening(new, old) or family(new) == family(old) == "timestamp":
            plan_fields.append(pa.field(arrow_field.name, _arrow_of(old)))
        elif widening(old, new):
            plan.widened.append((arrow_field.name, str(old), str(new)))
            plan_fields.append(arrow_field)
        else:
            mismatches.append(Mismatch(arrow_field.name, str(old), str(new)))
    raise_mismatches(table, mismatches, where="this load")
    plan.target = pa.schema(plan_fields)
    return plan


def apply_plan(table: str, tx: Transaction, plan: SchemaPlan) -> None:
    """Stage ``plan`` in ``tx`` (no-op when nothing changes)."""
    if not plan.changes:
        return
    try:
        with tx.update_schema() as update:
            update.union_by_name(plan.target)
    except (ValidationError, ValueError, TypeError) as exc:
        column = plan.nested[0] if plan.nested else [*plan.added, ""][0]
        raise SchemaMismatchError(
            f"table {table}: the load's columns cannot be merged into the Iceberg schema: "
            f"{exc}. Iceberg allows only {ALLOWED}; nothing of this load was written.",
            details={"table": table, "column": column, "reason": str(exc)},
        ) from exc


def check_dlt_columns(table: str, current: Schema, columns: Iterable[Mapping[str, Any]]) -> None:
    """Refuse dlt column hints whose type family differs from the table's column."""
    mismatches: list[Mismatch] = []
    for column in columns:
        wanted = dlt_iceberg_type(column)
        if wanted is None:
            continue
        try:
            existing = current.find_field(column["name"])
        except ValueError:
            continue
        old = existing.field_type
        if not old.is_primitive or family(old) == family(wanted):
            continue
        mismatches.append(Mismatch(column["name"], str(old), str(wanted)))
    raise_mismatches(table, mismatches, where="the load package")
