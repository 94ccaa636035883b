"""A source that fails after its first page: the feed answers garbage."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt


class FeedError(Exception):
    """The feed sent something that is not an event."""


@dlt.resource
def rows(count: int = 10) -> Iterator[list[dict[str, Any]]]:
    yield [{"id": i} for i in range(count)]
    raise FeedError("page 2 of the feed is not JSON")
