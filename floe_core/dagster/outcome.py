"""How a failed :class:`~floe_core.result.IngestionResult` ends a Dagster step.

* ``TRANSIENT`` (the runner's own retries did not cure it): ``dagster.RetryRequested``, waiting
  ``retry_after_seconds`` when the error gives one, else the retry policy's initial delay;
  ``max_retries`` is the policy's ``max_attempts``. The request carries, as its ``__cause__``,
  the ``dagster.Failure`` described below, so once Dagster's retries are spent the step fails
  with the same structured metadata as a permanent error.
* ``PERMANENT`` and ``CONFIGURATION``: ``dagster.Failure`` at once, retries disallowed, with the
  structured error as failure metadata.
* ``PARTIAL``: the tables that were committed are reported as materialised first (their rows
  are in Iceberg), then the step fails with ``dagster.Failure`` whose metadata says what was
  committed and how many records failed. A partial load is a failure to look at, not a success.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from floe_core.errors import ErrorCategory, ErrorCode, IngestionError
from floe_core.result import IngestionResult
from floe_core.retry import RetryPolicy

__all__ = ["dagster_failure_for", "error_metadata"]


def error_metadata(result: IngestionResult) -> dict[str, Any]:
    """The failure metadata Dagster shows: the error record plus what was committed."""
    error = result.error
    metadata: dict[str, Any] = {
        "floe/pipeline": result.pipeline or "",
        "floe/attempts": result.attempts,
        "floe/rows_loaded": result.rows_loaded,
        "floe/tables_committed": dg.MetadataValue.json(
            {table.identifier: table.rows for table in result.tables}
        ),
    }
    if error is not None:
        metadata.update(
            {
                "floe/error_category": error.category.value,
                "floe/error_code": error.code.value,
                "floe/error_retryable": error.retryable,
                "floe/error": dg.MetadataValue.json(error.to_dict()),
            }
        )
        if error.retry_after_seconds is not None:
            metadata["floe/retry_after_seconds"] = error.retry_after_seconds
        if error.failed_records is not None:
            metadata["floe/failed_records"] = error.failed_records
    return metadata


def dagster_failure_for(
    result: IngestionResult, retry: RetryPolicy | None = None
) -> dg.Failure | dg.RetryRequested:
    """The exception to raise for a failed result (see the module docstring)."""
    error = result.error
    if error is None:  # the runner never returns this; a hand-made runner might
        source = result.pipeline or "floe"
        error = IngestionError(ErrorCategory.PERMANENT, ErrorCode.UNKNOWN, "run failed", source)
        result = result.replace(error=error)
    policy = retry or RetryPolicy()
    failure = dg.Failure(
        description=f"{error.category.value}/{error.code.value}: {error.message}",
        metadata=error_metadata(result),
        allow_retries=False,
    )
    if error.category is not ErrorCategory.TRANSIENT:
        return failure
    wait = error.retry_after_seconds
    if wait is None:
        wait = int(policy.initial_delay_seconds)
    request = dg.RetryRequested(
        max_retries=policy.max_attempts, seconds_to_wait=min(wait, policy.max_delay_seconds)
    )
    # Dagster reports the cause's metadata when the retries are spent (and shows its message).
    request.__cause__ = failure
    return request
