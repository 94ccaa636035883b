"""Turning dlt's parquet files into Iceberg data files, writing the data once.

dlt's normaliser already writes each table's rows as parquet. When such a file's columns are
exactly what the table stores (same names, types Iceberg reads as is: microsecond timestamps in
UTC, signed integers...), :func:`add_file` *places* it in the table's data location (a hard
link on the same local filesystem, otherwise a byte copy through the table's FileIO) and
registers it with pyiceberg's ``parquet_file_to_data_file``, which reads only the footer. Such
files carry no Iceberg field ids: the table's ``schema.name-mapping.default`` property (set by
the committer) maps their columns by name.

A file that does not fit (nanoseconds, another time zone, unsigned integers, a type narrower
than the table's that Iceberg cannot promote...) is streamed batch by batch, cast to the table's
types and written by pyiceberg's writer (:func:`write_batches`): bounded memory, one rewrite.

Placed files are named ``floe-<load id>-<dlt file name>``, so a retried commit of the same load
reuses them instead of leaving copies behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.io import FileIO
from pyiceberg.io.pyarrow import (
    _dataframe_to_data_files,  # the writer behind Table.append, without its own snapshot
    parquet_file_to_data_file,
    schema_to_pyarrow,
)
from pyiceberg.manifest import DataFile
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.table.metadata import TableMetadata

from floe_ingestion_dlt.destination.types import iceberg_arrow_type, iceberg_type, widening

__all__ = [
    "add_file",
    "conform",
    "fits_table",
    "placed_name",
    "table_arrow_schema",
    "write_batches",
    "write_table",
]

_COPY_CHUNK = 8 * 1024 * 1024


def placed_name(load_id: str, source_path: str) -> str:
    """Deterministic data file name of a placed dlt file."""
    return f"floe-{load_id}-{os.path.basename(source_path)}"


def _local_path(location: str) -> str | None:
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        return parsed.path if parsed.scheme else location
    return None


def _place(io: FileIO, source: str, target: str) -> None:
    local = _local_path(target)
    if local is None:
        with open(source, "rb") as reader, io.new_output(target).create(overwrite=True) as out:
            shutil.copyfileobj(reader, out, _COPY_CHUNK)
        return
    os.makedirs(os.path.dirname(local), exist_ok=True)
    if os.path.exists(local):
        if os.path.samefile(source, local):
            return
        os.remove(local)
    try:
        os.link(source, local)
    except OSError:
        temporary = f"{local}.{uuid.uuid4().hex}.tmp"
        shutil.copyfile(source, temporary)
        os.replace(temporary, local)


def _remove(io: FileIO, location: str) -> None:
    with contextlib.suppress(FileNotFoundError, OSError):
        io.delete(location)


def _as_stored(arrow_type: pa.DataType) -> pa.DataType:
    """The type pyiceberg reads without conversion: large variants are plain ones."""
    if pa.types.is_large_string(arrow_type):
        return pa.string()
    if pa.types.is_large_binary(arrow_type):
        return pa.binary()
    return arrow_type


def fits_table(file_schema: pa.Schema, table_schema: Schema) -> bool:
    """Whether a parquet file with ``file_schema`` can be registered in the table as is.

    True when every column exists in the table with the same type, or a narrower one that
    Iceberg reads as the table's type (``int`` as ``long``, ``float`` as ``double``, a decimal
    of smaller precision), and no value needs converting (no nanoseconds, no time zone other
    than UTC, no unsigned or dictionary columns).
    """
    stored = table_arrow_schema(table_schema)
    for arrow_field in file_schema:
        index = stored.get_field_index(arrow_field.name)
        if index < 0:
            return False
        file_type = _as_stored(arrow_field.type)
        stored_type = stored.field(index).type
        if iceberg_arrow_type(file_type) != file_type:
            return False
        if pa.types.is_nested(file_type) or pa.types.is_timestamp(file_type):
            if file_type != stored_type:
                return False
            continue
        have, wanted = iceberg_type(file_type), iceberg_type(stored_type)
        if have is None or wanted is None or not (have == wanted or widening(have, wanted)):
            return False
    return True


def add_file(table: Table, metadata: TableMetadata, source: str, load_id: str) -> DataFile | None:
    """Place ``source`` in the table's data location and describe it, or ``None`` if it misfits.

    ``metadata`` is the transaction's view of the table (schema already evolved).
    """
    target = table.location_provider().new_data_location(placed_name(load_id, source))
    _place(table.io, source, target)
    try:
        return parquet_file_to_data_file(table.io, metadata, target)
    except (ValueError, TypeError):
        _remove(table.io, target)
        return None


def table_arrow_schema(table_schema: Schema) -> pa.Schema:
    """The table's schema as Arrow, without field ids (the shape :func:`conform` produces)."""
    return schema_to_pyarrow(table_schema, include_field_ids=False)


def conform(batch: pa.RecordBatch | pa.Table, stored: pa.Schema) -> pa.Table:
    """Cast ``batch``'s columns to the stored types, by name (extra columns are an error)."""
    table = batch if isinstance(batch, pa.Table) else pa.Table.from_batches([batch])
    columns: list[pa.ChunkedArray] = []
    fields: list[pa.Field] = []
    for name in table.column_names:
        target = stored.field(name)
        column = table.column(name)
        if column.type != target.type:
            column = pc.cast(
                column,
                options=pc.CastOptions(
                    target_type=target.type, allow_time_truncate=True, allow_time_overflow=False
                ),
            )
        columns.append(column)
        fields.append(pa.field(name, target.type, nullable=True))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _conformed_batches(paths: Iterable[str], stored: pa.Schema) -> Iterator[pa.RecordBatch]:
    for path in paths:
        with pq.ParquetFile(path) as parquet:
            for batch in parquet.iter_batches(batch_size=65536):
                yield from conform(batch, stored).to_batches()


def write_batches(
    table: Table, metadata: TableMetadata, paths: list[str], stored: pa.Schema
) -> list[DataFile]:
    """Rewrite the rows of ``paths`` into data files of the table (streaming, cast per batch).

    Columns a file lacks are written as nulls; ``stored`` is :func:`table_arrow_schema` of the
    transaction's schema.
    """
    if not paths:
        return []
    names: set[str] = set()
    for path in paths:
        names.update(pq.read_schema(path).names)
    projection = pa.schema([f for f in stored if f.name in names])

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in _conformed_batches(paths, stored):
            data = pa.Table.from_batches([batch])
            for column in projection:
                if column.name not in data.column_names:
                    data = data.append_column(column, pa.nulls(data.num_rows, column.type))
            yield from data.select(projection.names).to_batches()

    reader = pa.RecordBatchReader.from_batches(projection, batches())
    return list(_dataframe_to_data_files(table_metadata=metadata, df=reader, io=table.io))


def write_table(table: Table, metadata: TableMetadata, data: pa.Table) -> list[DataFile]:
    """Write an in-memory Arrow table (already conformed) as data files of the table."""
    if data.num_rows == 0:
        return []
    return list(_dataframe_to_data_files(table_metadata=metadata, df=data, io=table.io))
