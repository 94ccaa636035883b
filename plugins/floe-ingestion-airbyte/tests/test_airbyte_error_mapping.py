"""Every row of the Airbyte error mapping (ADR-0020 table and issue 5), end to end."""

from __future__ import annotations

from typing import Any

import pytest
from airbyte_helpers import PluginFactory
from floe_core.config import IngestionConfig
from floe_core.errors import ErrorCategory, ErrorCode, IngestionException

from floe_ingestion_airbyte.errors import (
    AirbyteApiError,
    AirbyteTransportError,
    api_exception,
    connector_http_status,
    job_failure,
)
from floe_ingestion_airbyte.testing import (
    ICEBERG_CONNECTION_ID,
    AirbyteEmulator,
    FailureSpec,
    Fault,
    JobPlan,
)

T, P, X, C = (
    ErrorCategory.TRANSIENT,
    ErrorCategory.PERMANENT,
    ErrorCategory.PARTIAL,
    ErrorCategory.CONFIGURATION,
)

JOB_ROWS = [
    # (plan, category, code): the job's final status and failure reason
    (JobPlan.failed(FailureSpec.auth(401)), P, ErrorCode.AUTH_FAILED),
    (JobPlan.failed(FailureSpec.auth(403)), P, ErrorCode.AUTH_FAILED),
    (JobPlan.failed(FailureSpec.rate_limit()), T, ErrorCode.RATE_LIMITED),
    (JobPlan.partial(rows=600, rows_rejected=400), X, ErrorCode.PARTIAL_SYNC),
    (JobPlan.cancelled(), P, ErrorCode.SYNC_CANCELLED),
    (JobPlan.failed(FailureSpec.config("source")), C, ErrorCode.INVALID_CONFIG),
    (JobPlan.failed(FailureSpec.config("destination")), C, ErrorCode.DESTINATION_CONFIG_ERROR),
    (JobPlan.failed(FailureSpec.transient()), T, ErrorCode.SYNC_FAILED_TRANSIENT),
    (JobPlan.failed(FailureSpec.heartbeat_timeout()), T, ErrorCode.TIMEOUT),
    (JobPlan.failed(FailureSpec.destination_timeout()), T, ErrorCode.TIMEOUT),
    (JobPlan.failed(FailureSpec.refresh_schema()), P, ErrorCode.SCHEMA_MISMATCH),
    (JobPlan.failed(FailureSpec.system("source")), P, ErrorCode.SOURCE_ERROR),
    (JobPlan.failed(FailureSpec.system("destination")), P, ErrorCode.DESTINATION_ERROR),
    (JobPlan.failed(FailureSpec.system("replication")), P, ErrorCode.SYNC_FAILED),
    (JobPlan.failed(FailureSpec.manual_cancellation()), P, ErrorCode.SYNC_CANCELLED),
]


@pytest.mark.parametrize(
    ("plan", "category", "code"),
    JOB_ROWS,
    ids=[f"{code.value}-{index}" for index, (_, _, code) in enumerate(JOB_ROWS)],
)
def test_job_outcomes_map_to_the_taxonomy(
    make_plugin: PluginFactory,
    airbyte: AirbyteEmulator,
    config: IngestionConfig,
    plan: JobPlan,
    category: ErrorCategory,
    code: ErrorCode,
) -> None:
    plugin = make_plugin()
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, plan)
    result = plugin.run(plugin.create_pipeline(config))
    assert not result.success
    error = result.error
    assert error is not None
    assert (error.category, error.code) == (category, code)
    assert error.retryable is (category is T)
    assert error.source == "airbyte"
    assert error.details is not None
    assert error.details["job_id"] == 1
    assert "job 1" in error.message
    assert "Postgres to Iceberg" in error.message  # names the connection
    if code is ErrorCode.PARTIAL_SYNC:
        assert error.failed_records == 400
        assert result.rows_loaded == 200
        assert result.tables_created == ["bronze.users", "bronze.orders"]
        assert sum(result.rows_by_table.values()) == 200
    else:
        assert result.rows_loaded == 0


def test_failed_job_without_failure_details(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    plugin = make_plugin()
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.failed(FailureSpec.auth()))
    airbyte.add_fault(Fault(route="POST /v1/jobs/get", status=404, times=None))
    result = plugin.run(plugin.create_pipeline(config))
    assert result.error is not None
    assert (result.error.category, result.error.code) == (P, ErrorCode.SYNC_FAILED)
    assert "no failure details" in result.error.message
    assert any("config API" in warning for warning in result.details["warnings"])


API_ROWS: list[tuple[Fault, ErrorCategory, ErrorCode]] = [
    (Fault.auth_failure(401, route="GET /jobs/{jobId}"), P, ErrorCode.AUTH_FAILED),
    (Fault.auth_failure(403, route="GET /jobs/{jobId}"), P, ErrorCode.AUTH_FAILED),
    (Fault(route="POST /jobs", status=404), C, ErrorCode.CONNECTION_NOT_FOUND),
    (Fault.rate_limit("GET /jobs/{jobId}", retry_after=300), T, ErrorCode.RATE_LIMITED),
    (
        Fault.server_errors("GET /jobs/{jobId}", status=503, times=None),
        T,
        ErrorCode.SERVICE_UNAVAILABLE,
    ),
    (Fault(route="GET /jobs/{jobId}", status=500), T, ErrorCode.SERVICE_UNAVAILABLE),
    (Fault(route="POST /jobs", status=400), C, ErrorCode.INVALID_CONFIG),
    (Fault(route="GET /jobs/{jobId}", status=408), T, ErrorCode.TIMEOUT),
    (Fault.disconnects("GET /jobs/{jobId}", times=None), T, ErrorCode.NETWORK_ERROR),
]


@pytest.mark.parametrize(
    ("fault", "category", "code"),
    API_ROWS,
    ids=[f"{code.value}-{fault.status}" for fault, _, code in API_ROWS],
)
def test_api_answers_map_to_the_taxonomy(
    make_plugin: PluginFactory,
    airbyte: AirbyteEmulator,
    config: IngestionConfig,
    fault: Fault,
    category: ErrorCategory,
    code: ErrorCode,
) -> None:
    plugin = make_plugin()
    handle = plugin.create_pipeline(config)
    airbyte.add_fault(fault)
    result = plugin.run(handle)
    assert result.error is not None
    assert (result.error.category, result.error.code) == (category, code)
    assert result.error.retryable is (category is T)
    assert handle.connection_id in result.error.message
    if code is ErrorCode.RATE_LIMITED:
        assert result.error.retry_after_seconds == 300


def test_401_after_refresh_is_auth_failed_at_create_pipeline(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    airbyte.add_fault(Fault.auth_failure(401, route="GET /connections/{connectionId}"))
    with pytest.raises(IngestionException) as raised:
        make_plugin().create_pipeline(config)
    assert (raised.value.error.category, raised.value.error.code) == (P, ErrorCode.AUTH_FAILED)
    assert "connection_secret_ref" in raised.value.error.message
    assert airbyte.tokens_issued == 2  # refreshed once, then gave up


def test_wrong_client_secret_is_auth_failed(
    make_plugin: PluginFactory, config: IngestionConfig
) -> None:
    with pytest.raises(IngestionException) as raised:
        make_plugin(secret="wrong-secret-value").create_pipeline(config)
    assert raised.value.error.code is ErrorCode.AUTH_FAILED
    assert "wrong-secret-value" not in str(raised.value)


def test_locked_connection_is_a_configuration_error(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    plugin = make_plugin()
    handle = plugin.create_pipeline(config)
    airbyte.set_connection_status(ICEBERG_CONNECTION_ID, "locked", "billing issue")
    result = plugin.run(handle)
    assert result.error is not None
    assert (result.error.category, result.error.code) == (C, ErrorCode.CONNECTION_NOT_FOUND)


def test_409_without_a_running_sync_job_is_transient(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    plugin = make_plugin()
    handle = plugin.create_pipeline(config)
    airbyte.add_fault(Fault(route="POST /jobs", status=409, times=None))
    result = plugin.run(handle)
    assert result.error is not None
    assert (result.error.category, result.error.code) == (T, ErrorCode.SYNC_FAILED_TRANSIENT)
    assert airbyte.request_count("POST /jobs") == 3  # checked for a job before each new try


# --- the mapping functions themselves ---------------------------------------------------------


def test_connector_http_status_reads_only_the_cdk_prefix() -> None:
    assert connector_http_status({"externalMessage": "HTTP Status Code: 429. Error: x"}) == 429
    assert connector_http_status({"externalMessage": "we got HTTP Status Code: 401"}) is None
    assert connector_http_status({}) is None


def _info(*attempts: dict[str, Any], **stats: int) -> dict[str, Any]:
    job: dict[str, Any] = {"id": 7, "status": "failed"}
    if stats:
        job["aggregatedStats"] = stats
    return {"job": job, "attempts": [{"attempt": attempt} for attempt in attempts]}


def test_last_attempt_explains_the_failure() -> None:
    info = _info(
        {"failureSummary": {"failures": [{"failureType": "config_error", "timestamp": 1}]}},
        {
            "failureSummary": {
                "failures": [
                    {"failureType": "system_error", "timestamp": 2},
                    {"failureType": "transient_error", "fromTraceMessage": True, "timestamp": 2},
                ]
            }
        },
    )
    error = job_failure({"jobId": 7, "status": "failed"}, info, connection="'c' (id)").error
    assert (error.category, error.code) == (T, ErrorCode.SYNC_FAILED_TRANSIENT)
    assert error.details is not None
    assert error.details["failure_count"] == 3


def test_retryable_flag_decides_unknown_failure_types() -> None:
    info = _info({"failureSummary": {"failures": [{"retryable": True, "timestamp": 1}]}})
    error = job_failure({"jobId": 7, "status": "failed"}, info, connection="c").error
    assert error.category is T


def test_rows_committed_make_a_failure_partial() -> None:
    info = _info(
        {"failureSummary": {"failures": [{"failureType": "config_error", "timestamp": 1}]}},
        recordsEmitted=10,
        bytesEmitted=1,
        recordsCommitted=4,
        bytesCommitted=1,
        recordsRejected=0,
    )
    error = job_failure({"jobId": 7, "status": "failed", "rowsSynced": 4}, info, connection="c")
    assert error.error.category is X
    assert error.error.failed_records == 6


def test_api_errors_map_by_status() -> None:
    locked = AirbyteApiError(409, "POST", "/jobs", problem={"type": "error:connection/locked"})
    assert api_exception(locked).error.code is ErrorCode.CONNECTION_NOT_FOUND
    gone = AirbyteApiError(404, "GET", "/destinations/{destinationId}", resource="destination")
    assert api_exception(gone).error.code is ErrorCode.INVALID_CONFIG
    odd = AirbyteApiError(418, "GET", "/jobs")
    assert (api_exception(odd).error.category, api_exception(odd).error.code) == (
        P,
        ErrorCode.UNKNOWN,
    )
    tls = AirbyteTransportError("tls", "GET", "/jobs", sent=False)
    assert api_exception(tls).error.category is C
    limited = AirbyteApiError(429, "GET", "/jobs", retry_after=12.4)
    assert api_exception(limited, context="polling").error.retry_after_seconds == 12
    assert api_exception(limited, context="polling").error.message.startswith("polling: ")
