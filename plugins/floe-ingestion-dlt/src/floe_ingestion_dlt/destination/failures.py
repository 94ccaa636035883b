"""The floe errors the Iceberg destination raises, typed for dlt's loader as well.

A load job that raises a plain exception is retried by dlt's loader up to
``raise_on_max_retries`` times in the same run; one that raises a
``DestinationTerminalException`` stops the loop at once and leaves the package pending (dlt's
default ``raise_on_failed_jobs=True`` queues the job for the next run). The destination already
retries commit conflicts itself, so every floe error it raises from a job is *terminal for dlt*:
the floe runner decides about retrying the run from the floe category (``COMMIT_CONFLICT`` is
``TRANSIENT``), and the next run loads the pending package first.

The exceptions are subclasses of floe's :class:`~floe_core.errors.PermanentError` /
:class:`~floe_core.errors.TransientError`, so the plugin's error mapping finds the floe record
in ``LoadClientJobTerminalRetry.client_exception`` (or ``PipelineStepFailed.exception`` when the
check runs before any job) and uses it as is.
"""

from __future__ import annotations

from typing import Any

from dlt.common.destination.exceptions import DestinationTerminalException

from floe_core.errors import ErrorCode, PermanentError, TransientError

__all__ = [
    "SOURCE",
    "CommitConflictError",
    "DestinationWriteError",
    "SchemaMismatchError",
    "WarehouseAccessDenied",
]

SOURCE = "floe-iceberg-destination"


class SchemaMismatchError(PermanentError, DestinationTerminalException):
    """PERMANENT ``SCHEMA_MISMATCH``: a column's new type cannot be stored in the table."""

    def __init__(self, message: str, *, details: dict[str, Any]) -> None:
        super().__init__(ErrorCode.SCHEMA_MISMATCH, message, source=SOURCE, details=details)


class CommitConflictError(TransientError, DestinationTerminalException):
    """TRANSIENT ``COMMIT_CONFLICT``: other writers kept committing first; rerun later."""

    def __init__(self, message: str, *, details: dict[str, Any]) -> None:
        super().__init__(ErrorCode.COMMIT_CONFLICT, message, source=SOURCE, details=details)


class DestinationWriteError(PermanentError, DestinationTerminalException):
    """PERMANENT ``DESTINATION_ERROR``: data that cannot be written as the table needs it."""

    def __init__(self, message: str, *, details: dict[str, Any] | None = None) -> None:
        super().__init__(ErrorCode.DESTINATION_ERROR, message, source=SOURCE, details=details)


class WarehouseAccessDenied(PermanentError, DestinationTerminalException):
    """PERMANENT ``AUTH_FAILED``: the warehouse storage refused floe's credentials.

    Raised for a ``PermissionError`` from the catalog's FileIO (fsspec/s3fs raise it for a 403);
    retrying with the same credentials cannot succeed, so dlt must not retry the job either.
    """

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.AUTH_FAILED, message, source=SOURCE)
