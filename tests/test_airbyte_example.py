"""examples/airbyte from the command line, against the Airbyte API emulator."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from floe_ingestion_airbyte.testing import AirbyteEmulator

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "airbyte"


@pytest.fixture
def emulator() -> Iterator[AirbyteEmulator]:
    with AirbyteEmulator() as running:
        yield running


@pytest.fixture
def project(tmp_path: Path, emulator: AirbyteEmulator) -> Path:
    """The example, pointed at the emulator's port (the example says 8006)."""
    target = tmp_path / "airbyte"
    shutil.copytree(EXAMPLE, target, ignore=shutil.ignore_patterns(".floe", "__pycache__"))
    manifest = target / "platform-manifest.yaml"
    manifest.write_text(manifest.read_text().replace("http://127.0.0.1:8006", emulator.url))
    return target


def floe(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AIRBYTE_CLIENT_SECRET": "emulator-client-secret"}
    return subprocess.run(
        [sys.executable, "-m", "floe_core", *args],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip


def test_floe_run_syncs_the_connection(project: Path, emulator: AirbyteEmulator) -> None:
    completed = floe("run", "-p", str(project), "--json")
    assert completed.returncode == 0, completed.stdout + completed.stderr
    (result,) = json.loads(completed.stdout)
    assert result["pipeline"] == "shop_postgres"
    assert result["plugin"] == "airbyte"
    assert result["success"] is True
    assert result["rows_loaded"] > 0
    assert sorted(result["tables_created"]) == ["bronze.orders", "bronze.users"]
    assert result["details"]["job_id"]
    events = (project / ".floe" / "lineage" / "events.jsonl").read_text().splitlines()
    assert [json.loads(e)["eventType"] for e in events] == ["START", "COMPLETE"]
    assert "emulator-client-secret" not in completed.stdout + completed.stderr + "".join(events)


def test_floe_validate_reports_a_connection_that_does_not_write_iceberg(project: Path) -> None:
    shutil.copy(project / "not-iceberg.floe.yaml", project / "floe.yaml")
    completed = floe("validate", "-p", str(project), "--no-catalog")
    assert completed.returncode == 2
    output = completed.stdout + completed.stderr
    assert "floe.yaml:4" in output
    assert "does not write Iceberg tables" in output
    assert "DESTINATION_CONFIG_ERROR" in output
    assert not (project / ".floe" / "warehouse").exists()
