"""From Airbyte's answers to floe's error taxonomy.

Two kinds of failure reach the plugin, and this module maps both to an
:class:`~floe_core.errors.IngestionException` (category decided by the class, code from
:class:`~floe_core.errors.ErrorCode`):

1. **The API refused a request** (:class:`AirbyteApiError`, an HTTP status with an RFC 9457
   problem body) or could not be reached (:class:`AirbyteTransportError`). The client has
   already done the retries that are safe; what is left maps by status (:data:`HTTP_MAPPING`):

   ========================  ==============  ===========================
   answer                    category        code
   ========================  ==============  ===========================
   400, 422                  CONFIGURATION   INVALID_CONFIG
   401 (after a refresh)     PERMANENT       AUTH_FAILED
   403                       PERMANENT       AUTH_FAILED
   404                       CONFIGURATION   CONNECTION_NOT_FOUND
   408                       TRANSIENT       TIMEOUT
   409 (connection locked)   CONFIGURATION   CONNECTION_NOT_FOUND
   409 (other conflicts)     TRANSIENT       SYNC_FAILED_TRANSIENT
   429                       TRANSIENT       RATE_LIMITED (+ retry_after_seconds)
   501                       CONFIGURATION   INVALID_CONFIG
   other 5xx                 TRANSIENT       SERVICE_UNAVAILABLE
   other 4xx                 PERMANENT       UNKNOWN
   request timed out         TRANSIENT       TIMEOUT
   connection failed         TRANSIENT       NETWORK_ERROR
   TLS verification failed   CONFIGURATION   INVALID_CONFIG
   ========================  ==============  ===========================

2. **A sync job ended badly** (public ``JobResponse.status``), explained by the config API's
   job details (``attempts[].attempt.failureSummary``: ``failures[].failureType``,
   ``failureOrigin``, ``retryable``, and ``partialSuccess``). :func:`job_failure` decides, in
   this order (ADR-0020 "Airbyte Error Mapping" and issue 5):

   * ``cancelled``                                  -> PERMANENT ``SYNC_CANCELLED``
   * ``failed`` with rows committed (``rowsSynced > 0``) or ``partialSuccess``
                                                    -> PARTIAL ``PARTIAL_SYNC``
     (``failed_records`` = ``recordsRejected``, else emitted minus committed, when known)
   * failure ``manual_cancellation``                 -> PERMANENT ``SYNC_CANCELLED``
   * connector HTTP status 401/403 (auth)           -> PERMANENT ``AUTH_FAILED``
   * connector HTTP status 429 (rate limit)         -> TRANSIENT ``RATE_LIMITED``
   * ``config_error``                               -> CONFIGURATION ``DESTINATION_CONFIG_ERROR``
     (origin destination) or ``INVALID_CONFIG``
   * ``heartbeat_timeout``, ``destination_timeout`` -> TRANSIENT ``TIMEOUT``
   * ``transient_error``                            -> TRANSIENT ``SYNC_FAILED_TRANSIENT``
   * ``refresh_schema``                             -> PERMANENT ``SCHEMA_MISMATCH``
   * ``system_error`` / unknown type: ``retryable`` true -> TRANSIENT ``SYNC_FAILED_TRANSIENT``;
     else by origin: destination -> PERMANENT ``DESTINATION_ERROR``, source -> PERMANENT
     ``SOURCE_ERROR``, otherwise PERMANENT ``SYNC_FAILED``
   * no failure details at all (config API unreachable) -> PERMANENT ``SYNC_FAILED``

   Airbyte has no failure type for "auth" or "rate limit": connectors built on the Airbyte CDK
   report an HTTP error as ``config_error`` (401/403) or ``transient_error`` (429) with an
   ``externalMessage`` that starts with the CDK's fixed ``HTTP Status Code: NNN.`` prefix.
   That prefix is the only place the status travels, so it is read (and nothing else of the
   text): see :func:`connector_http_status`.

Messages name the job, the connection and what to do; they never contain credentials
(``internalMessage`` and ``stacktrace`` are never copied, they may quote connector settings).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from floe_core.errors import (
    ConfigurationError,
    ErrorCategory,
    ErrorCode,
    IngestionError,
    IngestionException,
    PartialError,
    PermanentError,
    TransientError,
)

__all__ = [
    "HTTP_MAPPING",
    "SOURCE",
    "AirbyteApiError",
    "AirbyteError",
    "AirbyteTransportError",
    "api_exception",
    "connector_http_status",
    "failure_reasons",
    "job_failure",
    "primary_failure",
]

SOURCE = "airbyte"
"""The ``source`` of every error record this plugin produces."""

_C, _P, _T = ErrorCategory.CONFIGURATION, ErrorCategory.PERMANENT, ErrorCategory.TRANSIENT

HTTP_MAPPING: Mapping[int, tuple[ErrorCategory, ErrorCode, str]] = {
    400: (_C, ErrorCode.INVALID_CONFIG, "Airbyte rejected the request as invalid"),
    401: (_P, ErrorCode.AUTH_FAILED, "Airbyte refused the credentials, even after a refresh"),
    403: (_P, ErrorCode.AUTH_FAILED, "the credentials are not allowed to do this"),
    404: (_C, ErrorCode.CONNECTION_NOT_FOUND, "Airbyte does not know this resource"),
    408: (_T, ErrorCode.TIMEOUT, "Airbyte timed out answering"),
    409: (_T, ErrorCode.SYNC_FAILED_TRANSIENT, "the resource is busy"),
    422: (_C, ErrorCode.INVALID_CONFIG, "Airbyte could not process the request"),
    429: (_T, ErrorCode.RATE_LIMITED, "Airbyte rate-limited the requests"),
    501: (_C, ErrorCode.INVALID_CONFIG, "this Airbyte edition does not offer the endpoint"),
}
"""HTTP status -> (category, code, meaning). Statuses not listed: 5xx -> TRANSIENT
``SERVICE_UNAVAILABLE``, 4xx -> PERMANENT ``UNKNOWN``."""

_WHAT_TO_DO: Mapping[ErrorCode, str] = {
    ErrorCode.AUTH_FAILED: (
        "check the secret named by connection_secret_ref (and client_id/username) in the "
        "manifest's plugins.ingestion.config, and that it may use this workspace"
    ),
    ErrorCode.CONNECTION_NOT_FOUND: "check the id in floe.yaml against the Airbyte UI",
    ErrorCode.INVALID_CONFIG: "check the Airbyte settings in the manifest and floe.yaml",
    ErrorCode.RATE_LIMITED: "retry later (floe's retry policy does this)",
    ErrorCode.SERVICE_UNAVAILABLE: "check that Airbyte runs; floe's retry policy retries",
    ErrorCode.TIMEOUT: "check that Airbyte is healthy; floe's retry policy retries",
    ErrorCode.NETWORK_ERROR: "check the Airbyte URL (workspace_url/api_url) and the network",
    ErrorCode.SYNC_FAILED_TRANSIENT: "retry later (floe's retry policy does this)",
    ErrorCode.UNKNOWN: "see the Airbyte server logs",
}


class AirbyteError(Exception):
    """Base of the client's own exceptions (mapped to floe's by :func:`api_exception`)."""

    method: str
    route: str


class AirbyteApiError(AirbyteError):
    """Airbyte answered an HTTP error, after the client's safe retries.

    ``route`` is the endpoint template (``GET /connections/{connectionId}``'s path), never a
    URL with credentials; ``problem`` is the RFC 9457 body when there was one;
    ``retry_after`` the ``Retry-After`` header in seconds, when sent.
    """

    def __init__(
        self,
        status: int,
        method: str,
        route: str,
        *,
        problem: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
        resource: str | None = None,
    ) -> None:
        self.status = status
        self.method = method
        self.route = route
        self.problem: Mapping[str, Any] = problem or {}
        self.retry_after = retry_after
        self.resource = resource
        super().__init__(f"Airbyte API {method} {route} answered {status} {self.summary}")

    @property
    def title(self) -> str:
        return str(self.problem.get("title") or "")

    @property
    def problem_type(self) -> str:
        return str(self.problem.get("type") or "")

    @property
    def detail(self) -> str:
        detail = self.problem.get("detail") or self.problem.get("message") or ""
        data = self.problem.get("data")
        if not detail and isinstance(data, Mapping):
            detail = data.get("message") or ""
        return str(detail)

    @property
    def summary(self) -> str:
        parts = [part for part in (self.title, self.detail) if part]
        return ": ".join(parts) if parts else "(no problem details)"


class AirbyteTransportError(AirbyteError):
    """The request got no HTTP answer: it timed out, the connection failed, or TLS failed.

    ``sent`` says whether the request may have reached Airbyte (a read timeout or a dropped
    connection after sending); a request that was never sent is always safe to repeat.
    """

    def __init__(
        self,
        kind: Literal["timeout", "connection", "tls"],
        method: str,
        route: str,
        *,
        sent: bool,
        cause: str = "",
    ) -> None:
        self.kind = kind
        self.method = method
        self.route = route
        self.sent = sent
        what = {"timeout": "timed out", "connection": "could not connect", "tls": "TLS failed"}
        suffix = f" ({cause})" if cause else ""
        super().__init__(f"Airbyte API {method} {route} {what[kind]}{suffix}")


def api_exception(exc: AirbyteError, *, context: str = "") -> IngestionException:
    """The floe exception for a client error; ``context`` says what floe was doing."""
    prefix = f"{context}: " if context else ""
    if isinstance(exc, AirbyteTransportError):
        if exc.kind == "tls":
            return ConfigurationError(
                ErrorCode.INVALID_CONFIG,
                f"{prefix}{exc}; check the Airbyte URL's scheme and certificate",
                source=SOURCE,
                details={"route": exc.route, "method": exc.method},
            )
        code = ErrorCode.TIMEOUT if exc.kind == "timeout" else ErrorCode.NETWORK_ERROR
        return TransientError(
            code,
            f"{prefix}{exc}; {_WHAT_TO_DO[code]}",
            source=SOURCE,
            details={"route": exc.route, "method": exc.method},
        )
    assert isinstance(exc, AirbyteApiError)
    category, code, meaning = _http_row(exc)
    details: dict[str, Any] = {
        "http_status": exc.status,
        "method": exc.method,
        "route": exc.route,
    }
    if exc.problem_type:
        details["problem_type"] = exc.problem_type
    retry_after = None
    if exc.retry_after is not None and category is _T:
        retry_after = max(0, round(exc.retry_after))
    advice = _WHAT_TO_DO.get(code, "see the Airbyte server logs")
    message = f"{prefix}{exc} ({meaning}); {advice}"
    record = IngestionError(
        category,
        code,
        message,
        SOURCE,
        retry_after_seconds=retry_after,
        details=details,
    )
    return IngestionException.from_error(record)


def _http_row(exc: AirbyteApiError) -> tuple[ErrorCategory, ErrorCode, str]:
    if exc.status == 409 and exc.problem_type == "error:connection/locked":
        return _C, ErrorCode.CONNECTION_NOT_FOUND, "the connection is locked"
    if exc.resource == "token" and exc.status in (400, 401, 403):
        return _P, ErrorCode.AUTH_FAILED, "Airbyte refused the client credentials"
    if exc.status == 404 and exc.resource not in (None, "connection", "job"):
        return _C, ErrorCode.INVALID_CONFIG, f"Airbyte does not know this {exc.resource}"
    row = HTTP_MAPPING.get(exc.status)
    if row is not None:
        return row
    if exc.status >= 500:
        return _T, ErrorCode.SERVICE_UNAVAILABLE, "Airbyte answered with a server error"
    return _P, ErrorCode.UNKNOWN, "unexpected answer"


# --- job outcomes -------------------------------------------------------------------------

_CDK_HTTP_STATUS = re.compile(r"^HTTP Status Code: (\d{3})\b")


def failure_reasons(job_info: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """Every ``FailureReason`` of a config-API ``JobInfoRead``, the last attempt's first."""
    if not job_info:
        return []
    reasons: list[Mapping[str, Any]] = []
    for attempt_info in reversed(_attempts(job_info)):
        summary = attempt_info.get("failureSummary") or {}
        reasons.extend(f for f in summary.get("failures") or [] if isinstance(f, Mapping))
    return reasons


def primary_failure(job_info: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The failure that explains the job: the last attempt's first trace-message failure,
    else its first failure (Airbyte lists the most relevant one first)."""
    if not job_info:
        return None
    for attempt_info in reversed(_attempts(job_info)):
        failures = [
            f
            for f in ((attempt_info.get("failureSummary") or {}).get("failures") or [])
            if isinstance(f, Mapping)
        ]
        if failures:
            traced = [f for f in failures if f.get("fromTraceMessage")]
            return (traced or failures)[0]
    return None


def connector_http_status(failure: Mapping[str, Any]) -> int | None:
    """The HTTP status a CDK connector reported, from its fixed ``HTTP Status Code: NNN.``
    prefix of ``externalMessage``; None when the failure does not carry one."""
    message = failure.get("externalMessage")
    if not isinstance(message, str):
        return None
    match = _CDK_HTTP_STATUS.match(message.strip())
    return int(match.group(1)) if match else None


def _attempts(job_info: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    attempts = job_info.get("attempts") or []
    result: list[Mapping[str, Any]] = []
    for item in attempts:
        if isinstance(item, Mapping):
            # JobInfoRead nests each attempt under "attempt"; tolerate the flat form too.
            attempt = item.get("attempt", item)
            if isinstance(attempt, Mapping):
                result.append(attempt)
    return result


def _partial_success(job_info: Mapping[str, Any] | None) -> bool:
    return any(
        bool((attempt.get("failureSummary") or {}).get("partialSuccess"))
        for attempt in (_attempts(job_info) if job_info else [])
    )


def _failed_records(job_info: Mapping[str, Any] | None) -> int | None:
    if not job_info:
        return None
    stats = (job_info.get("job") or {}).get("aggregatedStats") or {}
    rejected = stats.get("recordsRejected")
    if isinstance(rejected, int) and rejected > 0:
        return rejected
    emitted, committed = stats.get("recordsEmitted"), stats.get("recordsCommitted")
    if isinstance(emitted, int) and isinstance(committed, int) and emitted > committed:
        return emitted - committed
    return None


def job_failure(
    job: Mapping[str, Any],
    job_info: Mapping[str, Any] | None,
    *,
    connection: str,
) -> IngestionException:
    """The floe exception for a job whose final status is ``failed`` or ``cancelled``.

    ``job`` is the public API's ``JobResponse``; ``job_info`` the config API's
    ``JobInfoRead`` (None when it could not be fetched); ``connection`` names the connection
    in messages (``'name' (id)``).
    """
    status = str(job.get("status"))
    job_id = job.get("jobId")
    rows = int(job.get("rowsSynced") or 0)
    failure = primary_failure(job_info)
    details: dict[str, Any] = {"job_id": job_id, "job_status": status, "rows_synced": rows}
    if failure is not None:
        details.update(_failure_details(failure))
    details["failure_count"] = len(failure_reasons(job_info))
    what = f"Airbyte sync job {job_id} of connection {connection}"
    reason = _reason_text(failure)

    if status == "cancelled":
        return PermanentError(
            ErrorCode.SYNC_CANCELLED,
            f"{what} was cancelled{reason}; start it again when wanted",
            source=SOURCE,
            details=details,
        )
    partial = rows > 0 or _partial_success(job_info)
    if partial:
        details["partial_success"] = True
        return PartialError(
            ErrorCode.PARTIAL_SYNC,
            f"{what} failed after committing {rows} rows{reason}; the committed rows stay in "
            "Iceberg, fix the cause and sync again (incremental streams resume)",
            source=SOURCE,
            failed_records=_failed_records(job_info),
            details=details,
        )
    if failure is None:
        return PermanentError(
            ErrorCode.SYNC_FAILED,
            f"{what} failed and Airbyte gave no failure details (the config API's "
            "/v1/jobs/get was not available); see the job's logs in the Airbyte UI",
            source=SOURCE,
            details=details,
        )
    category, code, advice = _failure_row(failure)
    record = IngestionError(
        category,
        code,
        f"{what} failed{reason}; {advice}",
        SOURCE,
        details=details,
    )
    return IngestionException.from_error(record)


def _failure_row(failure: Mapping[str, Any]) -> tuple[ErrorCategory, ErrorCode, str]:
    failure_type = failure.get("failureType")
    origin = failure.get("failureOrigin")
    http_status = connector_http_status(failure)
    if failure_type == "manual_cancellation":
        return _P, ErrorCode.SYNC_CANCELLED, "someone cancelled it in Airbyte"
    if http_status in (401, 403):
        return (
            _P,
            ErrorCode.AUTH_FAILED,
            f"the {origin or 'connector'}'s credentials were refused; fix them in Airbyte",
        )
    if http_status == 429:
        return _T, ErrorCode.RATE_LIMITED, f"the {origin or 'connector'} was rate-limited"
    if failure_type == "config_error":
        if origin == "destination":
            return (
                _C,
                ErrorCode.DESTINATION_CONFIG_ERROR,
                "fix the Iceberg destination's settings in Airbyte",
            )
        where = origin or "connector"
        return _C, ErrorCode.INVALID_CONFIG, f"fix the {where}'s settings in Airbyte"
    if failure_type in ("heartbeat_timeout", "destination_timeout"):
        return _T, ErrorCode.TIMEOUT, "Airbyte gave up waiting; floe's retry policy retries"
    if failure_type == "transient_error":
        return _T, ErrorCode.SYNC_FAILED_TRANSIENT, "Airbyte says a retry may succeed"
    if failure_type == "refresh_schema":
        return (
            _P,
            ErrorCode.SCHEMA_MISMATCH,
            "the source schema changed: refresh the connection's schema in Airbyte",
        )
    if failure.get("retryable") is True:
        return _T, ErrorCode.SYNC_FAILED_TRANSIENT, "Airbyte says a retry may succeed"
    if origin == "destination":
        return _P, ErrorCode.DESTINATION_ERROR, "see the job's logs in the Airbyte UI"
    if origin == "source":
        return _P, ErrorCode.SOURCE_ERROR, "see the job's logs in the Airbyte UI"
    return _P, ErrorCode.SYNC_FAILED, "see the job's logs in the Airbyte UI"


def _failure_details(failure: Mapping[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {}
    for key, name in (
        ("failureType", "failure_type"),
        ("failureOrigin", "failure_origin"),
        ("retryable", "retryable"),
    ):
        if failure.get(key) is not None:
            details[name] = failure[key]
    stream = failure.get("streamDescriptor")
    if isinstance(stream, Mapping) and stream.get("name"):
        details["stream"] = ".".join(
            str(part) for part in (stream.get("namespace"), stream.get("name")) if part
        )
    status = connector_http_status(failure)
    if status is not None:
        details["connector_http_status"] = status
    return details


def _reason_text(failure: Mapping[str, Any] | None) -> str:
    if failure is None:
        return ""
    message = failure.get("externalMessage")
    bits: Sequence[str] = [
        str(value) for value in (failure.get("failureOrigin"), failure.get("failureType")) if value
    ]
    where = f" [{'/'.join(bits)}]" if bits else ""
    return f": {message}{where}" if message else where
