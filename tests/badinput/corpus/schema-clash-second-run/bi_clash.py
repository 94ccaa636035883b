"""The same column, first as text, then as a timestamp (Arrow keeps the type as given)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import dlt
import pyarrow as pa


@dlt.resource(name="events")
def seen_as_text() -> Iterator[pa.Table]:
    yield pa.table({"id": [1, 2], "seen": ["yesterday", "today"]})


@dlt.resource(name="events")
def seen_as_timestamp() -> Iterator[pa.Table]:
    seen = pa.array([datetime(2024, 1, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    yield pa.table({"id": [3], "seen": seen})
