"""Prometheus metrics of ingestion runs, on an injected registry, pushed to a Pushgateway.

:class:`IngestionMetrics` is what the runner calls; plugins never do. It owns the metric
families listed in :data:`FAMILIES` (documented in ``docs/reference/metrics.md``) on a
:class:`~prometheus_client.CollectorRegistry`: the one the caller passes, or a private new one
(never the process-global default registry unless the caller passes it). In-process callers read
that registry; batch runs push it with :meth:`IngestionMetrics.push` (ARCHITECTURE decision 8).

Labels are bounded on purpose. ``source`` is the pipeline name (``IngestionConfig.name``): it
is chosen by the project author, validated as an identifier, and there are as many values as
pipelines. ``category`` and ``code`` come from the closed enums of :mod:`floe_core.errors`;
``status`` is one of ``success``, ``failure``, ``partial``. No run id, message, table name or
anything else taken from data or errors ever becomes a label, so neither can a secret.

Pushing so that counters accumulate across processes
----------------------------------------------------
Each run may be a fresh process (a Kubernetes pod) whose registry starts at zero, and a plain
``PUT`` replaces the gateway's group, so pushing the registry as is would reset every counter to
this run's values. :meth:`IngestionMetrics.push` instead:

1. reads the group's current values from the gateway's JSON API (``GET /api/v1/metrics``);
2. adds what this process counted *since its last successful push* (counters, histogram
   buckets, sum and count), and keeps the newer of the gateway's and this process's timestamp
   gauges (so a failed run leaves ``last_success`` as it was);
3. replaces the group (``PUT``) with the result, built as custom collectors on a throw-away
   registry (no ``_created`` series, which would make every pod look like a counter reset).

Only after the ``PUT`` succeeds are the pushed values recorded as this process's baseline, so
pushing twice never counts twice and a failed push is made up by the next one. The group is
``job="floe_ingestion"`` plus the grouping key ``{"pipeline": <source>}`` (stable, never a run
id); the group belongs to floe: other metrics pushed into it are dropped by the ``PUT``.

Limits: the read-then-replace is not atomic, so two runs of the *same* pipeline pushing at the
same instant can lose one's increments (one group per pipeline makes that rare; runs of
different pipelines never interfere). If the gateway loses its state (restart without
persistence) counters restart from zero, which Prometheus' ``rate``/``increase`` treat as an
ordinary counter reset. A histogram whose buckets on the gateway differ from
:data:`DURATION_BUCKETS` (older floe) is restarted rather than mixed, with a warning.

A push never raises: a gateway that is down, slow or broken is a logged warning and ``False``,
and the whole push (read and write) is bounded by ``push_timeout_seconds``.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from floe_core.config import IDENTIFIER_PATTERN
from floe_core.errors import ErrorCategory, ErrorCode, IngestionError
from floe_core.pushgateway import (
    GatewayFamily,
    PushgatewayClient,
    PushgatewayError,
    validate_grouping_key,
)
from floe_core.result import IngestionResult

__all__ = [
    "DEFAULT_JOB",
    "DURATION_BUCKETS",
    "FAMILIES",
    "IngestionMetrics",
    "MetricFamily",
    "RunStatus",
]

logger = logging.getLogger(__name__)

DEFAULT_JOB = "floe_ingestion"
"""The Pushgateway ``job`` label of ingestion metrics."""

DURATION_BUCKETS: tuple[float, ...] = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    600.0, 1200.0, 1800.0, 3600.0, 5400.0, 7200.0,
)  # fmt: skip
"""Upper bounds (seconds) of ``floe_ingestion_run_duration_seconds``: 0.1 s to 2 h, then +Inf."""

_BOUNDS: tuple[float, ...] = (*DURATION_BUCKETS, math.inf)


class RunStatus(StrEnum):
    """The ``status`` label of ``floe_ingestion_runs_total``."""

    SUCCESS = "success"
    """The run succeeded."""
    FAILURE = "failure"
    """The run failed (any error category but ``PARTIAL``)."""
    PARTIAL = "partial"
    """The run failed with a ``PARTIAL`` error: part of the data was committed."""

    @classmethod
    def of(cls, result: IngestionResult) -> RunStatus:
        """The status of a finished run."""
        if result.success:
            return cls.SUCCESS
        if result.error is not None and result.error.category is ErrorCategory.PARTIAL:
            return cls.PARTIAL
        return cls.FAILURE


Kind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class MetricFamily:
    """One metric floe exports: exposition ``name``, ``kind``, help text and label names."""

    name: str
    kind: Kind
    documentation: str
    labelnames: tuple[str, ...]


ERRORS = MetricFamily(
    "floe_ingestion_errors_total",
    "counter",
    "Failed ingestion attempts (retried ones included), by error category and code.",
    ("source", "category", "code"),
)
RETRIES = MetricFamily(
    "floe_ingestion_retry_total",
    "counter",
    "Attempts that failed and were retried by the runner.",
    ("source",),
)
ROWS_FAILED = MetricFamily(
    "floe_ingestion_rows_failed_total",
    "counter",
    "Records that failed to load, as reported by a run's final error (failed_records).",
    ("source",),
)
ROWS_LOADED = MetricFamily(
    "floe_ingestion_rows_loaded_total",
    "counter",
    "Rows committed to Iceberg tables, partial runs included.",
    ("source",),
)
RUNS = MetricFamily(
    "floe_ingestion_runs_total",
    "counter",
    "Finished ingestion runs by status (success, failure, partial).",
    ("source", "status"),
)
DURATION = MetricFamily(
    "floe_ingestion_run_duration_seconds",
    "histogram",
    "Wall-clock duration of finished ingestion runs, retries and waits included.",
    ("source",),
)
LAST_SUCCESS = MetricFamily(
    "floe_ingestion_last_success_timestamp_seconds",
    "gauge",
    "Unix time at which the pipeline's last successful run finished.",
    ("source",),
)
LAST_RUN = MetricFamily(
    "floe_ingestion_last_run_timestamp_seconds",
    "gauge",
    "Unix time at which the pipeline's last run finished, whatever its status.",
    ("source",),
)

FAMILIES: tuple[MetricFamily, ...] = (
    ERRORS,
    RETRIES,
    ROWS_FAILED,
    ROWS_LOADED,
    RUNS,
    DURATION,
    LAST_SUCCESS,
    LAST_RUN,
)
"""Every metric family floe ingestion exports."""

# A series is identified by its family name and label values (in the family's label order).
# Its value is a tuple: (value,) for counters and gauges; the cumulative bucket counts in
# _BOUNDS order followed by the sum for histograms.
SeriesKey = tuple[str, tuple[str, ...]]
SeriesValues = dict[SeriesKey, tuple[float, ...]]

_FAMILY_BY_NAME = {family.name: family for family in FAMILIES}


def _zero(family: MetricFamily) -> tuple[float, ...]:
    return (0.0,) * (len(_BOUNDS) + 1) if family.kind == "histogram" else (0.0,)


class IngestionMetrics:
    """Ingestion metrics of one process, optionally pushed to a Prometheus Pushgateway.

    ``registry`` receives the metrics (``None``: a new private registry; one
    ``IngestionMetrics`` per registry). ``pushgateway_url`` enables :meth:`push`; ``job`` and
    ``grouping_key`` address the group (the grouping key is ``{"pipeline": source}`` merged with
    ``grouping_key``, whose labels may add to or override it: keep them stable, never a run id).
    ``push_timeout_seconds`` bounds a whole push. ``clock`` gives the Unix time of the
    timestamp gauges.

    Recording methods raise :class:`ValueError` only for programming errors (a ``source`` that
    is not a pipeline name, an error outside the closed enums); :meth:`push` never raises.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        pushgateway_url: str | None = None,
        job: str = DEFAULT_JOB,
        push_timeout_seconds: float = 5.0,
        grouping_key: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if push_timeout_seconds <= 0:
            raise ValueError("push_timeout_seconds must be > 0")
        if not job:
            raise ValueError("job must be a non-empty string")
        self.registry: CollectorRegistry = registry if registry is not None else CollectorRegistry()
        self.job = job
        self.push_timeout_seconds = push_timeout_seconds
        self.grouping_key: dict[str, str] = validate_grouping_key(grouping_key or {})
        self._gateway = PushgatewayClient(pushgateway_url) if pushgateway_url else None
        self._clock = clock
        self._record_lock = threading.Lock()
        self._push_lock = threading.Lock()
        self._pushed: SeriesValues = {}  # this process's values at its last successful push
        try:
            self._errors = _counter(ERRORS, self.registry)
            self._retries = _counter(RETRIES, self.registry)
            self._rows_failed = _counter(ROWS_FAILED, self.registry)
            self._rows_loaded = _counter(ROWS_LOADED, self.registry)
            self._runs = _counter(RUNS, self.registry)
            self._duration = Histogram(
                DURATION.name,
                DURATION.documentation,
                DURATION.labelnames,
                buckets=DURATION_BUCKETS,
                registry=self.registry,
            )
            self._last_success = _gauge(LAST_SUCCESS, self.registry)
            self._last_run = _gauge(LAST_RUN, self.registry)
        except ValueError as exc:
            raise ValueError(
                f"the registry already holds floe ingestion metrics ({exc}); use one "
                "IngestionMetrics per registry, or pass registry=None for a private one"
            ) from None

    # -- recording ---------------------------------------------------------------------------

    def record_retry(self, source: str, error: IngestionError) -> None:
        """An attempt of pipeline ``source`` failed with ``error`` and will be retried.

        Counts the retry and the failed attempt's error (``errors_total``); failed records
        are counted from the final result only, since a retry re-processes them.
        """
        _check_source(source)
        category, code = _check_error(error)
        with self._record_lock:
            self._initialise(source)
            self._retries.labels(source).inc()
            self._errors.labels(source, category, code).inc()

    def record_result(self, source: str, result: IngestionResult) -> None:
        """Pipeline ``source`` finished with ``result`` (after any retries).

        Counts the run by status, its rows loaded, its error and ``failed_records`` if any,
        observes its duration and sets the last-run (and, on success, last-success) timestamp.
        """
        _check_source(source)
        checked = _check_error(result.error) if result.error is not None else None
        status = RunStatus.of(result)
        now = self._clock()
        with self._record_lock:
            self._initialise(source)
            self._runs.labels(source, status.value).inc()
            self._rows_loaded.labels(source).inc(result.rows_loaded)
            self._duration.labels(source).observe(result.duration_seconds)
            if result.error is not None and checked is not None:
                self._errors.labels(source, *checked).inc()
                if result.error.failed_records:
                    self._rows_failed.labels(source).inc(result.error.failed_records)
            self._last_run.labels(source).set(now)
            if status is RunStatus.SUCCESS:
                self._last_success.labels(source).set(now)

    def _initialise(self, source: str) -> None:
        # Series that exist from a pipeline's first record on, so that rate() and increase()
        # see their first increment (a series born at 1 hides that increment).
        for status in RunStatus:
            self._runs.labels(source, status.value)
        self._retries.labels(source)
        self._rows_loaded.labels(source)
        self._rows_failed.labels(source)
        self._duration.labels(source)

    # -- pushing -----------------------------------------------------------------------------

    def grouping_key_for(self, source: str) -> dict[str, str]:
        """The Pushgateway grouping key of pipeline ``source`` (``job`` not included)."""
        return {"pipeline": source, **self.grouping_key}

    def push(self, source: str) -> bool:
        """Push pipeline ``source``'s metrics to the gateway, accumulating (see the module doc).

        Returns ``True`` when the gateway holds the new values; ``False`` when no gateway is
        configured or the push failed (logged as a warning; this process's increments are
        kept for its next push). Never raises and returns within ``push_timeout_seconds``.
        """
        if self._gateway is None:
            return False
        deadline = time.monotonic() + self.push_timeout_seconds
        try:
            _check_source(source)
            with self._push_lock:
                self._push(self._gateway, source, deadline)
        except PushgatewayError as exc:
            logger.warning(
                "floe ingestion metrics for pipeline %r were not pushed: %s; the run is not "
                "affected and this process will include them in its next push",
                source,
                exc,
            )
            return False
        except Exception as exc:  # a metrics failure must never fail a run
            logger.warning(
                "floe ingestion metrics for pipeline %r were not pushed to %s: %s: %s",
                source,
                self._gateway.display_url,
                type(exc).__name__,
                exc,
            )
            return False
        return True

    def _push(self, gateway: PushgatewayClient, source: str, deadline: float) -> None:
        key = self.grouping_key_for(source)
        previous = self._series_from_gateway(
            gateway.read_group(self.job, key, timeout=_remaining(deadline, gateway)), key
        )
        with self._record_lock:
            local = self._local_series(source)
        merged = dict(previous)
        for series, values in local.items():
            family = _FAMILY_BY_NAME[series[0]]
            before = previous.get(series, _zero(family))
            if family.kind == "gauge":
                merged[series] = (max(before[0], values[0]),) if series in previous else values
            else:
                baseline = self._pushed.get(series, _zero(family))
                merged[series] = tuple(
                    b + (v - p) for b, v, p in zip(before, values, baseline, strict=True)
                )
        registry = CollectorRegistry()
        registry.register(_StaticCollector(merged))
        gateway.replace_group(self.job, key, registry, timeout=_remaining(deadline, gateway))
        self._pushed.update(
            (series, values)
            for series, values in local.items()
            if _FAMILY_BY_NAME[series[0]].kind != "gauge"
        )

    def _local_series(self, source: str) -> SeriesValues:
        values: SeriesValues = {}
        for metric in self.registry.collect():
            family = _FAMILY_BY_NAME.get(metric.name) or _FAMILY_BY_NAME.get(f"{metric.name}_total")
            if family is None:
                continue
            for sample in metric.samples:
                if sample.labels.get("source") != source:
                    continue
                labels = tuple(sample.labels[name] for name in family.labelnames)
                if family.kind != "histogram" and sample.name == family.name:
                    values[(family.name, labels)] = (sample.value,)
                elif family.kind == "histogram":
                    current = list(values.get((family.name, labels), _zero(family)))
                    if sample.name == f"{family.name}_bucket":
                        current[_BOUNDS.index(float(sample.labels["le"]))] = sample.value
                    elif sample.name == f"{family.name}_sum":
                        current[-1] = sample.value
                    values[(family.name, labels)] = tuple(current)
        return values

    def _series_from_gateway(
        self, families: Mapping[str, GatewayFamily], key: Mapping[str, str]
    ) -> SeriesValues:
        values: SeriesValues = {}
        for family in FAMILIES:
            held = families.get(family.name)
            if held is None:
                continue
            if held.type != family.kind.upper():
                logger.warning(
                    "the Pushgateway group %s holds %s as a %s, not a %s; it is replaced",
                    key,
                    family.name,
                    held.type,
                    family.kind,
                )
                continue
            for series in held.series:
                if any(name not in series.labels for name in family.labelnames):
                    continue
                labels = tuple(series.labels[name] for name in family.labelnames)
                if family.kind != "histogram" and series.value is not None:
                    values[(family.name, labels)] = (series.value,)
                elif series.buckets is not None and series.sum is not None:
                    if set(series.buckets) != set(_BOUNDS):
                        logger.warning(
                            "the Pushgateway group %s holds %s with other buckets than this "
                            "floe version; that histogram restarts from this push",
                            key,
                            family.name,
                        )
                        continue
                    counts = tuple(series.buckets[bound] for bound in _BOUNDS)
                    values[(family.name, labels)] = (*counts, series.sum)
        return values


class _StaticCollector:
    """Exposes fixed series values as metric families (no ``_created`` series)."""

    def __init__(self, values: SeriesValues) -> None:
        self._values = values

    def collect(self) -> Iterable[Metric]:
        for family in FAMILIES:
            series = sorted(
                (labels, values)
                for (name, labels), values in self._values.items()
                if name == family.name
            )
            if not series:
                continue
            labelnames = list(family.labelnames)
            metric: CounterMetricFamily | GaugeMetricFamily | HistogramMetricFamily
            if family.kind == "counter":
                metric = CounterMetricFamily(family.name, family.documentation, labels=labelnames)
                for labels, values in series:
                    metric.add_metric(labels, values[0])
            elif family.kind == "gauge":
                metric = GaugeMetricFamily(family.name, family.documentation, labels=labelnames)
                for labels, values in series:
                    metric.add_metric(labels, values[0])
            else:
                metric = HistogramMetricFamily(family.name, family.documentation, labels=labelnames)
                for labels, values in series:
                    buckets = [
                        ("+Inf" if math.isinf(bound) else str(bound), count)
                        for bound, count in zip(_BOUNDS, values[:-1], strict=True)
                    ]
                    metric.add_metric(labels, buckets, values[-1])
            yield metric


def _counter(family: MetricFamily, registry: CollectorRegistry) -> Counter:
    return Counter(family.name, family.documentation, family.labelnames, registry=registry)


def _gauge(family: MetricFamily, registry: CollectorRegistry) -> Gauge:
    return Gauge(family.name, family.documentation, family.labelnames, registry=registry)


def _remaining(deadline: float, gateway: PushgatewayClient) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise PushgatewayError(f"{gateway.display_url} did not answer in time (push timeout)")
    return left


def _check_source(source: str) -> None:
    if not isinstance(source, str) or not IDENTIFIER_PATTERN.match(source):
        raise ValueError(
            f"metrics source {source!r} is not a pipeline name (IngestionConfig.name: letters, "
            "digits and underscores); pass config.name, never a run id or a message"
        )


def _check_error(error: IngestionError) -> tuple[str, str]:
    try:
        return ErrorCategory(error.category).value, ErrorCode(error.code).value
    except ValueError:
        raise ValueError(
            f"error category/code {error.category!r}/{error.code!r} is not in the closed lists "
            "of floe_core.errors (ErrorCategory, ErrorCode)"
        ) from None
