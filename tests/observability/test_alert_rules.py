"""The recommended alert rules (``docs/operations/alerts.rules.yml``): valid, unit-tested, and
right about the observed runs.

* ``promtool check rules`` accepts the file;
* ``promtool test rules`` runs ``alert_rules_test.yml``: each alert fires (with its labels and
  rendered annotations) exactly when it should, pending periods and resolutions included;
* each rule's expression, evaluated by the real Prometheus over the observed runs of this
  session, selects exactly the pipelines it should.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from observability.scenario import JOB, Observed
from observability.support import Prometheus

HERE = Path(__file__).resolve().parent
RULES = HERE.parents[1] / "docs" / "operations" / "alerts.rules.yml"
UNIT_TESTS = HERE / "alert_rules_test.yml"


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    assert promtool, "promtool comes with the prometheus package that scripts/services.sh installs"
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=120, check=False
    )


def _rules() -> dict[str, dict[str, Any]]:
    document = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {rule["alert"]: rule for group in document["groups"] for rule in group["rules"]}


def test_promtool_accepts_the_rules_file() -> None:
    checked = _promtool("check", "rules", str(RULES))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in checked.stdout


def test_the_rules_pass_their_promtool_unit_tests() -> None:
    tested = _promtool("test", "rules", str(UNIT_TESTS))
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_failed_runs_stale_success_and_retry_storms_are_covered() -> None:
    rules = _rules()
    assert {
        "FloeIngestionLastRunFailed",
        "FloeIngestionRepeatedFailures",
        "FloeIngestionStale",
        "FloeIngestionRetryStorm",
    } <= set(rules)
    for name, rule in rules.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


# What each rule's expression selects among the observed pipelines (``for:`` aside).
EXPECTED_FIRING = {
    "FloeIngestionLastRunFailed": {"obs_partial", "obs_denied"},
    "FloeIngestionRepeatedFailures": set(),
    "FloeIngestionAuthFailed": {"obs_denied"},  # its error series was born at 1, and still seen
    "FloeIngestionRowsFailed": {"obs_partial"},
    "FloeIngestionStale": set(),
    "FloeIngestionNotRunning": set(),
    "FloeIngestionRetryStorm": set(),  # two retries are no storm
}


@pytest.mark.slow
@pytest.mark.pushgateway
def test_rules_select_the_right_pipelines_of_the_observed_runs(
    observed: Observed, prometheus: Prometheus
) -> None:
    rules = _rules()
    assert set(EXPECTED_FIRING) | {"FloeMetricsPushgatewayDown"} == set(rules)
    # Wait until every observed pipeline has been scraped, so no rule sees half the data.
    pipelines = {*observed.runs, "obs_dag_a", "obs_dag_b"}
    prometheus.wait_for(
        f'floe_ingestion_last_run_timestamp_seconds{{job="{JOB}"}}',
        lambda values: {dict(labels)["source"] for _, labels in values} == pipelines,
    )
    for name, expected in EXPECTED_FIRING.items():
        selected = {
            labels["source"]
            for labels in (sample["metric"] for sample in prometheus.query(rules[name]["expr"]))
            if labels.get("job") == JOB
        }
        assert selected == expected, name
    assert prometheus.query(rules["FloeMetricsPushgatewayDown"]["expr"]) == []  # it is up
