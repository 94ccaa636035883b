"""What the source raised -> floe's error taxonomy, by exception type and HTTP status."""

from __future__ import annotations

import pyarrow as pa
import requests

from floe_core.errors import (
    ErrorCategory,
    ErrorCode,
    IngestionError,
    IngestionException,
    classify_exception,
)


def classify(exc: Exception, source: str) -> IngestionError:
    """The IngestionError for an exception raised while reading ``source``."""
    if isinstance(exc, IngestionException):  # the source already speaks floe's taxonomy
        return exc.error
    category, code, retry_after = ErrorCategory.PERMANENT, ErrorCode.SOURCE_ERROR, None
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
        if status in (401, 403):
            code = ErrorCode.AUTH_FAILED
        elif status == 404:
            code = ErrorCode.SOURCE_NOT_FOUND
        elif status == 429:
            category, code = ErrorCategory.TRANSIENT, ErrorCode.RATE_LIMITED
            header = exc.response.headers.get("Retry-After", "")
            retry_after = int(header) if header.isdigit() else None
        elif status >= 500:
            category, code = ErrorCategory.TRANSIENT, ErrorCode.SERVICE_UNAVAILABLE
    elif isinstance(exc, requests.Timeout):
        category, code = ErrorCategory.TRANSIENT, ErrorCode.TIMEOUT
    elif isinstance(exc, requests.ConnectionError):
        category, code = ErrorCategory.TRANSIENT, ErrorCode.NETWORK_ERROR
    elif isinstance(exc, FileNotFoundError):
        code = ErrorCode.SOURCE_NOT_FOUND
    elif not isinstance(exc, pa.ArrowInvalid | UnicodeDecodeError):
        return classify_exception(exc, source=source)
    return IngestionError(
        category,
        code,
        f"reading {source} failed: {type(exc).__name__}: {exc}",
        source,
        retry_after_seconds=retry_after,
        details={"exception_type": type(exc).__name__},
    )
