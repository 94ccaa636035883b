"""floe's pytest plugin (floe_core.testing.pytest_plugin): fixtures, marker and catalog option.

Each case runs pytest in a new process in pytester's folder, as a user's project would. This
process imports nothing new during a pytester test (pytester drops such modules afterwards, which
breaks SQLAlchemy for later tests): reading the PostgreSQL catalog back runs in a process too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from test_kit_dogfood import EXAMPLE_CONFORMANCE, floe_pytest_plugin_args

pytest_plugins = ["pytester"]

USER_TEST = """
from floe_core.runner import IngestionRunner
from floe_core.testing import read_table_rows
from floe_ingestion_csv import CsvIngestionPlugin
from floe_core.config import IngestionConfig


def test_loads_the_mock_rows(floe_context, floe_catalog, floe_project_dir, mock_source):
    assert floe_context.project_dir == floe_project_dir
    config = IngestionConfig(name="orders", source="orders.csv", destination_table="bronze.orders",
                             plugin="csv")
    result = IngestionRunner(CsvIngestionPlugin(floe_context)).run(config, source=mock_source)
    assert result.success, result.error
    assert read_table_rows(floe_catalog, "bronze.orders") == mock_source.rows


def test_embedded_catalog_lives_in_the_project(floe_catalog, floe_project_dir):
    floe_catalog.create_namespace("bronze")
    assert (floe_project_dir / ".floe" / "catalog.db").is_file()


def test_rate_limit_is_retried_after_the_wait_it_asked_for(floe_context, floe_runner, floe_sleeps,
                                                           mock_source):
    config = IngestionConfig(name="orders", source="orders.csv", destination_table="bronze.orders",
                             plugin="csv")
    mock_source.raise_rate_limit(retry_after=60)
    result = floe_runner(CsvIngestionPlugin(floe_context)).run(config, source=mock_source)
    assert result.error.code == "RATE_LIMITED"
    assert result.error.retry_after_seconds == 60
    assert result.attempts == 3
    assert floe_sleeps == [60.0, 120.0]  # backoff, never shorter than Retry-After
"""


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(
        *floe_pytest_plugin_args(), "-p", "no:cacheprovider", *args
    )


def test_user_fixtures_give_a_private_project_and_catalog(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    result = run(pytester)
    result.assert_outcomes(passed=3)


def test_marker_selects_conformance_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_kit=EXAMPLE_CONFORMANCE.read_text(),
        test_other="def test_unrelated():\n    pass\n",
    )
    selected = run(pytester, "--strict-markers", "-m", "floe_conformance", "--co", "-q")
    assert "test_other.py::test_unrelated" not in selected.stdout.str()
    assert "test_kit.py::TestCsvPluginConformance::test_metadata" in selected.stdout.str()
    deselected = run(pytester, "--strict-markers", "-m", "not floe_conformance", "--co", "-q")
    assert "test_other.py::test_unrelated" in deselected.stdout.str()
    assert "TestCsvPluginConformance" not in deselected.stdout.str()
    markers = run(pytester, "--markers")
    markers.stdout.fnmatch_lines(["@pytest.mark.floe_conformance: a test of floe's ingestion*"])


def test_help_documents_the_catalog_option(pytester: pytest.Pytester) -> None:
    result = run(pytester, "--help")
    result.stdout.fnmatch_lines(["*--floe-catalog-uri=URI*"])


READ_BACK = """
import json, sys
from pyiceberg.catalog.sql import SqlCatalog

catalog = SqlCatalog("floe_test", uri=sys.argv[1], warehouse="file://" + sys.argv[2])
counts = {
    ns[0]: catalog.load_table(f"{ns[0]}.events").scan().to_arrow().num_rows
    for ns in catalog.list_namespaces()
    if ns[0].startswith("kit_")
}
print(json.dumps(counts))
"""


@pytest.mark.postgres
def test_catalog_uri_runs_the_kit_on_postgresql(
    postgres_url: str, tmp_path: Path, pytester: pytest.Pytester
) -> None:
    # postgres_url first: it imports SQLAlchemy's dialect here, before pytester's snapshot.
    pytester.makepyfile(test_kit=EXAMPLE_CONFORMANCE.read_text())
    result = run(pytester, f"--floe-catalog-uri={postgres_url}", "-k", "successful_run")
    result.assert_outcomes(passed=2)
    read_back = subprocess.run(
        [sys.executable, "-c", READ_BACK, postgres_url, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    counts = json.loads(read_back.stdout)
    assert len(counts) == 2, "each test writes under a namespace of its own"
    assert set(counts.values()) == {6}


def test_catalog_uri_from_the_environment(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = pytester.path / "shared" / "catalog.db"
    database.parent.mkdir()
    monkeypatch.setenv("FLOE_TEST_CATALOG_URI", f"sqlite:///{database}")
    pytester.makepyfile(test_user=USER_TEST)
    run(pytester, "-k", "loads_the_mock_rows").assert_outcomes(passed=1)
    assert database.is_file(), "the fixtures used the catalog the environment named"
