"""The ingestion error taxonomy (ADR-0020, ADR-0025).

Two things live here, deliberately apart:

* :class:`IngestionError` is the *record*: a frozen dataclass with the ADR's fields
  (category, code, message, source, retryable, retry_after_seconds, failed_records, details).
  It travels in :class:`~floe_core.result.IngestionResult`, in OpenLineage facets and in logs.
* :class:`IngestionException` and its four subclasses are the *exceptions* a plugin raises
  to carry such a record. The class decides the category, so ``raise TransientError(...)``
  can never produce a non-retryable record.

Codes form a closed list (:class:`ErrorCode`); each code has a usual category, documented in
:data:`CODE_CATEGORIES`. A plugin may file a code under another category when it knows better
(for example ``TIMEOUT`` during a partially committed load is ``PARTIAL``), but it cannot invent
codes: unknown codes are rejected when the record is built.

Anything that is not an :class:`IngestionException` becomes, through :func:`classify_exception`,
a ``PERMANENT``/``UNKNOWN`` record that keeps the original type and message, except the
standard library's own ``TimeoutError`` and ``ConnectionError`` families, which are transient by
type.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

__all__ = [
    "CODE_CATEGORIES",
    "ConfigurationError",
    "ErrorCategory",
    "ErrorCode",
    "IngestionError",
    "IngestionException",
    "PartialError",
    "PermanentError",
    "TransientError",
    "classify_exception",
]


class ErrorCategory(StrEnum):
    """How an error behaves with respect to retrying (ADR-0020, "Error Categories")."""

    TRANSIENT = "TRANSIENT"
    """Temporary failure (rate limit, network, commit conflict): safe to retry."""
    PERMANENT = "PERMANENT"
    """Unrecoverable without a change somewhere (credentials, missing table): never retried."""
    PARTIAL = "PARTIAL"
    """Some records failed or only part of the data was committed: retried only if configured."""
    CONFIGURATION = "CONFIGURATION"
    """floe or the plugin is misconfigured (bad setting, missing secret): never retried."""

    @property
    def retryable(self) -> bool:
        """Whether an error of this category is, by itself, safe to retry.

        Only ``TRANSIENT`` is. ``PARTIAL`` errors are retried only when a retry policy lists
        ``PARTIAL`` in its ``retryable_categories``; the record still says ``retryable=False``.
        """
        return self is ErrorCategory.TRANSIENT


class ErrorCode(StrEnum):
    """The closed list of error codes. See :data:`CODE_CATEGORIES` for each one's category."""

    # TRANSIENT
    RATE_LIMITED = "RATE_LIMITED"
    NETWORK_ERROR = "NETWORK_ERROR"
    TIMEOUT = "TIMEOUT"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    COMMIT_CONFLICT = "COMMIT_CONFLICT"
    CATALOG_UNAVAILABLE = "CATALOG_UNAVAILABLE"
    SYNC_FAILED_TRANSIENT = "SYNC_FAILED_TRANSIENT"
    # PERMANENT
    AUTH_FAILED = "AUTH_FAILED"
    SOURCE_NOT_FOUND = "SOURCE_NOT_FOUND"
    SOURCE_ERROR = "SOURCE_ERROR"
    SCHEMA_MISMATCH = "SCHEMA_MISMATCH"
    SCHEMA_CORRUPTION = "SCHEMA_CORRUPTION"
    SYNC_CANCELLED = "SYNC_CANCELLED"
    SYNC_FAILED = "SYNC_FAILED"
    DESTINATION_ERROR = "DESTINATION_ERROR"
    RUN_CANCELLED = "RUN_CANCELLED"
    UNKNOWN = "UNKNOWN"
    # PARTIAL
    PARTIAL_LOAD = "PARTIAL_LOAD"
    PARTIAL_SYNC = "PARTIAL_SYNC"
    # CONFIGURATION
    INVALID_CONFIG = "INVALID_CONFIG"
    DESTINATION_CONFIG_ERROR = "DESTINATION_CONFIG_ERROR"
    SECRET_MISSING = "SECRET_MISSING"
    PLUGIN_NOT_FOUND = "PLUGIN_NOT_FOUND"
    PLUGIN_LOAD_FAILED = "PLUGIN_LOAD_FAILED"
    PLUGIN_INCOMPATIBLE = "PLUGIN_INCOMPATIBLE"
    CONNECTION_NOT_FOUND = "CONNECTION_NOT_FOUND"


_T, _P, _X, _C = (
    ErrorCategory.TRANSIENT,
    ErrorCategory.PERMANENT,
    ErrorCategory.PARTIAL,
    ErrorCategory.CONFIGURATION,
)

CODE_CATEGORIES: Mapping[ErrorCode, tuple[ErrorCategory, str]] = {
    ErrorCode.RATE_LIMITED: (_T, "The source or service rate-limited the request; retry later."),
    ErrorCode.NETWORK_ERROR: (_T, "A connection could not be made or was reset."),
    ErrorCode.TIMEOUT: (_T, "A request or a sync did not finish in the allowed time."),
    ErrorCode.SERVICE_UNAVAILABLE: (_T, "The remote service answered 5xx or is starting up."),
    ErrorCode.COMMIT_CONFLICT: (_T, "Another writer committed to the Iceberg table first."),
    ErrorCode.CATALOG_UNAVAILABLE: (_T, "The Iceberg catalog could not be reached."),
    ErrorCode.SYNC_FAILED_TRANSIENT: (_T, "An external sync failed with a retryable cause."),
    ErrorCode.AUTH_FAILED: (_P, "Credentials were refused (401/403); fix the secret."),
    ErrorCode.SOURCE_NOT_FOUND: (_P, "The source, resource or endpoint does not exist."),
    ErrorCode.SOURCE_ERROR: (_P, "The source raised an error while producing data."),
    ErrorCode.SCHEMA_MISMATCH: (_P, "Incoming data has a type the table cannot take."),
    ErrorCode.SCHEMA_CORRUPTION: (_P, "A stored schema is unreadable or inconsistent."),
    ErrorCode.SYNC_CANCELLED: (_P, "The external sync was cancelled."),
    ErrorCode.SYNC_FAILED: (_P, "The external sync failed and says it is not retryable."),
    ErrorCode.DESTINATION_ERROR: (_P, "Writing to the Iceberg destination failed."),
    ErrorCode.RUN_CANCELLED: (_P, "The caller interrupted the run (Ctrl-C, orchestrator stop)."),
    ErrorCode.UNKNOWN: (_P, "An unclassified exception; its type and message are kept."),
    ErrorCode.PARTIAL_LOAD: (_X, "Part of a load was committed and part failed."),
    ErrorCode.PARTIAL_SYNC: (_X, "An external sync committed some records and then failed."),
    ErrorCode.INVALID_CONFIG: (_C, "A pipeline or plugin setting is invalid."),
    ErrorCode.DESTINATION_CONFIG_ERROR: (
        _C,
        "The Iceberg destination or catalog is misconfigured.",
    ),
    ErrorCode.SECRET_MISSING: (_C, "A secret reference could not be resolved or is empty."),
    ErrorCode.PLUGIN_NOT_FOUND: (_C, "No installed ingestion plugin has that name."),
    ErrorCode.PLUGIN_LOAD_FAILED: (_C, "The plugin is installed but failed to import or load."),
    ErrorCode.PLUGIN_INCOMPATIBLE: (_C, "The plugin does not satisfy floe's plugin contract."),
    ErrorCode.CONNECTION_NOT_FOUND: (_C, "The external connection does not exist or is unusable."),
}
"""Every code with its usual category and what it means (the documented, closed list)."""


@dataclass(frozen=True)
class IngestionError:
    """Structured error from an ingestion plugin (ADR-0020, "Error Response Format").

    ``retryable`` follows from ``category`` and may be omitted; passing a value that
    contradicts the category is a programming error and raises :class:`ValueError`.
    ``category`` and ``code`` accept their enum or its string value.
    """

    category: ErrorCategory
    code: ErrorCode
    message: str
    source: str
    retryable: bool = None  # type: ignore[assignment]  # filled from category in __post_init__
    retry_after_seconds: int | None = None
    failed_records: int | None = None
    details: dict[str, Any] | None = field(default=None)

    def __post_init__(self) -> None:
        category = ErrorCategory(self.category)
        try:
            code = ErrorCode(self.code)
        except ValueError:
            raise ValueError(
                f"unknown ingestion error code {self.code!r}; use one of "
                f"{', '.join(c.value for c in ErrorCode)} (floe_core.errors.ErrorCode)"
            ) from None
        object.__setattr__(self, "category", category)
        object.__setattr__(self, "code", code)
        if self.retryable is None:
            object.__setattr__(self, "retryable", category.retryable)
        elif self.retryable != category.retryable:
            raise ValueError(
                f"retryable={self.retryable} contradicts category {category.value}; "
                "leave retryable out, it follows from the category"
            )
        if self.retry_after_seconds is not None and self.retry_after_seconds < 0:
            raise ValueError("retry_after_seconds must be >= 0")
        if self.failed_records is not None and self.failed_records < 0:
            raise ValueError("failed_records must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict with the ADR's field names (enums as strings)."""
        data = dataclasses.asdict(self)
        data["category"] = self.category.value
        data["code"] = self.code.value
        return data

    def replace(self, **changes: Any) -> IngestionError:
        """A copy with some fields changed (records are immutable)."""
        return dataclasses.replace(self, **changes)

    def __str__(self) -> str:
        return f"{self.category.value}/{self.code.value} from {self.source}: {self.message}"


class IngestionException(Exception):
    """Base of the exceptions that carry an :class:`IngestionError`.

    Subclasses fix ``category``; raise one of them, not this class. The record is in
    :attr:`error`; ``str(exc)`` is its message. The original exception, if any, should be
    chained with ``raise ... from exc``.
    """

    category: ClassVar[ErrorCategory]

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        *,
        source: str = "floe",
        retry_after_seconds: int | None = None,
        failed_records: int | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        if type(self) is IngestionException:
            raise TypeError(
                "raise TransientError, PermanentError, PartialError or ConfigurationError"
            )
        self.error = IngestionError(
            category=self.category,
            code=ErrorCode(code),
            message=message,
            source=source,
            retry_after_seconds=retry_after_seconds,
            failed_records=failed_records,
            details=details,
        )
        super().__init__(message)

    @classmethod
    def from_error(cls, error: IngestionError) -> IngestionException:
        """The exception class that matches ``error.category``, carrying ``error`` as is."""
        exc_type = _EXCEPTION_BY_CATEGORY[error.category]
        exc = exc_type.__new__(exc_type)
        exc.error = error
        Exception.__init__(exc, error.message)
        return exc

    @property
    def code(self) -> ErrorCode:
        return self.error.code

    @property
    def retryable(self) -> bool:
        return self.error.retryable


class TransientError(IngestionException):
    """A temporary failure: the runner retries it with backoff."""

    category = ErrorCategory.TRANSIENT


class PermanentError(IngestionException):
    """An unrecoverable failure: never retried."""

    category = ErrorCategory.PERMANENT


class PartialError(IngestionException):
    """Part of the data was committed; ``failed_records`` says how much failed where known."""

    category = ErrorCategory.PARTIAL


class ConfigurationError(IngestionException):
    """floe, the project files or the plugin are misconfigured: never retried."""

    category = ErrorCategory.CONFIGURATION


_EXCEPTION_BY_CATEGORY: dict[ErrorCategory, type[IngestionException]] = {
    ErrorCategory.TRANSIENT: TransientError,
    ErrorCategory.PERMANENT: PermanentError,
    ErrorCategory.PARTIAL: PartialError,
    ErrorCategory.CONFIGURATION: ConfigurationError,
}


def classify_exception(exc: BaseException, *, source: str = "floe") -> IngestionError:
    """Turn any exception into an :class:`IngestionError` record.

    * an :class:`IngestionException` gives its own record;
    * ``TimeoutError`` gives ``TRANSIENT``/``TIMEOUT`` and ``ConnectionError`` gives
      ``TRANSIENT``/``NETWORK_ERROR`` (classified by type, never by message text);
    * anything else gives ``PERMANENT``/``UNKNOWN`` keeping the type and message in
      ``details`` (``exception_type``, ``exception_message``).
    """
    if isinstance(exc, IngestionException):
        return exc.error
    exception_type = f"{type(exc).__module__}.{type(exc).__qualname__}"
    details = {"exception_type": exception_type, "exception_message": str(exc)}
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if isinstance(exc, TimeoutError):
        return IngestionError(_T, ErrorCode.TIMEOUT, f"timed out: {text}", source, details=details)
    if isinstance(exc, ConnectionError):
        return IngestionError(
            _T, ErrorCode.NETWORK_ERROR, f"connection failed: {text}", source, details=details
        )
    return IngestionError(
        _P, ErrorCode.UNKNOWN, f"unclassified error: {text}", source, details=details
    )
