"""A shop source with two resources: orders and customers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt


@dlt.source
def shop() -> Any:
    @dlt.resource
    def orders() -> Iterator[dict[str, Any]]:
        yield {"id": 1, "total": 9.5}

    @dlt.resource
    def customers() -> Iterator[dict[str, Any]]:
        yield {"id": 1, "name": "Ada"}

    return orders, customers
