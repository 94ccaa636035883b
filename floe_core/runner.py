"""`IngestionRunner`: the one place every ingestion run goes through (ARCHITECTURE.md, decision 3).

It wraps ``plugin.create_pipeline`` + ``plugin.run`` with

* **retry**: a :class:`~floe_core.retry.RetryPolicy` decides whether an error's category is
  retried and how long to wait (exponential backoff, ``retry_after_seconds`` honoured, capped);
  sleeping is injected so tests run in milliseconds;
* **OpenLineage**: one lineage run per logical run: START, a RUNNING event per retry (carrying
  the error that caused it), then COMPLETE or FAIL;
* **Prometheus** metrics on an injected registry, pushed to a Pushgateway when configured;
* **secret redaction** of every message, result and event it hands on;
* **classification**: anything a plugin raises becomes an :class:`~floe_core.errors.IngestionError`
  (unclassified exceptions become ``PERMANENT``/``UNKNOWN``).

:meth:`IngestionRunner.run` never raises for an ingestion failure: the returned
:class:`~floe_core.result.IngestionResult` is always complete and carries the error. Only a
caller's interruption (``KeyboardInterrupt``, ``SystemExit``) propagates, after the FAIL event
and metrics are recorded. A lineage or metrics backend that fails is logged and never fails
the run.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from floe_core.config import IngestionConfig
from floe_core.errors import (
    ErrorCategory,
    ErrorCode,
    IngestionError,
    classify_exception,
)
from floe_core.plugin import IngestionPlugin
from floe_core.result import IngestionResult
from floe_core.retry import RetryPolicy
from floe_core.secrets import Redactor

if TYPE_CHECKING:
    from floe_core.lineage import LineageEmitter, LineageRun, ParentRun
    from floe_core.metrics import IngestionMetrics

__all__ = ["IngestionRunner"]

logger = logging.getLogger("floe.runner")


class IngestionRunner:
    """Runs configured pipelines through one plugin, with retry, lineage and metrics."""

    def __init__(
        self,
        plugin: IngestionPlugin,
        *,
        retry: RetryPolicy | None = None,
        lineage: LineageEmitter | None = None,
        metrics: IngestionMetrics | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        redactor: Redactor | None = None,
        parent: ParentRun | None = None,
    ) -> None:
        self.plugin = plugin
        self.retry = retry or RetryPolicy()
        self.lineage = lineage
        self.metrics = metrics
        self.sleep = sleep
        self.clock = clock
        self.redactor = plugin.context.secrets.redactor if redactor is None else redactor
        self.parent = parent

    def run(self, config: IngestionConfig, **run_kwargs: Any) -> IngestionResult:
        """Run ``config`` until it succeeds, fails for good, or runs out of attempts."""
        started = self.clock()
        lineage_run = self._lineage_run(config)
        if self.lineage is not None:
            _safely("lineage START", self.lineage.start, lineage_run, config)
        logger.info(
            "ingestion %s starting with plugin %s",
            config.name,
            self.plugin.name,
            extra={"pipeline": config.name, "plugin": self.plugin.name},
        )
        attempt = 0
        stack_trace: str | None = None
        try:
            while True:
                attempt += 1
                outcome, stack_trace = self._attempt(config, run_kwargs)
                if outcome.success or outcome.error is None:
                    break
                error = self._redacted(outcome.error)
                if not self.retry.should_retry(error, attempt):
                    break
                delay = self.retry.delay_seconds(error, attempt)
                logger.warning(
                    "ingestion %s attempt %d failed (%s); retrying in %.1f s",
                    config.name,
                    attempt,
                    error,
                    delay,
                    extra={"pipeline": config.name, "attempt": attempt, "code": error.code.value},
                )
                if self.metrics is not None:
                    _safely("metrics retry", self.metrics.record_retry, config.name, error)
                if self.lineage is not None:
                    _safely(
                        "lineage RUNNING", self.lineage.retrying, lineage_run, error, attempt, delay
                    )
                self.sleep(delay)
        except BaseException as interruption:  # the caller cancelled: record it, then re-raise
            outcome = self._failed(
                config,
                IngestionError(
                    ErrorCategory.PERMANENT,
                    ErrorCode.RUN_CANCELLED,
                    f"run interrupted by {type(interruption).__name__}",
                    config.name,
                ),
            )
            self._finish(config, outcome, attempt, started, lineage_run, None)
            raise
        return self._finish(config, outcome, attempt, started, lineage_run, stack_trace)

    def _attempt(
        self, config: IngestionConfig, run_kwargs: dict[str, Any]
    ) -> tuple[IngestionResult, str | None]:
        """One create_pipeline + run; exceptions become a failed result with a stack trace."""
        try:
            pipeline = self.plugin.create_pipeline(config)
            result = self.plugin.run(pipeline, **run_kwargs)
        except Exception as exc:
            error = classify_exception(exc, source=config.name)
            return self._failed(config, error), traceback.format_exc()
        if not isinstance(result, IngestionResult):
            error = IngestionError(
                ErrorCategory.CONFIGURATION,
                ErrorCode.PLUGIN_INCOMPATIBLE,
                f"plugin {self.plugin.name!r} returned {type(result).__name__} from run(); "
                "it must return an IngestionResult",
                config.name,
            )
            return self._failed(config, error), None
        if not result.success and result.error is None:
            error = IngestionError(
                ErrorCategory.PERMANENT,
                ErrorCode.UNKNOWN,
                f"plugin {self.plugin.name!r} reported a failure without an error",
                config.name,
            )
            return result.replace(error=error), None
        return result, None

    def _failed(self, config: IngestionConfig, error: IngestionError) -> IngestionResult:
        return IngestionResult(
            success=False,
            rows_loaded=0,
            tables_created=[],
            duration_seconds=0.0,
            error=error,
            pipeline=config.name,
            plugin=self.plugin.name,
        )

    def _finish(
        self,
        config: IngestionConfig,
        outcome: IngestionResult,
        attempts: int,
        started: float,
        lineage_run: LineageRun | None,
        stack_trace: str | None,
    ) -> IngestionResult:
        error = self._redacted(outcome.error) if outcome.error is not None else None
        result = outcome.replace(
            success=outcome.success and error is None,
            error=error,
            pipeline=config.name,
            plugin=self.plugin.name,
            attempts=attempts,
            duration_seconds=max(0.0, self.clock() - started),
            details=self.redactor.redact_data(outcome.details),
        )
        if self.metrics is not None:
            _safely("metrics", self.metrics.record_result, config.name, result)
            _safely("metrics push", self.metrics.push, config.name)
        if self.lineage is not None:
            if result.success:
                _safely("lineage COMPLETE", self.lineage.complete, lineage_run, result)
            else:
                trace = self.redactor.redact(stack_trace) if stack_trace else None
                _safely("lineage FAIL", self.lineage.fail, lineage_run, result, trace)
        if result.success:
            logger.info(
                "ingestion %s succeeded: %d rows into %d table(s) in %.2f s",
                config.name,
                result.rows_loaded,
                len(result.tables),
                result.duration_seconds,
                extra={"pipeline": config.name, "rows_loaded": result.rows_loaded},
            )
        else:
            assert result.error is not None
            logger.error(
                "ingestion %s failed after %d attempt(s): %s",
                config.name,
                attempts,
                result.error,
                extra={"pipeline": config.name, "code": result.error.code.value},
            )
        return result

    def _redacted(self, error: IngestionError) -> IngestionError:
        return error.replace(
            message=self.redactor.redact(error.message),
            details=self.redactor.redact_data(error.details),
        )

    def _lineage_run(self, config: IngestionConfig) -> LineageRun | None:
        if self.lineage is None:
            return None
        from floe_core.lineage import LineageRun

        return LineageRun.new(
            config.name,
            self.plugin.name,
            config.destination_table,
            parent=self.parent,
            destination_location=self._known_location(config),
        )

    def _known_location(self, config: IngestionConfig) -> str | None:
        """The destination table's location if it already exists (names START's dataset).

        Only for embedded plugins, whose catalog floe loads anyway; an external service's
        catalog may not be reachable from here. Any failure just leaves the location unknown.
        """
        if self.plugin.is_external:
            return None
        try:
            catalog = self.plugin.context.catalog
            if catalog.table_exists(config.destination_table):
                return str(catalog.load_table(config.destination_table).location())
        except Exception as exc:
            logger.debug("destination location of %s unknown: %s", config.name, type(exc).__name__)
        return None


def _safely(what: str, call: Callable[..., object], *args: Any) -> None:
    """Call an observer; its failure is logged, never raised (observability is best-effort)."""
    try:
        call(*args)
    except Exception as exc:
        logger.warning("%s failed and was skipped: %s: %s", what, type(exc).__name__, exc)
