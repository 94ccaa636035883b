"""The runner: retry, classification, complete results, secrets (lineage/metrics: test_runner_observed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from floe_core.config import IngestionConfig
from floe_core.errors import (
    ConfigurationError,
    ErrorCategory,
    ErrorCode,
    IngestionError,
    PartialError,
    PermanentError,
    TransientError,
)
from floe_core.plugin import PluginContext
from floe_core.retry import RetryPolicy
from floe_core.runner import IngestionRunner
from floe_core.secrets import SecretResolver
from tests.runner_plugins import ArrowTablePlugin, failing_result

CONFIG = IngestionConfig(name="orders", source="test", destination_table="bronze.orders")
FAST = RetryPolicy(max_attempts=4, initial_delay_seconds=1, max_delay_seconds=8)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make(tmp_path: Path, behaviours: list[object], **context: object) -> ArrowTablePlugin:
    return ArrowTablePlugin(PluginContext(project_dir=tmp_path, **context), behaviours=behaviours)  # type: ignore[arg-type]


def test_success_writes_iceberg_and_result_is_complete(tmp_path: Path) -> None:
    plugin = make(tmp_path, [])
    result = IngestionRunner(plugin, retry=FAST).run(CONFIG, source=[{"id": i} for i in range(5)])
    assert result.success and result.error is None
    assert (result.rows_loaded, result.tables_created) == (5, ["bronze.orders"])
    assert (result.pipeline, result.plugin, result.attempts) == ("orders", "arrow", 1)
    assert result.duration_seconds > 0
    table = plugin.context.catalog.load_table("bronze.orders")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == [0, 1, 2, 3, 4]


def test_transient_errors_are_retried_with_backoff_until_success(tmp_path: Path) -> None:
    sleeps = Sleeps()
    plugin = make(tmp_path, [TransientError("NETWORK_ERROR", "reset"), TimeoutError("read"), None])
    result = IngestionRunner(plugin, retry=FAST, sleep=sleeps).run(CONFIG)
    assert result.success
    assert result.attempts == 3 and plugin.calls == 3
    assert sleeps == [1, 2]


def test_retry_after_is_honoured_and_capped(tmp_path: Path) -> None:
    sleeps = Sleeps()
    behaviours = [
        TransientError("RATE_LIMITED", "429", retry_after_seconds=5),
        TransientError("RATE_LIMITED", "429", retry_after_seconds=60),
        None,
    ]
    IngestionRunner(make(tmp_path, behaviours), retry=FAST, sleep=sleeps).run(CONFIG)
    assert sleeps == [5, 8]  # 5 beats the computed 1; 60 is capped at max_delay_seconds=8


def test_gives_up_after_max_attempts_with_the_last_error(tmp_path: Path) -> None:
    sleeps = Sleeps()
    behaviours = [TransientError("SERVICE_UNAVAILABLE", f"503 #{i}") for i in range(10)]
    plugin = make(tmp_path, behaviours)
    result = IngestionRunner(plugin, retry=FAST, sleep=sleeps).run(CONFIG)
    assert not result.success
    assert result.attempts == 4 and plugin.calls == 4
    assert sleeps == [1, 2, 4]
    assert result.error is not None and result.error.message == "503 #3"


@pytest.mark.parametrize(
    "failure",
    [
        PermanentError("AUTH_FAILED", "401"),
        ConfigurationError("INVALID_CONFIG", "bad"),
        PartialError("PARTIAL_LOAD", "half", failed_records=7),
        ValueError("unclassified"),
    ],
)
def test_non_retryable_categories_run_once(tmp_path: Path, failure: Exception) -> None:
    sleeps = Sleeps()
    plugin = make(tmp_path, [failure, None])
    result = IngestionRunner(plugin, retry=FAST, sleep=sleeps).run(CONFIG)
    assert not result.success and plugin.calls == 1 and sleeps == []
    assert result.error is not None and not result.error.retryable


def test_partial_is_retried_when_the_policy_lists_it(tmp_path: Path) -> None:
    policy = FAST.model_copy(update={"retryable_categories": frozenset({"TRANSIENT", "PARTIAL"})})
    plugin = make(tmp_path, [PartialError("PARTIAL_LOAD", "half"), None])
    assert IngestionRunner(plugin, retry=policy, sleep=Sleeps()).run(CONFIG).success


def test_unclassified_exception_becomes_unknown_not_a_traceback(tmp_path: Path) -> None:
    result = IngestionRunner(make(tmp_path, [KeyError("col")]), retry=FAST).run(CONFIG)
    assert result.error is not None
    assert (result.error.category, result.error.code) == ("PERMANENT", "UNKNOWN")
    assert result.error.details == {
        "exception_type": "builtins.KeyError",
        "exception_message": "'col'",
    }
    assert result.error.source == "orders"


def test_failed_result_returned_by_plugin_is_kept_with_its_rows(tmp_path: Path) -> None:
    error = IngestionError(
        ErrorCategory.PARTIAL, ErrorCode.PARTIAL_LOAD, "2 failed", "orders", failed_records=2
    )
    plugin = make(tmp_path, [failing_result(error, rows=8)])
    result = IngestionRunner(plugin, retry=FAST).run(CONFIG)
    assert (result.success, result.rows_loaded, result.error) == (False, 8, error)
    assert result.pipeline == "orders" and result.attempts == 1


def test_plugin_returning_garbage_is_incompatible(tmp_path: Path) -> None:
    result = IngestionRunner(make(tmp_path, [lambda config: {"ok": True}]), retry=FAST).run(CONFIG)
    assert result.error is not None and result.error.code == "PLUGIN_INCOMPATIBLE"


def test_failure_without_error_becomes_unknown(tmp_path: Path) -> None:
    plugin = make(tmp_path, [failing_result(None)])
    result = IngestionRunner(plugin, retry=FAST).run(CONFIG)
    assert result.error is not None and result.error.code == "UNKNOWN"


def test_secrets_are_redacted_from_errors(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    canary = "canary-token-8b1f2e"
    secrets = SecretResolver(environ={"API_TOKEN": canary})
    secrets.resolve("api-token")  # a plugin resolved it
    failure = PermanentError("AUTH_FAILED", f"token {canary} refused", details={"token": canary})
    plugin = make(tmp_path, [failure, ValueError(canary)], secrets=secrets)
    result = IngestionRunner(plugin, retry=FAST).run(CONFIG)
    second = IngestionRunner(plugin, retry=FAST).run(CONFIG)
    for res in (result, second):
        assert canary not in repr(res.to_dict())
    assert canary not in caplog.text


def test_keyboard_interrupt_propagates_after_recording(tmp_path: Path) -> None:
    plugin = make(tmp_path, [KeyboardInterrupt()])
    with pytest.raises(KeyboardInterrupt):
        IngestionRunner(plugin, retry=FAST).run(CONFIG)
