"""IngestionMetrics: values in the registry, bounded labels, and pushes to a real Pushgateway."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from prometheus_client import REGISTRY, CollectorRegistry, Histogram, generate_latest
from prometheus_client import push_to_gateway as raw_push
from prometheus_client.parser import text_string_to_metric_families

from floe_core.errors import (
    ErrorCategory,
    ErrorCode,
    IngestionError,
    PartialError,
    PermanentError,
    TransientError,
)
from floe_core.metrics import DURATION_BUCKETS, FAMILIES, IngestionMetrics, RunStatus
from floe_core.result import IngestionResult

JOB = "floe_ingestion"
NOW = 1_800_000_000.0
CANARY = "CANARY-s3cr3t-7f1d"


def success(rows: int = 10, duration: float = 3.2) -> IngestionResult:
    return IngestionResult(True, rows, ["bronze.t"], duration)


def failure(error: IngestionError, rows: int = 0, duration: float = 1.0) -> IngestionResult:
    return IngestionResult(False, rows, [], duration, error=error)


def value(metrics: IngestionMetrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


# -- values in the registry -------------------------------------------------------------------


def test_success_counts_run_rows_duration_and_timestamps() -> None:
    metrics = IngestionMetrics(clock=lambda: NOW)
    metrics.record_result("orders", success(rows=10, duration=3.2))

    assert value(metrics, "floe_ingestion_runs_total", source="orders", status="success") == 1
    assert value(metrics, "floe_ingestion_runs_total", source="orders", status="failure") == 0
    assert value(metrics, "floe_ingestion_runs_total", source="orders", status="partial") == 0
    assert value(metrics, "floe_ingestion_rows_loaded_total", source="orders") == 10
    assert value(metrics, "floe_ingestion_rows_failed_total", source="orders") == 0
    assert value(metrics, "floe_ingestion_run_duration_seconds_count", source="orders") == 1
    assert value(metrics, "floe_ingestion_run_duration_seconds_sum", source="orders") == 3.2
    bucket = "floe_ingestion_run_duration_seconds_bucket"
    assert value(metrics, bucket, source="orders", le="2.5") == 0
    assert value(metrics, bucket, source="orders", le="5.0") == 1
    assert value(metrics, "floe_ingestion_last_success_timestamp_seconds", source="orders") == NOW
    assert value(metrics, "floe_ingestion_last_run_timestamp_seconds", source="orders") == NOW
    assert metrics.registry.get_sample_value("floe_ingestion_errors_total") is None


def test_failure_counts_error_and_keeps_last_success_unset() -> None:
    metrics = IngestionMetrics(clock=lambda: NOW)
    error = PermanentError(ErrorCode.AUTH_FAILED, "401 from the API", source="github").error
    metrics.record_result("gh", failure(error, duration=0.4))

    assert value(metrics, "floe_ingestion_runs_total", source="gh", status="failure") == 1
    assert value(metrics, "floe_ingestion_runs_total", source="gh", status="success") == 0
    errors = value(
        metrics,
        "floe_ingestion_errors_total",
        source="gh",
        category="PERMANENT",
        code="AUTH_FAILED",
    )
    assert errors == 1
    assert value(metrics, "floe_ingestion_last_success_timestamp_seconds", source="gh") is None
    assert value(metrics, "floe_ingestion_last_run_timestamp_seconds", source="gh") == NOW
    assert value(metrics, "floe_ingestion_rows_loaded_total", source="gh") == 0


def test_partial_counts_committed_and_failed_rows() -> None:
    metrics = IngestionMetrics(clock=lambda: NOW)
    error = PartialError(ErrorCode.PARTIAL_LOAD, "7 rows rejected", failed_records=7).error
    metrics.record_result("crm", failure(error, rows=93))

    assert RunStatus.of(failure(error)) is RunStatus.PARTIAL
    assert value(metrics, "floe_ingestion_runs_total", source="crm", status="partial") == 1
    assert value(metrics, "floe_ingestion_runs_total", source="crm", status="failure") == 0
    assert value(metrics, "floe_ingestion_rows_loaded_total", source="crm") == 93
    assert value(metrics, "floe_ingestion_rows_failed_total", source="crm") == 7
    errors = value(
        metrics,
        "floe_ingestion_errors_total",
        source="crm",
        category="PARTIAL",
        code="PARTIAL_LOAD",
    )
    assert errors == 1
    assert value(metrics, "floe_ingestion_last_success_timestamp_seconds", source="crm") is None


def test_retries_count_each_failed_attempt() -> None:
    metrics = IngestionMetrics(clock=lambda: NOW)
    rate_limited = TransientError(ErrorCode.RATE_LIMITED, "429", retry_after_seconds=5).error
    metrics.record_retry("api", rate_limited)
    metrics.record_retry("api", rate_limited)
    metrics.record_result("api", success(rows=4))

    assert value(metrics, "floe_ingestion_retry_total", source="api") == 2
    errors = value(
        metrics,
        "floe_ingestion_errors_total",
        source="api",
        category="TRANSIENT",
        code="RATE_LIMITED",
    )
    assert errors == 2
    assert value(metrics, "floe_ingestion_runs_total", source="api", status="success") == 1
    assert value(metrics, "floe_ingestion_retry_total", source="other") is None


def test_label_sets_are_exactly_the_documented_ones() -> None:
    metrics = IngestionMetrics(clock=lambda: NOW)
    metrics.record_retry("a", TransientError(ErrorCode.TIMEOUT, "slow").error)
    metrics.record_result("a", failure(PartialError(ErrorCode.PARTIAL_SYNC, "x").error))
    metrics.record_result("a", success())
    expected = {family.name: set(family.labelnames) for family in FAMILIES}
    seen = set()
    for family in text_string_to_metric_families(generate_latest(metrics.registry).decode()):
        for sample in family.samples:
            if sample.name.endswith("_created"):
                continue  # prometheus_client's per-series creation time, not pushed
            name = sample.name if family.type != "counter" else f"{family.name}_total"
            if family.type == "histogram":
                name = family.name
            labels = set(sample.labels) - ({"le"} if sample.name.endswith("_bucket") else set())
            assert labels == expected[name], name
            seen.add(name)
    assert seen == set(expected)
    statuses = {s.value for s in RunStatus}
    assert statuses == {"success", "failure", "partial"}


def test_messages_details_and_error_source_never_become_labels() -> None:
    metrics = IngestionMetrics(clock=lambda: NOW)
    error = PermanentError(
        ErrorCode.AUTH_FAILED,
        f"token={CANARY} refused",
        source=f"api-{CANARY}",
        details={"token": CANARY, "table": f"bronze.{CANARY}"},
    ).error
    metrics.record_retry("secure", TransientError(ErrorCode.NETWORK_ERROR, CANARY).error)
    metrics.record_result("secure", failure(error))
    text = generate_latest(metrics.registry).decode()
    assert "secure" in text
    assert CANARY not in text


def test_label_values_are_validated() -> None:
    metrics = IngestionMetrics()
    with pytest.raises(ValueError, match="not a pipeline name"):
        metrics.record_result("run 2024-01-01 id=42", success())
    with pytest.raises(ValueError, match="not a pipeline name"):
        metrics.record_retry("", TransientError(ErrorCode.TIMEOUT, "x").error)
    forged = TransientError(ErrorCode.TIMEOUT, "x").error
    object.__setattr__(forged, "code", "MADE_UP")  # bypasses the dataclass's own validation
    with pytest.raises(ValueError, match="closed lists"):
        metrics.record_retry("ok_name", forged)
    object.__setattr__(forged, "code", ErrorCode.TIMEOUT)
    object.__setattr__(forged, "category", "SOMETIMES")
    with pytest.raises(ValueError, match="closed lists"):
        metrics.record_result("ok_name", failure(forged))
    assert value(metrics, "floe_ingestion_runs_total", source="ok_name", status="failure") is None


def test_private_registry_by_default_and_injected_registry_used() -> None:
    first, second = IngestionMetrics(), IngestionMetrics()  # no duplicate-registration clash
    first.record_result("p", success())
    assert first.registry is not second.registry
    default = REGISTRY.get_sample_value(
        "floe_ingestion_runs_total", {"source": "p", "status": "success"}
    )
    assert default is None
    assert value(second, "floe_ingestion_runs_total", source="p", status="success") is None

    registry = CollectorRegistry()
    injected = IngestionMetrics(registry)
    injected.record_result("p", success(rows=3))
    assert injected.registry is registry
    assert registry.get_sample_value("floe_ingestion_rows_loaded_total", {"source": "p"}) == 3
    with pytest.raises(ValueError, match="one IngestionMetrics per registry"):
        IngestionMetrics(registry)


def test_promtool_accepts_the_exposition() -> None:
    metrics = IngestionMetrics(clock=lambda: NOW)
    metrics.record_retry("a", TransientError(ErrorCode.RATE_LIMITED, "x").error)
    metrics.record_result("a", success())
    metrics.record_result(
        "b", failure(PartialError(ErrorCode.PARTIAL_LOAD, "x", failed_records=2).error)
    )
    completed = subprocess.run(
        ["/usr/bin/promtool", "check", "metrics"],
        input=generate_latest(metrics.registry),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout == b""
    assert completed.stderr == b""


def test_push_without_gateway_is_a_no_op() -> None:
    metrics = IngestionMetrics()
    metrics.record_result("p", success())
    assert metrics.push("p") is False


def test_bad_settings_are_rejected_early() -> None:
    with pytest.raises(ValueError, match="http://host:9091"):
        IngestionMetrics(pushgateway_url="ftp://gateway:21")
    with pytest.raises(ValueError, match="credentials"):
        IngestionMetrics(pushgateway_url=f"http://user:{CANARY}@127.0.0.1:9091")
    with pytest.raises(ValueError, match="job"):
        IngestionMetrics(grouping_key={"job": "x"})
    with pytest.raises(ValueError, match="label name"):
        IngestionMetrics(grouping_key={"bad-name": "x"})
    with pytest.raises(ValueError, match="push_timeout_seconds"):
        IngestionMetrics(push_timeout_seconds=0)


# -- a real Pushgateway ---------------------------------------------------------------------


def _delete_group(gateway: str, path: str) -> None:
    request = urllib.request.Request(f"{gateway}/metrics/job/{JOB}/{path}", method="DELETE")
    with urllib.request.urlopen(request, timeout=5):
        pass


@pytest.fixture
def pipeline(pushgateway_url: str) -> Iterator[str]:
    """A unique pipeline name whose Pushgateway group is deleted after the test."""
    name = f"t_metrics_{uuid.uuid4().hex[:10]}"
    yield name
    _delete_group(pushgateway_url, f"pipeline/{name}")


def gateway_samples(
    gateway: str, **group: str
) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples of the gateway's /metrics text in one group, keyed by name and own labels."""
    with urllib.request.urlopen(f"{gateway}/metrics", timeout=5) as response:
        text = response.read().decode()
    wanted = {"job": JOB, **group}
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if any(sample.labels.get(k) != v for k, v in wanted.items()):
                continue
            own = frozenset(
                (k, str(float(v)) if k == "le" else v)  # the gateway prints le="5", not "5.0"
                for k, v in sample.labels.items()
                if k not in wanted and k != "instance"
            )
            samples[(sample.name, own)] = sample.value
    return samples


def at(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float | None:
    return samples.get((name, frozenset(labels.items())))


@pytest.mark.pushgateway
def test_push_reaches_the_gateway(pushgateway_url: str, pipeline: str) -> None:
    metrics = IngestionMetrics(pushgateway_url=pushgateway_url, clock=lambda: NOW)
    metrics.record_retry(pipeline, TransientError(ErrorCode.RATE_LIMITED, CANARY).error)
    metrics.record_result(pipeline, success(rows=10, duration=3.2))

    assert metrics.push(pipeline) is True

    got = gateway_samples(pushgateway_url, pipeline=pipeline)
    assert at(got, "floe_ingestion_runs_total", source=pipeline, status="success") == 1
    assert at(got, "floe_ingestion_runs_total", source=pipeline, status="failure") == 0
    assert at(got, "floe_ingestion_rows_loaded_total", source=pipeline) == 10
    assert at(got, "floe_ingestion_retry_total", source=pipeline) == 1
    error_labels = {"source": pipeline, "category": "TRANSIENT", "code": "RATE_LIMITED"}
    assert at(got, "floe_ingestion_errors_total", **error_labels) == 1
    assert at(got, "floe_ingestion_run_duration_seconds_count", source=pipeline) == 1
    assert at(got, "floe_ingestion_run_duration_seconds_sum", source=pipeline) == 3.2
    assert at(got, "floe_ingestion_run_duration_seconds_bucket", source=pipeline, le="5.0") == 1
    assert at(got, "floe_ingestion_run_duration_seconds_bucket", source=pipeline, le="2.5") == 0
    assert at(got, "floe_ingestion_last_success_timestamp_seconds", source=pipeline) == NOW
    assert not any(name.endswith("_created") for name, _ in got)
    assert not any(CANARY in str(key) for key in got)


@pytest.mark.pushgateway
def test_pushing_twice_from_one_process_does_not_double_count(
    pushgateway_url: str, pipeline: str
) -> None:
    metrics = IngestionMetrics(pushgateway_url=pushgateway_url, clock=lambda: NOW)
    metrics.record_result(pipeline, success(rows=10))
    assert metrics.push(pipeline) is True
    assert metrics.push(pipeline) is True
    metrics.record_result(pipeline, success(rows=5))
    assert metrics.push(pipeline) is True

    got = gateway_samples(pushgateway_url, pipeline=pipeline)
    assert at(got, "floe_ingestion_runs_total", source=pipeline, status="success") == 2
    assert at(got, "floe_ingestion_rows_loaded_total", source=pipeline) == 15
    assert at(got, "floe_ingestion_run_duration_seconds_count", source=pipeline) == 2


@pytest.mark.pushgateway
def test_counters_accumulate_across_processes(pushgateway_url: str, pipeline: str) -> None:
    first = IngestionMetrics(pushgateway_url=pushgateway_url, clock=lambda: NOW)
    first.record_result(pipeline, success(rows=10, duration=2.0))
    assert first.push(pipeline) is True

    # A second process (a fresh pod): new registry, its own counters start at zero.
    second = IngestionMetrics(pushgateway_url=pushgateway_url, clock=lambda: NOW + 60)
    rate_limited = TransientError(ErrorCode.RATE_LIMITED, "429").error
    second.record_retry(pipeline, rate_limited)
    partial = PartialError(ErrorCode.PARTIAL_LOAD, "bad rows", failed_records=4).error
    second.record_result(pipeline, failure(partial, rows=6, duration=700.0))
    assert second.push(pipeline) is True

    got = gateway_samples(pushgateway_url, pipeline=pipeline)
    assert at(got, "floe_ingestion_runs_total", source=pipeline, status="success") == 1
    assert at(got, "floe_ingestion_runs_total", source=pipeline, status="partial") == 1
    assert at(got, "floe_ingestion_rows_loaded_total", source=pipeline) == 16
    assert at(got, "floe_ingestion_rows_failed_total", source=pipeline) == 4
    assert at(got, "floe_ingestion_retry_total", source=pipeline) == 1
    assert at(got, "floe_ingestion_run_duration_seconds_count", source=pipeline) == 2
    assert at(got, "floe_ingestion_run_duration_seconds_sum", source=pipeline) == 702.0
    assert at(got, "floe_ingestion_run_duration_seconds_bucket", source=pipeline, le="2.5") == 1
    assert at(got, "floe_ingestion_run_duration_seconds_bucket", source=pipeline, le="600.0") == 1
    assert at(got, "floe_ingestion_run_duration_seconds_bucket", source=pipeline, le="1200.0") == 2
    # The failed run leaves the last success where the first process put it.
    assert at(got, "floe_ingestion_last_success_timestamp_seconds", source=pipeline) == NOW
    assert at(got, "floe_ingestion_last_run_timestamp_seconds", source=pipeline) == NOW + 60

    # And the first process pushing again adds only what it counted since its last push.
    first.record_result(pipeline, success(rows=1))
    assert first.push(pipeline) is True
    got = gateway_samples(pushgateway_url, pipeline=pipeline)
    assert at(got, "floe_ingestion_runs_total", source=pipeline, status="success") == 2
    assert at(got, "floe_ingestion_rows_loaded_total", source=pipeline) == 17
    assert at(got, "floe_ingestion_last_run_timestamp_seconds", source=pipeline) == NOW + 60


@pytest.mark.pushgateway
def test_shared_group_keeps_other_pipelines_series(pushgateway_url: str) -> None:
    group = f"t_shared_{uuid.uuid4().hex[:10]}"
    metrics = IngestionMetrics(pushgateway_url=pushgateway_url, grouping_key={"pipeline": group})
    try:
        metrics.record_result("alpha", success(rows=1))
        metrics.record_result("beta", success(rows=2))
        assert metrics.push("alpha") is True
        assert metrics.push("beta") is True
        got = gateway_samples(pushgateway_url, pipeline=group)
        assert at(got, "floe_ingestion_rows_loaded_total", source="alpha") == 1
        assert at(got, "floe_ingestion_rows_loaded_total", source="beta") == 2
    finally:
        _delete_group(pushgateway_url, f"pipeline/{group}")


@pytest.mark.pushgateway
def test_extra_grouping_labels(pushgateway_url: str, pipeline: str) -> None:
    metrics = IngestionMetrics(pushgateway_url=pushgateway_url, grouping_key={"env": "test"})
    assert metrics.grouping_key_for(pipeline) == {"pipeline": pipeline, "env": "test"}
    try:
        metrics.record_result(pipeline, success(rows=3))
        assert metrics.push(pipeline) is True
        got = gateway_samples(pushgateway_url, pipeline=pipeline, env="test")
        assert at(got, "floe_ingestion_rows_loaded_total", source=pipeline) == 3
    finally:
        _delete_group(pushgateway_url, f"env/test/pipeline/{pipeline}")


@pytest.mark.pushgateway
def test_histogram_with_other_buckets_restarts_and_counters_still_accumulate(
    pushgateway_url: str, pipeline: str, caplog: pytest.LogCaptureFixture
) -> None:
    # What an older floe with other buckets would have left in the group.
    old = CollectorRegistry()
    old_histogram = Histogram(
        "floe_ingestion_run_duration_seconds", "old", ["source"], buckets=[1, 10], registry=old
    )
    old_histogram.labels(pipeline).observe(5)
    raw_push(pushgateway_url, JOB, old, grouping_key={"pipeline": pipeline}, timeout=5)

    metrics = IngestionMetrics(pushgateway_url=pushgateway_url)
    metrics.record_result(pipeline, success(duration=0.2))
    with caplog.at_level(logging.WARNING, logger="floe_core.metrics"):
        assert metrics.push(pipeline) is True
    assert "other buckets" in caplog.text
    got = gateway_samples(pushgateway_url, pipeline=pipeline)
    assert at(got, "floe_ingestion_run_duration_seconds_count", source=pipeline) == 1
    assert at(got, "floe_ingestion_run_duration_seconds_bucket", source=pipeline, le="0.25") == 1
    assert at(got, "floe_ingestion_run_duration_seconds_bucket", source=pipeline, le="10.0") == 1
    assert at(got, "floe_ingestion_run_duration_seconds_bucket", source=pipeline, le="1.0") == 1


def _query(prometheus: str, promql: str) -> list[Any]:
    url = f"{prometheus}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    with urllib.request.urlopen(url, timeout=5) as response:
        payload = json.load(response)
    assert payload["status"] == "success", payload
    result: list[Any] = payload["data"]["result"]
    return result


@pytest.mark.pushgateway
def test_documented_promql_works_on_scraped_metrics(
    pushgateway_url: str, prometheus_url: str, pipeline: str
) -> None:
    """The queries of docs/reference/metrics.md, on what Prometheus scraped from the gateway."""
    metrics = IngestionMetrics(pushgateway_url=pushgateway_url)
    metrics.record_retry(pipeline, TransientError(ErrorCode.RATE_LIMITED, "429").error)
    metrics.record_result(pipeline, success(rows=10, duration=42.0))
    assert metrics.push(pipeline) is True

    runs = f'floe_ingestion_runs_total{{job="floe_ingestion",source="{pipeline}"}}'
    deadline = time.monotonic() + 15  # the test Prometheus scrapes the gateway every second
    while len(_query(prometheus_url, runs)) < 3:
        assert time.monotonic() < deadline, "Prometheus did not scrape the pushed metrics"
        time.sleep(0.2)

    selector = f'source="{pipeline}"'
    success_runs = _query(
        prometheus_url, f'floe_ingestion_runs_total{{{selector},status="success"}}'
    )
    assert success_runs[0]["metric"]["pipeline"] == pipeline
    assert success_runs[0]["value"][1] == "1"
    age = _query(
        prometheus_url, f"time() - floe_ingestion_last_success_timestamp_seconds{{{selector}}}"
    )
    assert 0 <= float(age[0]["value"][1]) < 60
    never = _query(
        prometheus_url,
        f"floe_ingestion_last_run_timestamp_seconds{{{selector}}} "
        f"unless on (source) floe_ingestion_last_success_timestamp_seconds{{{selector}}}",
    )
    assert never == []
    p95 = _query(
        prometheus_url,
        "histogram_quantile(0.95, sum by (source, le) "
        f"(floe_ingestion_run_duration_seconds_bucket{{{selector}}}))",
    )
    assert 30 < float(p95[0]["value"][1]) <= 60
    errors = _query(
        prometheus_url,
        f"sum by (source, category, code) (floe_ingestion_errors_total{{{selector}}})",
    )
    assert errors[0]["metric"] == {
        "source": pipeline,
        "category": "TRANSIENT",
        "code": "RATE_LIMITED",
    }


# -- gateways that are down, slow, broken or flaky --------------------------------------------


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_gateway_down_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    metrics = IngestionMetrics(
        pushgateway_url=f"http://127.0.0.1:{_closed_port()}", push_timeout_seconds=2.0
    )
    metrics.record_result("down", success())
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="floe_core.metrics"):
        assert metrics.push("down") is False
    assert time.monotonic() - started < 2.0
    assert "were not pushed" in caplog.text
    assert "refused" in caplog.text.lower()


class _Server:
    """A loopback HTTP server whose behaviour the test chooses."""

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


def test_slow_gateway_times_out(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    class Slow(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            release.wait(10)

        def log_message(self, *args: object) -> None:
            pass

    server = _Server(Slow)
    try:
        metrics = IngestionMetrics(pushgateway_url=server.url, push_timeout_seconds=0.5)
        metrics.record_result("slow", success())
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="floe_core.metrics"):
            assert metrics.push("slow") is False
        assert time.monotonic() - started < 1.5
        assert "timed out" in caplog.text
    finally:
        release.set()
        server.close()


def test_gateway_without_json_api_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    class NoApi(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = _Server(NoApi)
    try:
        metrics = IngestionMetrics(pushgateway_url=server.url)
        metrics.record_result("old_gw", success())
        with caplog.at_level(logging.WARNING, logger="floe_core.metrics"):
            assert metrics.push("old_gw") is False
        assert "HTTP 404" in caplog.text
        assert "Pushgateway >= 1.0" in caplog.text
    finally:
        server.close()


@pytest.mark.pushgateway
def test_failed_push_keeps_increments_for_the_next_push(
    pushgateway_url: str, pipeline: str
) -> None:
    puts = []

    class FlakyProxy(BaseHTTPRequestHandler):
        """Forwards to the real gateway, but refuses the first PUT with 503."""

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.command == "PUT":
                puts.append(self.path)
                if len(puts) == 1:
                    self.send_error(503)
                    return
            request = urllib.request.Request(
                pushgateway_url + self.path,
                data=body or None,
                method=self.command,
                headers={"Content-Type": self.headers.get("Content-Type", "text/plain")},
            )
            with urllib.request.urlopen(request, timeout=5) as response:
                payload = response.read()
                self.send_response(response.status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        do_GET = do_PUT = _forward

        def log_message(self, *args: object) -> None:
            pass

    server = _Server(FlakyProxy)
    try:
        metrics = IngestionMetrics(pushgateway_url=server.url)
        metrics.record_result(pipeline, success(rows=10))
        assert metrics.push(pipeline) is False
        metrics.record_result(pipeline, success(rows=5))
        assert metrics.push(pipeline) is True
    finally:
        server.close()
    got = gateway_samples(pushgateway_url, pipeline=pipeline)
    assert at(got, "floe_ingestion_runs_total", source=pipeline, status="success") == 2
    assert at(got, "floe_ingestion_rows_loaded_total", source=pipeline) == 15
    assert len(puts) == 2


def test_duration_buckets_cover_a_tenth_of_a_second_to_two_hours() -> None:
    assert DURATION_BUCKETS[0] == 0.1
    assert DURATION_BUCKETS[-1] == 7200.0
    assert list(DURATION_BUCKETS) == sorted(set(DURATION_BUCKETS))


def test_status_follows_the_error_category() -> None:
    metrics = IngestionMetrics()
    for category in ErrorCategory:
        error = IngestionError(category, ErrorCode.TIMEOUT, "m", "s")
        metrics.record_result("by_category", failure(error))
        labels = {"source": "by_category", "category": category.value, "code": "TIMEOUT"}
        assert value(metrics, "floe_ingestion_errors_total", **labels) == 1
    assert value(metrics, "floe_ingestion_runs_total", source="by_category", status="partial") == 1
    assert value(metrics, "floe_ingestion_runs_total", source="by_category", status="failure") == 3
    assert value(metrics, "floe_ingestion_runs_total", source="by_category", status="success") == 0
