"""`IncrementalConfig` -> ``dlt.sources.incremental`` on the selected resources.

``cursor_column`` becomes the cursor path, ``initial_value`` where the first run starts,
``end_value`` the (exclusive) end of a backfill and ``lag`` how far behind the last run's
high-water mark a run starts again (seconds for date/time cursors, cursor units for numbers).
The range starts *closed*: rows at the high-water mark are read again and dlt drops those it
already loaded (by primary key, else by row hash), so a row committed in the same second as the
last run's maximum is never lost.

The values are passed as they are: they must have the cursor column's type. In YAML an
unquoted ``2024-01-01T00:00:00Z`` is already a timestamp; a quoted one is a string, which only
suits a string cursor. A mismatch fails the run as ``CONFIGURATION``/``INVALID_CONFIG``.

For ``rest_api`` the cursor goes into each selected endpoint's ``incremental`` config instead
(:func:`rest_api_incremental`): dlt's REST client binds a resource-level cursor to request
parameters and breaks when one is injected from outside. Without ``start_param`` the filter is
client-side; add ``start_param`` (and ``end_param``) to the endpoint's own ``incremental`` in
the REST API config to send the cursor to the server: floe keeps those keys.

The cursor's state lives in the dlt pipeline state, which the Iceberg destination commits with
the data and :func:`floe_ingestion_dlt.destination.restore_state` brings back in a fresh
working directory: a new pod loads only new rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from floe_core.config import IncrementalConfig

if TYPE_CHECKING:
    from dlt.extract.resource import DltResource

__all__ = ["apply_incremental", "build_incremental", "rest_api_incremental"]


def build_incremental(config: IncrementalConfig) -> Any:
    """A fresh ``dlt.sources.incremental`` for ``config`` (one per resource: it holds state)."""
    import dlt

    return dlt.sources.incremental(
        config.cursor_column,
        initial_value=config.initial_value,
        end_value=config.end_value,
        lag=config.lag,
        range_start="closed",
    )


def apply_incremental(resources: Iterable[DltResource], config: IncrementalConfig | None) -> None:
    """Put ``config``'s cursor on every resource in ``resources`` (no-op for ``None``).

    A cursor floe sets replaces one the source declared itself (for example in a ``rest_api``
    endpoint): the pipeline's ``incremental`` block is the source of truth when present.
    """
    if config is None:
        return
    for resource in resources:
        resource.apply_hints(incremental=build_incremental(config))


def rest_api_incremental(
    config: IncrementalConfig, existing: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The ``endpoint.incremental`` block of dlt's REST API config for ``config``.

    Keys of ``existing`` that floe does not set (``start_param``, ``end_param``, ``convert``)
    are kept; the cursor, bounds and lag are floe's.
    """
    block = dict(existing or {})
    block.update(cursor_path=config.cursor_column, range_start="closed")
    for key in ("initial_value", "end_value", "lag"):
        value = getattr(config, key)
        if value is not None:
            block[key] = value
        else:
            block.pop(key, None)
    return block
