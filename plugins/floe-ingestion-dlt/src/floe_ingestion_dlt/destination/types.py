"""Type rules between dlt, Arrow/Parquet and Iceberg.

* :func:`iceberg_arrow_type` turns any Arrow type into the Arrow type Iceberg stores for it
  (microsecond timestamps, UTC as the only time zone, signed integers, no dictionaries, no
  large/view variants). Tables are created from such schemas, with every column optional.
* :func:`iceberg_type` gives the Iceberg primitive type of such an Arrow type (``None`` for
  nested types, which pyiceberg's ``union_by_name`` evolves).
* :func:`dlt_iceberg_type` gives the Iceberg type a dlt column hint describes; the load step
  uses it to refuse an incompatible change before any job runs.
* :func:`widening` says whether Iceberg allows changing a column from one type to another:
  ``int -> long``, ``float -> double``, ``decimal(P, S) -> decimal(P', S)`` with ``P' > P``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyarrow as pa
from pyiceberg.types import (
    BinaryType,
    BooleanType,
    DateType,
    DecimalType,
    DoubleType,
    FixedType,
    FloatType,
    IcebergType,
    IntegerType,
    LongType,
    StringType,
    TimestampType,
    TimestamptzType,
    TimeType,
)

__all__ = [
    "UTC_ZONES",
    "dlt_iceberg_type",
    "family",
    "iceberg_arrow_schema",
    "iceberg_arrow_type",
    "iceberg_type",
    "widening",
]

UTC_ZONES = frozenset({"UTC", "utc", "+00:00", "Etc/UTC", "Z", "GMT"})


def iceberg_arrow_type(arrow_type: pa.DataType) -> pa.DataType:
    """The Arrow type Iceberg stores for ``arrow_type`` (values cast to it keep their meaning)."""
    t = arrow_type
    if pa.types.is_dictionary(t):
        return iceberg_arrow_type(t.value_type)
    if pa.types.is_timestamp(t):
        return pa.timestamp("us", tz=None if t.tz is None else "UTC")
    if pa.types.is_large_string(t) or pa.types.is_string_view(t) or pa.types.is_null(t):
        return pa.string()
    if pa.types.is_large_binary(t) or pa.types.is_binary_view(t):
        return pa.binary()
    if t in (pa.int8(), pa.int16(), pa.uint8(), pa.uint16()):
        return pa.int32()
    if t in (pa.uint32(), pa.uint64()):
        return pa.int64()
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_time(t):
        return pa.time64("us")
    if pa.types.is_decimal256(t) and t.precision <= 38:
        return pa.decimal128(t.precision, t.scale)
    if pa.types.is_struct(t):
        return pa.struct([pa.field(f.name, iceberg_arrow_type(f.type), nullable=True) for f in t])
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return pa.list_(pa.field("element", iceberg_arrow_type(t.value_type), nullable=True))
    if pa.types.is_map(t):
        return pa.map_(iceberg_arrow_type(t.key_type), iceberg_arrow_type(t.item_type))
    return t


def iceberg_arrow_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with Iceberg-storable types, every field optional and no metadata."""
    return pa.schema([pa.field(f.name, iceberg_arrow_type(f.type), nullable=True) for f in schema])


_PRIMITIVES: Mapping[pa.DataType, IcebergType] = {
    pa.bool_(): BooleanType(),
    pa.int32(): IntegerType(),
    pa.int64(): LongType(),
    pa.float32(): FloatType(),
    pa.float64(): DoubleType(),
    pa.date32(): DateType(),
    pa.time64("us"): TimeType(),
    pa.timestamp("us"): TimestampType(),
    pa.timestamp("us", tz="UTC"): TimestamptzType(),
    pa.string(): StringType(),
    pa.binary(): BinaryType(),
}


def iceberg_type(arrow_type: pa.DataType) -> IcebergType | None:
    """Iceberg primitive type of an Arrow type, after :func:`iceberg_arrow_type`.

    ``None`` for nested types (struct, list, map) and for types Iceberg cannot store.
    """
    t = iceberg_arrow_type(arrow_type)
    if pa.types.is_decimal128(t):
        return DecimalType(t.precision, t.scale)
    if pa.types.is_fixed_size_binary(t):
        return FixedType(t.byte_width)
    return _PRIMITIVES.get(t)


def dlt_iceberg_type(column: Mapping[str, Any]) -> IcebergType | None:
    """The Iceberg type a dlt column schema asks for; ``None`` for json and unknown types."""
    data_type = column.get("data_type")
    precision = column.get("precision")
    if data_type == "text":
        return StringType()
    if data_type == "bigint":
        return IntegerType() if precision is not None and precision <= 32 else LongType()
    if data_type == "double":
        return DoubleType()
    if data_type == "bool":
        return BooleanType()
    if data_type == "date":
        return DateType()
    if data_type == "time":
        return TimeType()
    if data_type == "timestamp":
        return TimestampType() if column.get("timezone") is False else TimestamptzType()
    if data_type == "binary":
        return BinaryType()
    if data_type in ("decimal", "wei"):
        return DecimalType(precision or 38, column.get("scale") or 0)
    return None


_FAMILIES: tuple[tuple[str, tuple[type[IcebergType], ...]], ...] = (
    ("string", (StringType,)),
    ("integer", (IntegerType, LongType)),
    ("floating", (FloatType, DoubleType)),
    ("decimal", (DecimalType,)),
    ("boolean", (BooleanType,)),
    ("date", (DateType,)),
    ("time", (TimeType,)),
    ("timestamp", (TimestampType, TimestamptzType)),
    ("binary", (BinaryType, FixedType)),
)


def family(iceberg: IcebergType) -> str:
    """Coarse kind of a type: types of one family convert without losing meaning."""
    for name, kinds in _FAMILIES:
        if isinstance(iceberg, kinds):
            return name
    return "nested" if not iceberg.is_primitive else str(iceberg)


def widening(old: IcebergType, new: IcebergType) -> bool:
    """Whether Iceberg schema evolution may change a column from ``old`` to ``new``."""
    if isinstance(old, IntegerType) and isinstance(new, LongType):
        return True
    if isinstance(old, FloatType) and isinstance(new, DoubleType):
        return True
    return (
        isinstance(old, DecimalType)
        and isinstance(new, DecimalType)
        and old.scale == new.scale
        and new.precision > old.precision
    )
