"""Site events: a dlt resource of generated rows (the corpus's well-behaved source)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt


@dlt.resource
def rows(count: int = 10, api_key: str | None = None) -> Iterator[list[dict[str, Any]]]:
    """``count`` events; ``api_key`` is checked only for being there when a case passes one."""
    yield [{"id": i, "kind": "view" if i % 2 else "click"} for i in range(count)]
