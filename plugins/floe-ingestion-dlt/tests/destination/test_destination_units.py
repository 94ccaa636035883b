"""The destination's pure building blocks: naming, summary codec, dedup, type rules."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pyarrow as pa
import pytest
from pyiceberg.schema import Schema
from pyiceberg.types import (
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

from floe_ingestion_dlt.destination import KILL_ENV
from floe_ingestion_dlt.destination.datafiles import fits_table
from floe_ingestion_dlt.destination.merge import SortRule, deduplicate, key_table, matching_mask
from floe_ingestion_dlt.destination.naming import TableNaming, parse_namespace
from floe_ingestion_dlt.destination.summary import decode_json, encode_json, pack, unpack
from floe_ingestion_dlt.destination.types import dlt_iceberg_type, iceberg_arrow_type, widening


def test_namespaces_and_table_names() -> None:
    assert parse_namespace("raw.shop") == ("raw", "shop")
    assert parse_namespace(("raw",)) == ("raw",)
    with pytest.raises(ValueError, match="invalid Iceberg namespace"):
        parse_namespace("raw..shop")
    naming = TableNaming(("raw",), {"orders": "shop_orders"})
    assert naming.dotted("orders") == "raw.shop_orders"
    assert naming.dotted("orders__lines") == "raw.shop_orders__lines"
    assert naming.dotted("customers") == "raw.customers"


def test_summary_values_are_compact_and_compressed_when_long() -> None:
    assert encode_json(["b", "a"]) == '["b","a"]'
    assert decode_json(encode_json({"x": [1, 2]})) == {"x": [1, 2]}
    long = "state " * 1000
    packed = pack(long)
    assert packed.startswith("z:")
    assert len(packed) < len(long) / 10
    assert unpack(packed) == long


def test_deduplicate_picks_the_winner_and_keeps_order() -> None:
    table = pa.table({"k": [1, 2, 1, 3, 2], "v": [10, 20, 11, 30, 19], "s": [5, 1, 2, 0, 3]})
    assert deduplicate(table, ["k"], None).to_pydict() == {
        "k": [1, 3, 2],
        "v": [11, 30, 19],
        "s": [2, 0, 3],
    }
    assert deduplicate(table, ["k"], SortRule("s")).column("v").to_pylist() == [10, 30, 19]
    assert deduplicate(table, ["k"], SortRule("s", descending=False)).column("v").to_pylist() == [
        20,
        11,
        30,
    ]
    unique = pa.table({"k": [1, 2]})
    assert deduplicate(unique, ["k"], None) is unique  # nothing to do: same object
    pairs = pa.table({"a": [1, 1, 1], "b": ["x", "y", "x"], "v": [1, 2, 3]})
    assert deduplicate(pairs, ["a", "b"], None).column("v").to_pylist() == [2, 3]


def test_matching_mask_joins_on_all_key_columns() -> None:
    existing = pa.table(
        {"a": pa.array([1, 1, 2], pa.int32()), "b": ["x", "y", "x"], "payload": [[1], [2], [3]]}
    )
    keys = key_table(pa.table({"a": [1, 2], "b": ["y", "z"]}), ["a", "b"])
    assert matching_mask(existing, keys).to_pylist() == [False, True, False]


def _schema(*fields: tuple[str, object]) -> Schema:
    return Schema(
        *(NestedField(i + 1, name, kind, required=False) for i, (name, kind) in enumerate(fields))  # type: ignore[arg-type]
    )


def test_files_fit_a_table_only_when_no_value_needs_converting() -> None:
    table = _schema(("id", LongType()), ("at", TimestamptzType()), ("x", DoubleType()))
    assert fits_table(
        pa.schema([("id", pa.int32()), ("at", pa.timestamp("us", "UTC")), ("x", pa.float32())]),
        table,
    )
    assert fits_table(pa.schema([("id", pa.int64())]), table)  # missing columns read as null
    assert not fits_table(pa.schema([("at", pa.timestamp("ns", "UTC"))]), table)
    assert not fits_table(pa.schema([("at", pa.timestamp("us", "Europe/Paris"))]), table)
    assert not fits_table(pa.schema([("at", pa.timestamp("us"))]), table)
    assert not fits_table(pa.schema([("id", pa.uint32())]), table)
    assert not fits_table(pa.schema([("id", pa.string())]), table)
    assert not fits_table(pa.schema([("other", pa.int64())]), table)


def test_type_rules() -> None:
    assert iceberg_arrow_type(pa.timestamp("ns", "America/New_York")) == pa.timestamp("us", "UTC")
    assert iceberg_arrow_type(pa.dictionary(pa.int8(), pa.large_string())) == pa.string()
    assert iceberg_arrow_type(pa.uint64()) == pa.int64()
    assert widening(IntegerType(), LongType())
    assert widening(FloatType(), DoubleType())
    assert widening(DecimalType(10, 2), DecimalType(20, 2))
    assert not widening(DecimalType(10, 2), DecimalType(20, 3))
    assert not widening(LongType(), IntegerType())
    assert not widening(LongType(), DoubleType())
    assert dlt_iceberg_type({"data_type": "bigint", "precision": 32}) == IntegerType()
    assert dlt_iceberg_type({"data_type": "text"}) == StringType()
    assert dlt_iceberg_type({"data_type": "json"}) is None


@pytest.mark.parametrize(("spec", "killed"), [("here", True), ("elsewhere,other", False)])
def test_kill_points_kill_only_when_named(spec: str, killed: bool) -> None:
    code = (
        "from floe_ingestion_dlt.destination.killpoints import checkpoint\n"
        "checkpoint('here')\n"
        "print('survived')\n"
    )
    env = {**os.environ, KILL_ENV: spec}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert (done.returncode == -signal.SIGKILL) is killed
    assert ("survived" in done.stdout) is not killed
