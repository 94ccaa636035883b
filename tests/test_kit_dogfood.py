"""The conformance kit judges plugins rightly: the example plugin passes, a broken one fails.

Each suite runs in its own pytest process (as a plugin author runs it), in a temporary folder
holding only the test module, and is read back from its JUnit XML report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
KIT_FIXTURES = Path(__file__).resolve().parent / "kit_fixtures"
EXAMPLE_CONFORMANCE = ROOT / "examples/third-party-plugin/tests/test_csv_conformance.py"

BROKEN_SUITE = """
from floe_core.testing import IngestionPluginConformance
from broken_plugin import BrokenPlugin


class TestBrokenPlugin(IngestionPluginConformance):
    plugin_class = BrokenPlugin
    entry_point_name = "broken"
"""

EXTERNAL_SUITE = """
import pytest
from floe_core.testing import IngestionPluginConformance
from external_plugin import ExternalPlugin, SyncService, SyncServiceScenarios


class TestExternalPlugin(IngestionPluginConformance):
    plugin_class = ExternalPlugin
    entry_point_name = "external_fixture"
    supports_mock_source = False
    commits_incrementally = True

    @pytest.fixture
    def sync_service(self):
        with SyncService().running() as service:
            yield service

    @pytest.fixture
    def plugin_settings(self, sync_service):
        return {"url": sync_service.url}

    @pytest.fixture
    def failure_scenarios(self, sync_service, plugin_context):
        return SyncServiceScenarios(sync_service, plugin_context)
"""

EXTERNAL_WITHOUT_DRIVER = """
from floe_core.testing import IngestionPluginConformance
from external_plugin import ExternalPlugin


class TestExternalPluginWithoutDriver(IngestionPluginConformance):
    plugin_class = ExternalPlugin
    entry_point_name = "external_fixture"
    supports_mock_source = False
"""

KIT_TESTS = 16  # 11 tests, 5 of them run twice (two failure styles or two source shapes)


def floe_pytest_plugin_args() -> list[str]:
    """``-p floe_core.testing.pytest_plugin`` unless floe-core's pytest11 entry point loads it."""
    registered = any(
        ep.value == "floe_core.testing.pytest_plugin" for ep in entry_points(group="pytest11")
    )
    return [] if registered else ["-p", "floe_core.testing.pytest_plugin"]


@dataclass(frozen=True)
class SuiteRun:
    """The outcomes of one test class of the kit run."""

    outcomes: dict[str, tuple[str, str]]  # test name -> (passed|failed|error|skipped, message)
    output: str

    def failed(self, test: str) -> str:
        """The failure message of ``test``; the test must have failed."""
        outcome, message = self.outcomes[test]
        assert outcome == "failed", f"{test} {outcome}, expected it to fail:\n{self.output}"
        return message

    def count(self, outcome: str) -> int:
        return sum(1 for o, _ in self.outcomes.values() if o == outcome)


def install_entry_point(folder: Path, name: str, target: str) -> None:
    """A throwaway distribution's metadata in ``folder`` (on PYTHONPATH) publishing ``name``."""
    dist_info = folder / "floe_kit_fixture-0.0.1.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: floe-kit-fixture\nVersion: 0.0.1\n"
    )
    (dist_info / "entry_points.txt").write_text(f"[floe.ingestion]\n{name} = {target}\n")


def run_suites(folder: Path, modules: dict[str, str]) -> dict[str, SuiteRun]:
    """Run test modules (name -> source) in ``folder`` in one new pytest process.

    One process for all suites: pyiceberg and dagster are imported once. Returns one
    :class:`SuiteRun` per test class, read from the JUnit XML report.
    """
    files = [f"{name}.py" for name in modules]
    for name, source in modules.items():
        (folder / f"{name}.py").write_text(source)
    report = folder / "report.xml"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(KIT_FIXTURES), str(folder)])}
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rfE"]
    completed = subprocess.run(
        [*command, f"--junitxml={report}", *floe_pytest_plugin_args(), *files],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert report.exists(), f"pytest wrote no report:\n{output}"
    by_class: dict[str, dict[str, tuple[str, str]]] = {}
    for case in ET.parse(report).getroot().iter("testcase"):
        outcome, message = "passed", ""
        for kind in ("failure", "error", "skipped"):
            node = case.find(kind)
            if node is not None:
                outcome = {"failure": "failed"}.get(kind, kind)
                message = (node.get("message") or "") + "\n" + (node.text or "")
        test_class = case.get("classname", "?").rsplit(".", 1)[-1]
        by_class.setdefault(test_class, {})[case.get("name", "?")] = (outcome, message)
    assert by_class, f"pytest ran no test:\n{output}"
    return {name: SuiteRun(outcomes, output) for name, outcomes in by_class.items()}


@pytest.fixture(scope="module")
def kit_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SuiteRun]:
    folder = tmp_path_factory.mktemp("kit_runs")
    install_entry_point(folder, "external_fixture", "external_plugin:ExternalPlugin")
    return run_suites(
        folder,
        {
            "test_example": EXAMPLE_CONFORMANCE.read_text(),
            "test_broken": BROKEN_SUITE,
            "test_external": EXTERNAL_SUITE,
            "test_external_no_driver": EXTERNAL_WITHOUT_DRIVER,
        },
    )


@pytest.fixture(scope="module")
def example_run(kit_runs: dict[str, SuiteRun]) -> SuiteRun:
    return kit_runs["TestCsvPluginConformance"]


@pytest.fixture(scope="module")
def broken_run(kit_runs: dict[str, SuiteRun]) -> SuiteRun:
    return kit_runs["TestBrokenPlugin"]


@pytest.fixture(scope="module")
def external_run(kit_runs: dict[str, SuiteRun]) -> SuiteRun:
    return kit_runs["TestExternalPlugin"]


def test_example_plugin_passes_the_whole_kit(example_run: SuiteRun) -> None:
    assert example_run.count("passed") == KIT_TESTS, example_run.outcomes
    assert example_run.count("skipped") == 0


def test_broken_plugin_fails_every_check(broken_run: SuiteRun) -> None:
    assert len(broken_run.outcomes) == KIT_TESTS
    not_failed = {name: o for name, (o, _) in broken_run.outcomes.items() if o != "failed"}
    assert not_failed == {}, broken_run.output


def test_failures_are_single_readable_paragraphs(broken_run: SuiteRun) -> None:
    """Kit failures carry the kit's message, not a traceback into the kit's code."""
    for name, (_, message) in broken_run.outcomes.items():
        assert message.removeprefix("Failed: ").startswith("[floe conformance: "), (name, message)
        assert "floe_core/testing/kit.py" not in message, (name, message)


def test_name_mismatch_and_missing_entry_point(broken_run: SuiteRun) -> None:
    message = broken_run.failed("test_metadata")
    assert "declares name = 'brokn'" in message
    assert "does not set floe_api_version; set it to the contract version" in message
    assert "'broken'" in message
    message = broken_run.failed("test_entry_point_resolves_to_plugin_class")
    assert "no 'floe.ingestion' entry point named 'broken' is installed" in message
    assert '[project.entry-points."floe.ingestion"]' in message
    assert 'broken = "broken_plugin:BrokenPlugin"' in message


def test_unknown_option_accepted(broken_run: SuiteRun) -> None:
    message = broken_run.failed("test_create_pipeline_rejects_invalid_config")
    assert "'floe_kit_no_such_option'" in message
    assert "create_pipeline accepted it" in message
    assert "ConfigurationError(ErrorCode.INVALID_CONFIG" in message


def test_wrong_rows_loaded_and_missing_table_outputs(broken_run: SuiteRun) -> None:
    arrow = broken_run.failed("test_successful_run[arrow]")
    assert "with a source that yields 6 rows as pyarrow record batches, 2 problem(s)" in arrow
    assert "rows_loaded is 3 but the source yielded 6 rows" in arrow
    dicts = broken_run.failed("test_successful_run[dicts]")
    assert "rows_loaded" not in dicts  # right for dicts: the kit does not invent problems
    assert "result.tables has no TableOutput for" in dicts


def test_unclassified_errors(broken_run: SuiteRun) -> None:
    for style in ("http", "floe"):
        auth = broken_run.failed(f"test_auth_failure[{style}]")
        assert "must end the run with PERMANENT/AUTH_FAILED" in auth
        assert "it ended with PERMANENT/UNKNOWN" in auth
        assert "builtins.RuntimeError through unclassified" in auth
        rate = broken_run.failed(f"test_rate_limit[{style}]")
        assert "must end the run with TRANSIENT/RATE_LIMITED" in rate
        midway = broken_run.failed(f"test_failure_midway[{style}]")
        assert "a lost connection is TRANSIENT/NETWORK_ERROR" in midway
    http = broken_run.failed("test_auth_failure[http]")
    assert "Map requests.HTTPError whose response.status_code is 401 or 403" in http
    floe = broken_run.failed("test_auth_failure[floe]")
    assert "let floe exceptions propagate" in floe


def test_secrets_leaked_or_ignored(broken_run: SuiteRun) -> None:
    for style in ("http", "floe"):
        message = broken_run.failed(f"test_no_secret_in_outputs[{style}]")
        assert "the value of secret 'floe-kit-canary-token' appears in the failed result" in message
        assert "self.context.secrets.resolve" in message
    missing = broken_run.failed("test_missing_secret")
    assert "the run succeeded although secret 'floe-kit-missing-" in missing
    destination = broken_run.failed("test_destination_config_targets_iceberg")
    assert "does not say it targets Iceberg" in destination
    assert "contains the value of secret 'floe-kit-canary-token'" in destination


def test_no_dagster_assets(broken_run: SuiteRun) -> None:
    message = broken_run.failed("test_create_dagster_assets")
    assert "create_dagster_assets returned None" in message


def test_kit_messages_never_repeat_the_canary_value(broken_run: SuiteRun) -> None:
    """The kit names a leaked secret by its reference; its own messages never show the value.

    (pytest's "Captured log call" sections still show what the plugin itself logged: that is
    the evidence of the leak, and the value is a random canary planted for the test.)
    """
    for name, (_, message) in broken_run.outcomes.items():
        kit_message = message.split("-- Captured", 1)[0]
        assert "canary-" not in kit_message.replace("floe-kit-canary-token", ""), name


def test_external_plugin_passes_the_kit_through_its_scenario_driver(external_run: SuiteRun) -> None:
    """An is_external plugin passes by scripting its service instead of taking a mock source."""
    names = set(external_run.outcomes)
    assert "test_auth_failure[external]" in names
    assert "test_successful_run[external]" in names
    assert len(names) == 11  # each test once: no failure styles or source shapes
    assert external_run.count("passed") == 11


def test_external_plugin_without_a_driver_is_told_what_to_do(
    kit_runs: dict[str, SuiteRun],
) -> None:
    run = kit_runs["TestExternalPluginWithoutDriver"]
    scenario_tests = [name for name in run.outcomes if name.endswith("[external]")]
    assert len(scenario_tests) == 5
    for name in scenario_tests:
        outcome, message = run.outcomes[name]
        assert outcome == "error", (name, run.output)
        assert "sets supports_mock_source = False, so it must override the `failure_scenarios`" in (
            message
        )
