"""Metrics end to end: floe processes -> Pushgateway -> Prometheus (scraping every second).

After the observed runs (``conftest.py``), a PromQL query for every floe series of this
session's ``job`` must return exactly the series :func:`expected_series` derives from what the
runs reported (``floe run --json`` and the Dagster materialisations): every family of
``floe_core.metrics.FAMILIES``, every label value, every value, nothing more. ``promtool check
metrics`` must accept the gateway's exposition.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from floe_core.metrics import DURATION_BUCKETS, FAMILIES
from observability.scenario import DAGSTER_PIPELINES, JOB, Observed
from observability.support import Prometheus, Pushgateway, SeriesKey

pytestmark = [pytest.mark.pushgateway, pytest.mark.slow]

SELECTOR = f'{{job="{JOB}", __name__=~"floe_ingestion_.+"}}'
DROPPED = ("job", "instance")
RETRIED_ERRORS = {"obs_retry": ("TRANSIENT", "RATE_LIMITED")}
TIMESTAMPS = {
    "floe_ingestion_last_success_timestamp_seconds",
    "floe_ingestion_last_run_timestamp_seconds",
}


@dataclass
class RunOutcome:
    """One finished run as the metrics must count it."""

    status: str
    rows_loaded: int
    duration: float
    window: tuple[float, float]
    error: tuple[str, str] | None = None
    failed_records: int = 0
    retried: list[tuple[str, str]] = field(default_factory=list)


def _status(result: dict[str, Any]) -> str:
    if result["success"]:
        return "success"
    return "partial" if result["error"]["category"] == "PARTIAL" else "failure"


def outcomes(observed: Observed) -> dict[str, list[RunOutcome]]:
    """Every pipeline's runs, from the JSON results and the Dagster materialisations."""
    found: dict[str, list[RunOutcome]] = {}
    for name, runs in observed.runs.items():
        for run in runs:
            result = run.result(name)
            error = result["error"]
            retries = result["attempts"] - 1
            retried = [RETRIED_ERRORS[name]] * retries if retries else []
            found.setdefault(name, []).append(
                RunOutcome(
                    status=_status(result),
                    rows_loaded=result["rows_loaded"],
                    duration=result["duration_seconds"],
                    window=(run.started, run.finished),
                    error=(error["category"], error["code"]) if error else None,
                    failed_records=(error or {}).get("failed_records") or 0,
                    retried=retried,
                )
            )
    dagster = observed.dagster
    for name in DAGSTER_PIPELINES:
        metadata = dagster.metadata[name]
        assert metadata["floe/attempts"] == 1
        found[name] = [
            RunOutcome(
                status="success",
                rows_loaded=metadata["floe/rows_loaded"],
                duration=metadata["floe/duration_seconds"],  # rounded to the millisecond
                window=(dagster.started, dagster.finished),
            )
        ]
    return found


def _key(name: str, source: str, **labels: str) -> SeriesKey:
    return (name, tuple(sorted({"source": source, "pipeline": source, **labels}.items())))


def _le(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def expected_series(runs: dict[str, list[RunOutcome]]) -> dict[SeriesKey, float | None]:
    """Every series Prometheus must hold; timestamps are None (checked against run windows)."""
    expected: dict[SeriesKey, float | None] = {}
    for source, outcomes_ in runs.items():
        statuses = Counter(run.status for run in outcomes_)
        for status in ("success", "failure", "partial"):
            expected[_key("floe_ingestion_runs_total", source, status=status)] = statuses[status]
        expected[_key("floe_ingestion_retry_total", source)] = sum(
            len(r.retried) for r in outcomes_
        )
        expected[_key("floe_ingestion_rows_loaded_total", source)] = sum(
            r.rows_loaded for r in outcomes_
        )
        expected[_key("floe_ingestion_rows_failed_total", source)] = sum(
            r.failed_records for r in outcomes_
        )
        errors = Counter(
            e for r in outcomes_ for e in [*r.retried, *([r.error] if r.error else [])]
        )
        for (category, code), count in errors.items():
            key = _key("floe_ingestion_errors_total", source, category=category, code=code)
            expected[key] = count
        durations = [r.duration for r in outcomes_]
        for bound in (*DURATION_BUCKETS, math.inf):
            key = _key("floe_ingestion_run_duration_seconds_bucket", source, le=_le(bound))
            expected[key] = sum(1 for d in durations if d <= bound)
        expected[_key("floe_ingestion_run_duration_seconds_count", source)] = len(durations)
        expected[_key("floe_ingestion_run_duration_seconds_sum", source)] = sum(durations)
        if statuses["success"]:
            expected[_key("floe_ingestion_last_success_timestamp_seconds", source)] = None
        expected[_key("floe_ingestion_last_run_timestamp_seconds", source)] = None
    return expected


def _normalised(values: dict[SeriesKey, float]) -> dict[SeriesKey, float]:
    """Bucket bounds written the same way (Prometheus may print ``1`` where we write ``1.0``)."""
    normal: dict[SeriesKey, float] = {}
    for (name, labels), value in values.items():
        fixed = tuple((k, _le(float(v)) if k == "le" else v) for k, v in labels)
        normal[(name, fixed)] = value
    return normal


def _matches(found: dict[SeriesKey, float], expected: dict[SeriesKey, float | None]) -> bool:
    if set(found) != set(expected):
        return False
    return all(
        want is None or math.isclose(found[key], want, rel_tol=1e-9, abs_tol=1e-3)
        for key, want in expected.items()
    )


@pytest.fixture(scope="module")
def scraped(observed: Observed, prometheus: Prometheus) -> dict[SeriesKey, float]:
    """This session's floe series in Prometheus, once every expected value has been scraped."""
    expected = expected_series(outcomes(observed))
    found: dict[SeriesKey, float] = {}

    def done(values: dict[SeriesKey, float]) -> bool:
        nonlocal found
        found = _normalised(values)
        return _matches(found, expected)

    prometheus.wait_for(SELECTOR, done, drop=DROPPED, timeout=30)
    return found


def test_the_runs_ended_as_scripted(observed: Observed) -> None:
    codes = {name: [run.returncode for run in runs] for name, runs in observed.runs.items()}
    assert codes == {"obs_ok": [0, 0], "obs_retry": [0], "obs_partial": [1], "obs_denied": [1]}, [
        run.describe() for runs in observed.runs.values() for run in runs
    ]
    retry = observed.runs["obs_retry"][0].result("obs_retry")
    assert (retry["attempts"], retry["rows_loaded"]) == (3, 7)
    assert observed.api.outcomes("retry_items") == ["429", "429", "200"]
    partial = observed.runs["obs_partial"][0].result("obs_partial")
    assert (partial["error"]["code"], partial["error"]["failed_records"]) == ("PARTIAL_LOAD", 3)
    assert partial["rows_loaded"] == 6
    denied = observed.runs["obs_denied"][0].result("obs_denied")
    assert (denied["error"]["category"], denied["error"]["code"], denied["attempts"]) == (
        "PERMANENT",
        "AUTH_FAILED",
        1,
    )
    assert observed.dagster.success


def test_prometheus_holds_exactly_the_expected_value_of_every_floe_series(
    observed: Observed, scraped: dict[SeriesKey, float]
) -> None:
    expected = expected_series(outcomes(observed))
    missing = sorted(set(expected) - set(scraped))
    unexpected = sorted(set(scraped) - set(expected))
    assert not missing and not unexpected, f"missing {missing}\nunexpected {unexpected}"
    wrong = {
        key: (scraped[key], want)
        for key, want in expected.items()
        if want is not None and not math.isclose(scraped[key], want, rel_tol=1e-9, abs_tol=1e-3)
    }
    assert not wrong, f"(scraped, expected): {wrong}"
    families = {name for name, _ in scraped}
    for family in FAMILIES:  # every family floe exports is covered
        if family.kind == "histogram":
            assert {f"{family.name}_{part}" for part in ("bucket", "sum", "count")} <= families
        else:
            assert family.name in families


def test_timestamps_are_when_the_last_run_finished(
    observed: Observed, scraped: dict[SeriesKey, float]
) -> None:
    for source, runs in outcomes(observed).items():
        last = runs[-1]
        stamp = scraped[_key("floe_ingestion_last_run_timestamp_seconds", source)]
        assert last.window[0] <= stamp <= last.window[1], source
        successes = [run for run in runs if run.status == "success"]
        key = _key("floe_ingestion_last_success_timestamp_seconds", source)
        if successes:
            start, end = successes[-1].window
            assert start <= scraped[key] <= end, source
        else:
            assert key not in scraped  # a failed or partial run never sets it


def test_documented_promql_answers_what_the_runs_did(
    observed: Observed, prometheus: Prometheus, scraped: dict[SeriesKey, float]
) -> None:
    job = f'job="{JOB}"'
    by_status = prometheus.values(f"sum by (status) (floe_ingestion_runs_total{{{job}}})")
    assert {dict(labels)["status"]: value for (_, labels), value in by_status.items()} == {
        "success": 5.0,  # obs_ok twice, obs_retry, obs_dag_a, obs_dag_b
        "failure": 1.0,
        "partial": 1.0,
    }
    never_succeeded = prometheus.values(
        f"floe_ingestion_last_run_timestamp_seconds{{{job}}} "
        f"unless on (source) floe_ingestion_last_success_timestamp_seconds{{{job}}}"
    )
    assert sorted(dict(labels)["source"] for _, labels in never_succeeded) == [
        "obs_denied",
        "obs_partial",
    ]
    errors = prometheus.values(
        f"sum by (source, category, code) (floe_ingestion_errors_total{{{job}}})"
    )
    assert {tuple(v for _, v in labels): value for (_, labels), value in errors.items()} == {
        ("TRANSIENT", "RATE_LIMITED", "obs_retry"): 2.0,
        ("PARTIAL", "PARTIAL_LOAD", "obs_partial"): 1.0,
        ("PERMANENT", "AUTH_FAILED", "obs_denied"): 1.0,
    }
    mean = prometheus.values(
        f'sum by (source) (floe_ingestion_run_duration_seconds_sum{{{job}, source="obs_ok"}}) / '
        f'sum by (source) (floe_ingestion_run_duration_seconds_count{{{job}, source="obs_ok"}})'
    )
    durations = [run.result("obs_ok")["duration_seconds"] for run in observed.runs["obs_ok"]]
    assert list(mean.values()) == [pytest.approx(sum(durations) / 2, rel=1e-9)]
    median = prometheus.values(
        "histogram_quantile(0.5, sum by (source, le) "
        f'(floe_ingestion_run_duration_seconds_bucket{{{job}, source="obs_ok"}}))'
    )
    (estimate,) = median.values()
    upper = min(b for b in DURATION_BUCKETS if b >= min(durations))
    lower = max([0.0, *(b for b in DURATION_BUCKETS if b < min(durations))])
    assert lower <= estimate <= max(upper, max(durations))


def test_each_pipeline_is_one_stable_pushgateway_group(
    observed: Observed, pushgateway: Pushgateway, scraped: dict[SeriesKey, float]
) -> None:
    groups = pushgateway.groups(JOB)
    assert sorted(group["pipeline"] for group in groups) == sorted(
        [*observed.runs, *DAGSTER_PIPELINES]
    )
    assert all(set(group) == {"job", "pipeline"} for group in groups)  # never a run id


def test_promtool_accepts_the_gateway_exposition(
    pushgateway: Pushgateway, scraped: dict[SeriesKey, float]
) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with the prometheus package that scripts/services.sh installs"
    text = pushgateway.exposition()
    assert f'job="{JOB}"' in text and "floe_ingestion_run_duration_seconds_bucket" in text
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    ours = "".join(
        line + "\n"
        for line in text.splitlines()
        if (line.startswith("# ") and " floe_ingestion_" in line)
        or (line.startswith("floe_ingestion_") and f'job="{JOB}"' in line)
    )
    checked = subprocess.run(
        [promtool, "check", "metrics"], input=ours, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
