"""dlt and source-library exceptions -> floe's error taxonomy (ADR-0020, "dlt Error Mapping").

:func:`map_exception` turns whatever a dlt run raised into an
:class:`~floe_core.errors.IngestionError`. It classifies by exception *type*, HTTP status and
SQLSTATE, never by message text:

1. Walk the causal chain from the outermost exception inwards: ``PipelineStepFailed.exception``,
   ``LoadClientJob*.client_exception``, ``LoadPackageAborted.job_exception`` and ``__cause__``
   (``ResourceExtractionError`` chains the source's own exception there).
2. A floe :class:`~floe_core.errors.IngestionException` anywhere in the chain wins as is: the
   Iceberg destination raises ``SCHEMA_MISMATCH`` and ``COMMIT_CONFLICT`` itself, and a source
   may raise floe errors too.
3. Otherwise the innermost exception that a rule knows decides: the cause is more specific than
   its wrappers (an HTTP 401 inside a ``ResourceExtractionError``).
4. Otherwise the wrappers decide: ``DestinationTransientException`` (``LoadClientJobRetry``)
   is ``TRANSIENT``/``SERVICE_UNAVAILABLE``, ``DestinationTerminalException``
   (``LoadClientJobFailed``...) is ``CONFIGURATION``/``DESTINATION_CONFIG_ERROR``, a failure
   while extracting is ``PERMANENT``/``SOURCE_ERROR``; anything else goes through
   :func:`floe_core.errors.classify_exception` (``TimeoutError``/``ConnectionError`` are
   transient, the rest ``UNKNOWN``).
5. Finally, a ``PipelineStepFailed`` whose package dlt reports as partially loaded becomes
   ``PARTIAL``/``PARTIAL_LOAD`` with ``failed_records``, unless the caller knows that no row of
   the package reached Iceberg (``committed_rows=0``); the cause's category and code stay in
   ``details``.

Every row is listed in the plugin's README.md and has its own test. This module imports dlt,
requests and sqlalchemy: import it only when a run needs it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import sqlalchemy.exc as sa_exc
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigurationException,
)
from dlt.common.configuration.specs.base_configuration import is_secret_hint
from dlt.common.destination.exceptions import (
    DestinationTerminalException,
    DestinationTransientException,
)
from dlt.common.exceptions import DictValidationException, MissingDependencyException
from dlt.common.schema.exceptions import (
    CannotCoerceColumnException,
    CannotCoerceNullException,
    DataValidationError,
    SchemaCorruptedException,
    SchemaEngineNoUpgradePathException,
)
from dlt.extract.exceptions import (
    PipeException,
    ResourceNotFoundError,
    ResourcesNotFoundError,
    UnknownSourceReference,
)
from dlt.extract.incremental.exceptions import (
    IncrementalCursorInvalidCoercion,
    IncrementalCursorPathHasValueNone,
    IncrementalCursorPathMissing,
    IncrementalPrimaryKeyMissing,
)
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.sources.helpers.rest_client.exceptions import PaginatorNotFound, PaginatorSetupError

from floe_core.catalog import safe_uri
from floe_core.errors import (
    ErrorCategory,
    ErrorCode,
    IngestionError,
    IngestionException,
    classify_exception,
)

__all__ = ["causal_chain", "map_exception", "parse_retry_after"]

_T, _P, _X, _C = (
    ErrorCategory.TRANSIENT,
    ErrorCategory.PERMANENT,
    ErrorCategory.PARTIAL,
    ErrorCategory.CONFIGURATION,
)

Clock = Callable[[], float]


@dataclass(frozen=True)
class _Verdict:
    category: ErrorCategory
    code: ErrorCode
    message: str
    retry_after_seconds: int | None = None
    details: dict[str, Any] | None = None


def causal_chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it wraps, outermost first (each exception once)."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = _wrapped(current)
    return chain


def _wrapped(exc: BaseException) -> BaseException | None:
    for attribute in ("exception", "client_exception", "job_exception"):
        inner = getattr(exc, attribute, None)
        if isinstance(inner, BaseException):
            return inner
    return exc.__cause__


def parse_retry_after(value: str | None, *, now: Clock = time.time) -> int | None:
    """Seconds to wait from a ``Retry-After`` header value: delta-seconds or an HTTP date.

    A date rounds up to whole seconds and a date in the past gives 0; an unreadable value
    gives ``None``.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0, math.ceil(when.timestamp() - now()))


def map_exception(
    exc: BaseException,
    *,
    source: str,
    committed_rows: int | None = None,
    failed_records: int | None = None,
    now: Clock = time.time,
) -> IngestionError:
    """The :class:`IngestionError` for ``exc``, raised by a dlt run (see the module docstring).

    ``source`` names the pipeline in the record. ``committed_rows``: rows of the failed load
    package that the destination's commit log shows in Iceberg; ``0`` overrides dlt's
    "partially loaded" flag, ``None`` (unknown) trusts it. ``failed_records`` goes into a
    ``PARTIAL`` record. ``now`` is the clock used to read an HTTP-date ``Retry-After``.
    """
    chain = causal_chain(exc)
    floe_error = next((link for link in chain if isinstance(link, IngestionException)), None)
    base = floe_error.error if floe_error is not None else _classify(chain, source, now)
    step_failed = _step_failed(chain)
    if (
        step_failed is not None
        and step_failed.is_package_partially_loaded
        and committed_rows != 0
        and base.category is not _X
    ):
        rows = "some" if committed_rows is None else str(committed_rows)
        return IngestionError(
            _X,
            ErrorCode.PARTIAL_LOAD,
            f"load package {step_failed.load_id} of pipeline {source!r} committed {rows} rows "
            f"and then failed: {base.message}. Run the pipeline again: what was committed is "
            "skipped and the rest is loaded once.",
            source,
            failed_records=failed_records,
            details={
                **(base.details or {}),
                "cause_category": base.category.value,
                "cause_code": base.code.value,
                "load_id": step_failed.load_id,
                "committed_rows": committed_rows,
            },
        )
    return base


def _step_failed(chain: list[BaseException]) -> PipelineStepFailed | None:
    return next((link for link in chain if isinstance(link, PipelineStepFailed)), None)


def _classify(chain: list[BaseException], source: str, now: Clock) -> IngestionError:
    innermost = chain[-1]
    step_failed = _step_failed(chain)
    details: dict[str, Any] = {"exception_type": _qualname(innermost)}
    if step_failed is not None:
        details["dlt_step"] = step_failed.step
    for link in reversed(chain):
        verdict = _apply_rules(link, now)
        if verdict is not None:
            break
    else:
        verdict = _wrapper_verdict(chain)
    if verdict is None:
        return classify_exception(innermost, source=source)
    return IngestionError(
        verdict.category,
        verdict.code,
        verdict.message,
        source,
        retry_after_seconds=verdict.retry_after_seconds,
        details={**details, **(verdict.details or {})},
    )


def _qualname(exc: BaseException) -> str:
    return f"{type(exc).__module__}.{type(exc).__qualname__}"


def _text(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


# --- one rule per family of exceptions ------------------------------------------------------


def _http_error(exc: BaseException, now: Clock) -> _Verdict | None:
    if not isinstance(exc, requests.HTTPError):
        return None
    response = exc.response
    if response is None:
        return _Verdict(_T, ErrorCode.NETWORK_ERROR, f"HTTP request failed: {_text(exc)}")
    status = response.status_code
    url = safe_uri((response.url or "").split("?", 1)[0])  # query strings carry API keys
    where = f"HTTP {status} from {url}" if url else f"HTTP {status}"
    details: dict[str, Any] = {"http_status": status}
    if status in (401, 403):
        return _Verdict(
            _P,
            ErrorCode.AUTH_FAILED,
            f"{where}: the credentials were refused; check the secret referenced in the "
            "pipeline's secret_refs and what it is allowed to read",
            details=details,
        )
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now)
        wait = f"; retry after {retry_after} s" if retry_after is not None else ""
        return _Verdict(
            _T,
            ErrorCode.RATE_LIMITED,
            f"{where}: rate limited{wait}",
            retry_after_seconds=retry_after,
            details=details,
        )
    if status == 408:
        return _Verdict(_T, ErrorCode.TIMEOUT, f"{where}: request timed out", details=details)
    if status >= 500:
        return _Verdict(
            _T, ErrorCode.SERVICE_UNAVAILABLE, f"{where}: the service failed", details=details
        )
    if status in (404, 410):
        return _Verdict(
            _P,
            ErrorCode.SOURCE_NOT_FOUND,
            f"{where}: no such endpoint or resource; check the path in the source configuration",
            details=details,
        )
    return _Verdict(_P, ErrorCode.SOURCE_ERROR, f"{where}: request rejected", details=details)


def _http_transport(exc: BaseException, now: Clock) -> _Verdict | None:
    # Timeout first: ConnectTimeout is both a Timeout and a ConnectionError.
    if isinstance(exc, requests.Timeout):
        return _Verdict(_T, ErrorCode.TIMEOUT, f"HTTP request timed out: {_text(exc)}")
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return _Verdict(_T, ErrorCode.NETWORK_ERROR, f"HTTP connection failed: {_text(exc)}")
    return None


# SQLSTATE codes, then classes (SQL standard classes; codes as PostgreSQL documents them).
_SQLSTATE_CODES: dict[str, tuple[ErrorCategory, ErrorCode, str]] = {
    "42501": (_P, ErrorCode.AUTH_FAILED, "the database user lacks a privilege"),
    "3D000": (_P, ErrorCode.SOURCE_NOT_FOUND, "the database does not exist"),
    "3F000": (_P, ErrorCode.SOURCE_NOT_FOUND, "the database schema does not exist"),
    "42P01": (_P, ErrorCode.SOURCE_NOT_FOUND, "the table does not exist"),
    "42703": (_P, ErrorCode.SOURCE_NOT_FOUND, "a column does not exist"),
    "57014": (_T, ErrorCode.TIMEOUT, "the statement was cancelled by a timeout"),
}
_SQLSTATE_CLASSES: dict[str, tuple[ErrorCategory, ErrorCode, str]] = {
    "28": (_P, ErrorCode.AUTH_FAILED, "the database refused the login"),
    "08": (_T, ErrorCode.NETWORK_ERROR, "the database connection failed"),
    "40": (_T, ErrorCode.SERVICE_UNAVAILABLE, "the database rolled the transaction back"),
    "53": (_T, ErrorCode.SERVICE_UNAVAILABLE, "the database is out of resources"),
    "57": (_T, ErrorCode.SERVICE_UNAVAILABLE, "the database is shutting down or starting"),
}


def _sql_error(exc: BaseException, now: Clock) -> _Verdict | None:
    if isinstance(exc, sa_exc.NoSuchTableError):
        return _Verdict(
            _P,
            ErrorCode.SOURCE_NOT_FOUND,
            f"table {exc} does not exist in the source database; check table_names",
            details={"table": str(exc)},
        )
    if isinstance(exc, sa_exc.ArgumentError):  # unparsable URL, unknown dialect or driver
        return _Verdict(
            _C, ErrorCode.INVALID_CONFIG, f"the database connection string is invalid: {_text(exc)}"
        )
    if isinstance(exc, sa_exc.TimeoutError):  # connection pool exhausted
        return _Verdict(_T, ErrorCode.TIMEOUT, f"database connection pool timed out: {_text(exc)}")
    if not isinstance(exc, sa_exc.DBAPIError):
        return None
    orig = exc.orig
    sqlstate = getattr(orig, "pgcode", None) or getattr(orig, "sqlstate", None)
    driver_error = _text(orig) if isinstance(orig, BaseException) else _text(exc)
    details: dict[str, Any] = {"sqlstate": sqlstate}
    if isinstance(sqlstate, str) and len(sqlstate) == 5:
        known = _SQLSTATE_CODES.get(sqlstate) or _SQLSTATE_CLASSES.get(sqlstate[:2])
        if known is not None:
            category, code, what = known
            return _Verdict(
                category, code, f"{what} (SQLSTATE {sqlstate}): {driver_error}", details=details
            )
    if isinstance(exc, sa_exc.OperationalError) or exc.connection_invalidated:
        # psycopg2 gives no SQLSTATE for a failed connection (refused, reset, or a login the
        # server rejected): by type they are all OperationalError, retried as network errors.
        return _Verdict(
            _T,
            ErrorCode.NETWORK_ERROR,
            f"database operation failed: {driver_error}",
            details=details,
        )
    return _Verdict(
        _P, ErrorCode.SOURCE_ERROR, f"database query failed: {driver_error}", details=details
    )


def _dlt_configuration(exc: BaseException, now: Clock) -> _Verdict | None:
    if isinstance(exc, ConfigFieldMissingException):
        fields = list(exc.fields)
        secrets = _secret_fields(exc)
        if secrets:
            return _Verdict(
                _C,
                ErrorCode.SECRET_MISSING,
                f"{exc.spec_name} needs the secret argument(s) {', '.join(secrets)}: map each "
                f"to a secret reference in the pipeline's secret_refs (e.g. secret_refs: "
                f"{{{secrets[0]}: <reference>}})",
                details={"missing_fields": fields, "missing_secrets": secrets},
            )
        return _Verdict(
            _C,
            ErrorCode.INVALID_CONFIG,
            f"{exc.spec_name} needs the argument(s) {', '.join(fields)}: set them under "
            "dlt.args in floe.yaml",
            details={"missing_fields": fields},
        )
    if isinstance(
        exc,
        ConfigurationException | DictValidationException | PaginatorSetupError | PaginatorNotFound,
    ):
        return _Verdict(_C, ErrorCode.INVALID_CONFIG, f"invalid source settings: {_text(exc)}")
    if isinstance(exc, MissingDependencyException):
        return _Verdict(
            _C, ErrorCode.INVALID_CONFIG, f"a package the source needs is missing: {_text(exc)}"
        )
    return None


def _secret_fields(exc: ConfigFieldMissingException) -> list[str]:
    hints = type(exc.config).get_resolvable_fields()
    return [name for name in exc.fields if name in hints and is_secret_hint(hints[name])]


_INCREMENTAL_FIXES: tuple[tuple[type[BaseException], str], ...] = (
    (IncrementalCursorPathMissing, "the cursor_column is missing from the data"),
    (IncrementalCursorPathHasValueNone, "the cursor_column is null in some rows"),
    (
        IncrementalCursorInvalidCoercion,
        "initial_value/end_value must have the cursor column's type (for a timestamp column, "
        "write the value unquoted in YAML so it is read as a timestamp)",
    ),
    (IncrementalPrimaryKeyMissing, "the primary_key is missing from the data"),
)


def _dlt_source(exc: BaseException, now: Clock) -> _Verdict | None:
    if isinstance(exc, ResourcesNotFoundError):
        missing = sorted(exc.not_found_resources)
        available = sorted(exc.available_resources)
        return _Verdict(
            _P,
            ErrorCode.SOURCE_NOT_FOUND,
            f"resource(s) {', '.join(missing)} not found in source {exc.source_name!r}; "
            f"it has: {', '.join(available) or 'no resources'} (check dlt.resource)",
            details={"missing": missing, "available": available},
        )
    if isinstance(exc, ResourceNotFoundError | UnknownSourceReference):
        return _Verdict(_P, ErrorCode.SOURCE_NOT_FOUND, f"not found: {_text(exc)}")
    for exc_type, fix in _INCREMENTAL_FIXES:
        if isinstance(exc, exc_type):
            return _Verdict(_C, ErrorCode.INVALID_CONFIG, f"incremental: {fix}: {_text(exc)}")
    return None


def _dlt_schema(exc: BaseException, now: Clock) -> _Verdict | None:
    if isinstance(exc, SchemaCorruptedException | SchemaEngineNoUpgradePathException):
        return _Verdict(
            _P, ErrorCode.SCHEMA_CORRUPTION, f"the stored dlt schema is unusable: {_text(exc)}"
        )
    if isinstance(
        exc, DataValidationError | CannotCoerceColumnException | CannotCoerceNullException
    ):
        return _Verdict(
            _P, ErrorCode.SCHEMA_MISMATCH, f"the data does not fit the schema: {_text(exc)}"
        )
    return None


_RULES: tuple[Callable[[BaseException, Clock], _Verdict | None], ...] = (
    _http_error,
    _http_transport,
    _sql_error,
    _dlt_configuration,
    _dlt_source,
    _dlt_schema,
)


def _apply_rules(exc: BaseException, now: Clock) -> _Verdict | None:
    for rule in _RULES:
        verdict = rule(exc, now)
        if verdict is not None:
            return verdict
    return None


def _wrapper_verdict(chain: list[BaseException]) -> _Verdict | None:
    innermost = chain[-1]
    for link in chain:
        if isinstance(link, DestinationTransientException):
            return _Verdict(
                _T,
                ErrorCode.SERVICE_UNAVAILABLE,
                f"the Iceberg destination failed temporarily: {_text(innermost)}",
            )
        if isinstance(link, DestinationTerminalException):
            return _Verdict(
                _C,
                ErrorCode.DESTINATION_CONFIG_ERROR,
                f"the Iceberg destination rejected the load: {_text(innermost)}; check the "
                "catalog block of the platform manifest and the warehouse's permissions",
            )
    if isinstance(innermost, TimeoutError | ConnectionError):
        return None  # classify_exception files these as TRANSIENT by type
    step_failed = _step_failed(chain)
    if (step_failed is not None and step_failed.step == "extract") or any(
        isinstance(link, PipeException) for link in chain
    ):
        return _Verdict(
            _P, ErrorCode.SOURCE_ERROR, f"the source failed while extracting: {_text(innermost)}"
        )
    return None
