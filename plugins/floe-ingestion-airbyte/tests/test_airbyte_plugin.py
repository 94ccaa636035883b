"""The plugin against the emulator: the whole sync lifecycle and what it reports."""

from __future__ import annotations

import json
import pickle
import threading
from typing import Any

import pytest
import requests
from airbyte_helpers import PluginFactory, make_plugin_context, pipeline
from floe_core.config import IngestionConfig
from floe_core.errors import ConfigurationError, ErrorCategory, ErrorCode
from floe_core.retry import RetryPolicy
from floe_core.runner import IngestionRunner
from floe_core.secrets import SecretResolver

from floe_ingestion_airbyte.connection import AirbyteConnectionHandle
from floe_ingestion_airbyte.plugin import AirbyteIngestionPlugin
from floe_ingestion_airbyte.testing import (
    API_TOKEN,
    ICEBERG_CONNECTION_ID,
    ICEBERG_DESTINATION_ID,
    INACTIVE_CONNECTION_ID,
    POSTGRES_CONNECTION_ID,
    AirbyteEmulator,
    Fault,
    JobPlan,
    ManualClock,
)

JOB_ROUTE = "GET /jobs/{jobId}"


def statuses_polled(airbyte: AirbyteEmulator) -> int:
    return airbyte.request_count(JOB_ROUTE)


# --- create_pipeline --------------------------------------------------------------------------


def test_create_pipeline_returns_a_serialisable_handle(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    plugin = make_plugin()
    handle = plugin.create_pipeline(config)
    assert handle.connection_id == ICEBERG_CONNECTION_ID
    assert handle.destination_id == ICEBERG_DESTINATION_ID
    assert handle.destination_type == "s3-data-lake"
    assert handle.table_identifiers == ["bronze.users", "bronze.orders"]
    assert handle.api_url == airbyte.public_url
    data = json.loads(json.dumps(handle.to_dict()))
    assert AirbyteConnectionHandle.from_dict(data) == handle
    assert pickle.loads(pickle.dumps(handle)) == handle
    with pytest.raises(AttributeError):
        handle.connection_id = "x"  # type: ignore[misc]


def test_connection_id_may_come_from_source(make_plugin: PluginFactory) -> None:
    config = pipeline(source=ICEBERG_CONNECTION_ID, options={})
    assert make_plugin().create_pipeline(config).connection_id == ICEBERG_CONNECTION_ID


@pytest.mark.parametrize(
    ("connection_id", "code", "words"),
    [
        ("not-a-uuid", ErrorCode.INVALID_CONFIG, "not an Airbyte connection id"),
        ("00000000-0000-4000-8000-000000000000", ErrorCode.CONNECTION_NOT_FOUND, "does not exist"),
        (INACTIVE_CONNECTION_ID, ErrorCode.CONNECTION_NOT_FOUND, "is inactive"),
        (POSTGRES_CONNECTION_ID, ErrorCode.DESTINATION_CONFIG_ERROR, "type 'postgres'"),
    ],
)
def test_create_pipeline_explains_unusable_connections(
    make_plugin: PluginFactory, connection_id: str, code: ErrorCode, words: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_plugin().create_pipeline(pipeline(connection_id))
    error = raised.value.error
    assert error.category is ErrorCategory.CONFIGURATION
    assert error.code is code
    assert words in error.message
    assert "orders_sync" in error.message  # names the pipeline


def test_connection_of_another_workspace(make_plugin: PluginFactory) -> None:
    plugin = make_plugin(workspace_id="11111111-1111-4111-8111-111111111111")
    with pytest.raises(ConfigurationError, match="belongs to workspace"):
        plugin.create_pipeline(pipeline())


def test_connection_with_no_streams(make_plugin: PluginFactory, airbyte: AirbyteEmulator) -> None:
    empty = airbyte.add_connection(name="empty", destination_id=ICEBERG_DESTINATION_ID, streams=())
    with pytest.raises(ConfigurationError, match="has no streams"):
        make_plugin().create_pipeline(pipeline(empty))


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"workspace_url": None}, "workspace_url"),
        ({"api_url": "http://x/api/public/v1"}, "not both"),
        ({"connection_secret_ref": None}, "connection_secret_ref is required"),
        ({"pol_interval_seconds": 3}, "unknown key 'pol_interval_seconds'"),
        ({"auth": "basic"}, "needs username"),
        ({"workspace_url": "airbyte.local"}, "not an http(s) URL"),
    ],
)
def test_settings_errors_name_the_key(
    make_plugin: PluginFactory, settings: dict[str, Any], words: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_plugin(**settings).create_pipeline(pipeline())
    assert raised.value.error.code is ErrorCode.INVALID_CONFIG
    assert words in raised.value.error.message
    assert "platform-manifest.yaml" in raised.value.error.message


def test_missing_secret(make_plugin: PluginFactory) -> None:
    with pytest.raises(ConfigurationError) as raised:
        make_plugin(secret="").create_pipeline(pipeline())
    assert raised.value.error.code is ErrorCode.SECRET_MISSING
    assert "AIRBYTE_CLIENT_SECRET" in raised.value.error.message


def test_unknown_pipeline_options(make_plugin: PluginFactory) -> None:
    config = pipeline(options={"connection_id": ICEBERG_CONNECTION_ID, "conection": 1})
    with pytest.raises(ConfigurationError, match="unknown key 'conection'"):
        make_plugin().create_pipeline(config)


def test_stream_namespaces_and_prefix(make_plugin: PluginFactory, airbyte: AirbyteEmulator) -> None:
    source_ns = airbyte.add_connection(
        name="by source",
        destination_id=ICEBERG_DESTINATION_ID,
        namespace_definition="source",
        prefix="crm_",
        streams=[{"name": "accounts", "namespace": "sales"}, "leads"],
    )
    custom = airbyte.add_connection(
        name="custom",
        destination_id=ICEBERG_DESTINATION_ID,
        namespace_definition="custom_format",
        namespace_format="raw_${SOURCE_NAMESPACE}",
        streams=[{"name": "accounts", "namespace": "sales"}],
    )
    plugin = make_plugin()
    assert plugin.create_pipeline(pipeline(source_ns)).table_identifiers == [
        "sales.crm_accounts",
        "bronze.crm_leads",
    ]
    assert plugin.create_pipeline(pipeline(custom)).table_identifiers == ["raw_sales.accounts"]


# --- run: success -----------------------------------------------------------------------------


def test_successful_sync(
    make_plugin: PluginFactory,
    airbyte: AirbyteEmulator,
    manual_clock: ManualClock,
    config: IngestionConfig,
) -> None:
    plugin = make_plugin()
    airbyte.plan_jobs(
        ICEBERG_CONNECTION_ID,
        JobPlan.succeeded(rows=1234, rows_by_stream={"users": 34, "orders": 1200}),
    )
    result = plugin.run(plugin.create_pipeline(config))
    assert result.success
    assert result.error is None
    assert result.rows_loaded == 1234
    assert result.tables_created == ["bronze.users", "bronze.orders"]
    assert result.rows_by_table == {"bronze.users": 34, "bronze.orders": 1200}
    assert result.plugin == "airbyte"
    assert result.pipeline == "orders_sync"
    details = result.details
    assert details["job_id"] == 1
    assert details["bytes_synced"] == 1234 * 128
    assert details["job_status"] == "succeeded"
    assert details["attached"] is False
    assert details["polls"] == 5
    assert details["warnings"] == []
    assert result.duration_seconds == 50.0  # five 10 s polls on the manual clock
    assert manual_clock.sleeps == [10, 10, 10, 10, 10]
    assert details["http_requests"] == 1 + 5 + 1  # POST /jobs, polls, job details


def test_zero_rows_is_a_success_with_a_warning(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    plugin = make_plugin()
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.succeeded(rows=0))
    result = plugin.run(plugin.create_pipeline(config))
    assert result.success
    assert result.rows_loaded == 0
    assert any("0 rows" in warning for warning in result.details["warnings"])


def test_queued_and_incomplete_are_in_progress(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    statuses = (
        "pending",
        "queued",
        "queued",
        "queued",
        "running",
        "incomplete",
        "queued",
        "running",
        "incomplete",
        "running",
    )
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan(statuses=statuses))
    plugin = make_plugin()
    result = plugin.run(plugin.create_pipeline(config))
    assert result.success
    assert statuses_polled(airbyte) == len(statuses)
    assert result.details["attempts"] == 3


def test_token_is_refreshed_during_a_long_sync(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.long(running_steps=90))  # ~15 minutes
    plugin = make_plugin()
    result = plugin.run(plugin.create_pipeline(config))
    assert result.success
    assert airbyte.tokens_issued >= 6  # 180 s tokens, renewed every 144 s
    assert all(item.status != 401 for item in airbyte.requests)


def test_token_expiring_mid_sync_is_refreshed_once(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    plugin = make_plugin()
    handle = plugin.create_pipeline(config)
    airbyte.add_fault(Fault.token_expiry(JOB_ROUTE, skip=2))
    result = plugin.run(handle)
    assert result.success
    assert [item.status for item in airbyte.requests].count(401) == 1
    assert airbyte.tokens_issued == 2


def test_attaches_to_a_sync_already_running(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    plugin = make_plugin()
    handle = plugin.create_pipeline(config)
    running = airbyte.start_job(ICEBERG_CONNECTION_ID)  # Airbyte's scheduler started one
    result = plugin.run(handle)
    assert result.success
    assert result.details["job_id"] == running
    assert result.details["attached"] is True
    assert "attached" in result.details["warnings"][0]
    assert len(airbyte.jobs(ICEBERG_CONNECTION_ID)) == 1
    assert [item.status for item in airbyte.requests if item.route == "POST /jobs"] == [409]


def test_slow_post_is_attached_not_repeated(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    plugin = make_plugin(request_timeout_seconds=0.2)
    handle = plugin.create_pipeline(config)
    airbyte.add_fault(Fault.slow("POST /jobs", delay=0.6))
    result = plugin.run(handle)
    assert result.success
    assert result.details["attached"] is True
    assert airbyte.request_count("POST /jobs") == 1
    assert len(airbyte.jobs(ICEBERG_CONNECTION_ID)) == 1


def test_ambiguous_post_is_sent_again_only_after_finding_no_job(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    plugin = make_plugin()
    handle = plugin.create_pipeline(config)
    airbyte.add_fault(Fault.server_errors("POST /jobs", status=502, times=1))
    result = plugin.run(handle)
    assert result.success
    start = [item.route for item in airbyte.requests if item.route in ("POST /jobs", "GET /jobs")]
    assert start == ["POST /jobs", "GET /jobs", "POST /jobs"]
    assert len(airbyte.jobs(ICEBERG_CONNECTION_ID)) == 1


# --- run: cancellation ------------------------------------------------------------------------


def test_poll_timeout_cancels_the_job(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator, config: IngestionConfig
) -> None:
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.long(running_steps=100))
    plugin = make_plugin(timeout_seconds=45)
    result = plugin.run(plugin.create_pipeline(config))
    assert not result.success
    assert result.error is not None
    assert (result.error.category, result.error.code) == (
        ErrorCategory.TRANSIENT,
        ErrorCode.TIMEOUT,
    )
    assert "timeout_seconds=45" in result.error.message
    assert airbyte.request_count("DELETE /jobs/{jobId}") == 1
    assert airbyte.job(1)["status"] == "cancelled"
    assert result.duration_seconds == 45.0


class FinishBeforeCancelSession(requests.Session):
    """A real session; just before a DELETE leaves, the job finishes in the emulator."""

    def __init__(self, airbyte: AirbyteEmulator) -> None:
        super().__init__()
        self.airbyte = airbyte

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        if method == "DELETE":
            self.airbyte.advance_job(1, steps=100)
        return super().request(method, url, *args, **kwargs)


def test_job_finishing_as_it_is_cancelled_is_reported_as_it_ended(
    manual_clock: ManualClock, config: IngestionConfig, airbyte: AirbyteEmulator
) -> None:
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.long(running_steps=100))
    context = make_plugin_context(airbyte, timeout_seconds=30)
    plugin = AirbyteIngestionPlugin(
        context,
        sleep=manual_clock.sleep,
        clock=manual_clock,
        session=FinishBeforeCancelSession(airbyte),
    )
    result = plugin.run(plugin.create_pipeline(config))
    assert result.success  # it finished as floe gave up: the cancel answered 409
    assert result.details["cancelled_by"] == "timeout"
    assert [i.status for i in airbyte.requests if i.route == "DELETE /jobs/{jobId}"] == [409]


def test_caller_cancellation_cancels_the_job(
    make_plugin: PluginFactory,
    airbyte: AirbyteEmulator,
    manual_clock: ManualClock,
    config: IngestionConfig,
) -> None:
    cancel = threading.Event()

    def sleep(seconds: float) -> None:
        manual_clock.sleep(seconds)
        if len(manual_clock.sleeps) == 2:
            cancel.set()  # the caller gives up during the second wait

    plugin = make_plugin(sleep=sleep)
    result = plugin.run(plugin.create_pipeline(config), cancel_event=cancel)
    assert result.error is not None
    assert (result.error.category, result.error.code) == (
        ErrorCategory.PERMANENT,
        ErrorCode.SYNC_CANCELLED,
    )
    assert result.error.details is not None
    assert result.error.details["cancelled_by"] == "caller"
    assert airbyte.job(1)["status"] == "cancelled"


def test_keyboard_interrupt_cancels_the_job_and_propagates(
    make_plugin: PluginFactory,
    airbyte: AirbyteEmulator,
    manual_clock: ManualClock,
    config: IngestionConfig,
) -> None:
    def sleep(seconds: float) -> None:
        manual_clock.sleep(seconds)
        if len(manual_clock.sleeps) == 3:
            raise KeyboardInterrupt

    plugin = make_plugin(sleep=sleep)
    handle = plugin.create_pipeline(config)
    with pytest.raises(KeyboardInterrupt):
        IngestionRunner(plugin, sleep=manual_clock.sleep, clock=manual_clock).run(config)
    assert airbyte.request_count("DELETE /jobs/{jobId}") == 1
    assert airbyte.job(1)["status"] == "cancelled"
    assert handle.connection_id == ICEBERG_CONNECTION_ID


# --- run: rate limits and the runner ----------------------------------------------------------


def test_short_retry_after_is_waited_by_the_client(
    make_plugin: PluginFactory,
    airbyte: AirbyteEmulator,
    manual_clock: ManualClock,
    config: IngestionConfig,
) -> None:
    plugin = make_plugin()
    handle = plugin.create_pipeline(config)
    airbyte.add_fault(Fault.rate_limit(JOB_ROUTE, retry_after=4, skip=1))
    assert plugin.run(handle).success
    assert 4 in manual_clock.sleeps


def test_long_retry_after_is_left_to_the_runner(
    make_plugin: PluginFactory,
    airbyte: AirbyteEmulator,
    manual_clock: ManualClock,
    config: IngestionConfig,
) -> None:
    plugin = make_plugin()
    airbyte.add_fault(Fault.rate_limit("POST /jobs", retry_after=120))
    direct = plugin.run(plugin.create_pipeline(config))
    assert direct.error is not None
    assert (direct.error.category, direct.error.code) == (
        ErrorCategory.TRANSIENT,
        ErrorCode.RATE_LIMITED,
    )
    assert direct.error.retry_after_seconds == 120

    airbyte.add_fault(Fault.rate_limit("POST /jobs", retry_after=120))
    runner = IngestionRunner(
        plugin,
        retry=RetryPolicy(max_attempts=3, initial_delay_seconds=1, max_delay_seconds=600),
        sleep=manual_clock.sleep,
        clock=manual_clock,
    )
    manual_clock.sleeps.clear()
    result = runner.run(config)
    assert result.success
    assert result.attempts == 2
    assert manual_clock.sleeps[0] == 120  # the runner waited what Airbyte asked
    assert len(airbyte.jobs(ICEBERG_CONNECTION_ID)) == 1


def test_runner_reports_the_plugin_result(
    make_plugin: PluginFactory, manual_clock: ManualClock, config: IngestionConfig
) -> None:
    plugin = make_plugin()
    result = IngestionRunner(plugin, sleep=manual_clock.sleep, clock=manual_clock).run(config)
    assert result.success
    assert result.rows_loaded == 1000
    assert result.tables_created == ["bronze.users", "bronze.orders"]


def test_plugin_is_registered_as_an_entry_point() -> None:
    from floe_core.registry import PluginRegistry

    registry = PluginRegistry()
    assert "airbyte" in registry.names()
    plugin = registry.create("airbyte")
    assert isinstance(plugin, AirbyteIngestionPlugin)
    assert plugin.is_external is True
    assert plugin.name == "airbyte"


def test_run_rejects_unknown_arguments(make_plugin: PluginFactory, config: IngestionConfig) -> None:
    plugin = make_plugin()
    handle = plugin.create_pipeline(config)
    with pytest.raises(ConfigurationError, match="source"):
        plugin.run(handle, source=object())
    with pytest.raises(ConfigurationError, match="wait"):
        plugin.run(handle, wait=True)
    with pytest.raises(ConfigurationError, match="not an Airbyte pipeline handle"):
        plugin.run({"connection_id": ICEBERG_CONNECTION_ID})


def test_run_accepts_a_serialised_handle(
    make_plugin: PluginFactory, config: IngestionConfig
) -> None:
    plugin = make_plugin()
    data = json.loads(json.dumps(plugin.create_pipeline(config).to_dict()))
    assert make_plugin().run(data).success


@pytest.mark.parametrize(("poll_seconds", "minutes"), [(10, 10), (30, 60), (60, 360)])
def test_http_requests_per_sync_grow_linearly_with_its_length(
    manual_clock: ManualClock, airbyte: AirbyteEmulator, poll_seconds: int, minutes: int
) -> None:
    """The README's polling-cost formula: 4 + L/poll polls + the token renewals (a 180 s token
    is renewed at the first request 144 s or more after it was obtained)."""
    length = minutes * 60
    steps = length // 30 - 2  # pending and queued take one 30 s step each
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.long(running_steps=steps, step_seconds=30))
    context = make_plugin_context(airbyte, poll_interval_seconds=poll_seconds)
    plugin = AirbyteIngestionPlugin(context, sleep=manual_clock.sleep, clock=manual_clock)
    result = plugin.run(plugin.create_pipeline(pipeline()))
    assert result.success
    assert result.duration_seconds == length
    polls = length // poll_seconds
    renewal = poll_seconds * -(-144 // poll_seconds)
    tokens = length // renewal + 1
    assert airbyte.request_count("GET /jobs/{jobId}") == polls
    assert airbyte.request_count("POST /applications/token") == tokens
    assert len(airbyte.requests) == 4 + polls + tokens


def test_a_pipeline_may_bring_its_own_credential(
    manual_clock: ManualClock, airbyte: AirbyteEmulator
) -> None:
    airbyte.add_api_token("team-token-value")
    context = make_plugin_context(airbyte, auth="bearer", client_id=None, secret=API_TOKEN)
    context.secrets = SecretResolver(
        environ={"AIRBYTE_CLIENT_SECRET": API_TOKEN, "TEAM_AIRBYTE_TOKEN": "team-token-value"}
    )
    plugin = AirbyteIngestionPlugin(context, sleep=manual_clock.sleep, clock=manual_clock)
    config = pipeline(secret_refs={"connection_secret": "team-airbyte-token"})
    handle = plugin.create_pipeline(config)
    assert handle.credential_ref == "team-airbyte-token"
    assert "team-token-value" not in json.dumps(handle.to_dict())
    assert plugin.run(handle).success
    with pytest.raises(ConfigurationError, match="takes only 'connection_secret'"):
        plugin.create_pipeline(pipeline(secret_refs={"github_token": "gh"}))
    with pytest.raises(ConfigurationError) as raised:
        plugin.create_pipeline(pipeline(secret_refs={"connection_secret": "nowhere-token"}))
    assert raised.value.error.code is ErrorCode.SECRET_MISSING
    assert "nowhere-token" in raised.value.error.message
