"""Every bad input of the corpus, through the real `floe` command line: right error, told well,
a non-zero exit, and nothing written.

Each case (``corpus/<case>/``, see :mod:`badinput.corpus`) is copied into a fresh folder per
command and checked four ways: ``floe validate --json`` and ``floe run`` (human output) as
real subprocesses (``python -m floe_core``, plugins found through their installed entry
points, the project as working directory), and ``floe validate`` (human) and ``floe run
--json`` in-process through the same typer application. The in-process half runs while the
subprocesses do, which keeps the module within its time budget on two cores: a subprocess
that reaches the dlt plugin imports dlt, pyiceberg and pyarrow (about 5 s of CPU).

For each command: the exit code; in JSON, a finding with the expected category and code and
every expected message substring; in human output, the code and every substring, and no
traceback. Then what the case's ``writes`` allows: by default no file under the project
changed and no ``.floe/`` appeared.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from badinput.corpus import (
    COMMANDS,
    Case,
    apply_setup,
    closed_port,
    fill,
    findings,
    load_cases,
    make_project,
    normalise,
    restore,
    tree_state,
    walk_files,
)

CASES = load_cases()
SUBPROCESS_TIMEOUT = 240
ENV_DROPPED = ("FLOE_SECRETS_DIR", "OPENLINEAGE_URL", "OPENLINEAGE_CONFIG")


@dataclass(frozen=True)
class Mode:
    """One way of running a command: ``floe <command> [--json]``, in a subprocess or not."""

    command: str
    as_json: bool
    subprocess: bool

    @property
    def label(self) -> str:
        where = "subprocess" if self.subprocess else "in-process"
        return f"floe {self.command}{' --json' if self.as_json else ''} ({where})"

    @property
    def folder(self) -> str:
        return f"{self.command}-{'json' if self.as_json else 'human'}"


MODES = (
    Mode("validate", as_json=True, subprocess=True),
    Mode("run", as_json=False, subprocess=True),
    Mode("validate", as_json=False, subprocess=False),
    Mode("run", as_json=True, subprocess=False),
)


@dataclass
class Outcome:
    mode: Mode
    exit_code: int
    stdout: str
    stderr: str


def _params() -> list[object]:
    params = []
    for case in CASES:
        marks = [pytest.mark.postgres] if "postgres" in case.needs else []
        params.append(pytest.param(case, id=case.name, marks=marks))
    return params


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("RUNTIME__DLTHUB_TELEMETRY", "false")


@contextmanager
def _services(case: Case, request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """The placeholder values of ``case``, with the services it needs running."""
    from floe_ingestion_airbyte.testing import (
        API_TOKEN,
        ICEBERG_CONNECTION_ID,
        INACTIVE_CONNECTION_ID,
        POSTGRES_CONNECTION_ID,
        AirbyteEmulator,
    )

    values = {
        "CLOSED_PORT": str(closed_port()),
        "AIRBYTE_TOKEN": API_TOKEN,
        "ICEBERG_CONNECTION_ID": ICEBERG_CONNECTION_ID,
        "INACTIVE_CONNECTION_ID": INACTIVE_CONNECTION_ID,
        "POSTGRES_CONNECTION_ID": POSTGRES_CONNECTION_ID,
    }
    with ExitStack() as stack:
        if "postgres" in case.needs:
            from sqlalchemy.engine import make_url

            url = make_url(request.getfixturevalue("postgres_server_url"))
            values["PG_HOSTPORT"] = f"{url.host}:{url.port}"
            values["PG_USER"] = str(url.username)
        if "airbyte" in case.needs:
            airbyte = stack.enter_context(AirbyteEmulator())
            values["AIRBYTE_URL"] = airbyte.url
        yield values


def _environment(case: Case, values: Mapping[str, str], project: Path) -> dict[str, str]:
    filled = {
        key: fill(value, {**values, "PROJECT": str(project)}) for key, value in case.env.items()
    }
    return filled


def _start(mode: Mode, case: Case, project: Path, env: Mapping[str, str]) -> subprocess.Popen[str]:
    base = {key: value for key, value in os.environ.items() if key not in ENV_DROPPED}
    args = [sys.executable, "-m", "floe_core", mode.command, *case.args]
    if mode.as_json:
        args.append("--json")
    return subprocess.Popen(
        args,
        cwd=project,
        env={**base, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(mode: Mode, process: subprocess.Popen[str]) -> Outcome:
    try:
        stdout, stderr = process.communicate(timeout=SUBPROCESS_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
        pytest.fail(f"{mode.label} did not finish in {SUBPROCESS_TIMEOUT} s:\n{stderr}")
    return Outcome(mode, process.returncode, stdout, stderr)


def _in_process(
    mode: Mode, case: Case, project: Path, env: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> Outcome:
    from floe_core.cli import create_app

    args = [mode.command, *case.args, *(["--json"] if mode.as_json else [])]
    with monkeypatch.context() as patch:
        patch.chdir(project)
        result = CliRunner().invoke(create_app(environ=dict(env)), args)
    return Outcome(mode, result.exit_code, result.stdout, result.stderr)


def _check_outcome(case: Case, outcome: Outcome, project: Path, values: Mapping[str, str]) -> None:
    expect = case.expect[outcome.mode.command]
    shown = f"{outcome.mode.label} of {case.name}:\nstdout:\n{outcome.stdout}\nstderr:\n{outcome.stderr}"
    assert outcome.exit_code == expect.exit, shown
    assert "Traceback" not in outcome.stdout + outcome.stderr, shown
    if expect.exit == 0:
        return
    messages = [fill(message, {**values, "PROJECT": str(project)}) for message in expect.messages]
    if outcome.mode.as_json:
        found = findings(outcome.stdout)
        assert (expect.category, expect.code) in {(f.category, f.code) for f in found}, shown
        text = normalise(" ".join(f.text for f in found))
    else:
        text = normalise(outcome.stdout + " " + outcome.stderr)
        assert expect.code in text, shown
    for message in messages:
        assert normalise(message) in text, f"{message!r} missing from {shown}"


# -- what was written ------------------------------------------------------------------------


def _catalog_tables(project: Path) -> dict[str, int | None]:
    """Identifier -> current snapshot id of every table in the project's embedded catalog."""
    if not (project / ".floe" / "catalog.db").exists():
        return {}
    from floe_core.catalog import load_catalog

    catalog = load_catalog(None, project_dir=project)
    tables: dict[str, int | None] = {}
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            table = catalog.load_table(identifier)
            snapshot = table.current_snapshot()
            tables[".".join(identifier)] = snapshot.snapshot_id if snapshot else None
    return tables


def _warehouse_files(project: Path) -> set[str]:
    warehouse = project / ".floe" / "warehouse"
    return {path.relative_to(warehouse).as_posix() for path in walk_files(warehouse)}


@dataclass(frozen=True)
class Baseline:
    """What the project holds before a command: its files (``.floe/`` included), tables, data."""

    files: dict[str, str]
    tables: dict[str, int | None]
    warehouse: set[str]

    @classmethod
    def of(cls, project: Path) -> Baseline:
        return cls(tree_state(project), _catalog_tables(project), _warehouse_files(project))


def _check_nothing_written(case: Case, mode: Mode, project: Path, baseline: Baseline) -> None:
    """``floe validate`` writes nothing at all; ``floe run`` what the case's ``writes`` allows."""
    where = f"{mode.label} of {case.name}"
    if mode.command == "validate":
        assert tree_state(project) == baseline.files, f"{where} wrote {_diff(project, baseline)}"
        return
    outside = {k: v for k, v in baseline.files.items() if not k.startswith(".floe/")}
    assert tree_state(project, skip=(".floe/",)) == outside, f"{where} changed project files"
    if case.writes == "nothing":
        assert not (project / ".floe").exists(), f"{where} created .floe/"
        return
    assert _catalog_tables(project) == baseline.tables, f"{where} wrote to the catalog"
    assert _warehouse_files(project) == baseline.warehouse, f"{where} wrote to the warehouse"


def _diff(project: Path, baseline: Baseline) -> list[str]:
    now = tree_state(project)
    return sorted(
        path for path in set(now) | set(baseline.files) if now.get(path) != baseline.files.get(path)
    )


class Failures:
    """Every failed check of a case, so that one finding does not hide the others."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def collect(self, check: Callable[..., None], *args: object) -> None:
        try:
            check(*args)
        except AssertionError as exc:
            self.messages.append(str(exc).split("\nassert ")[0])

    def raise_any(self, case: Case) -> None:
        if self.messages:
            pytest.fail(f"{case.name} ({case.about}):\n\n" + "\n\n".join(self.messages))


# -- the test ----------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("case", _params())
def test_bad_input(
    case: Case, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _services(case, request) as values:
        if case.setup:
            _check_sequentially(case, tmp_path / "project", values, monkeypatch)
        else:
            _check_side_by_side(case, tmp_path, values, monkeypatch)


def _check_side_by_side(
    case: Case, tmp_path: Path, values: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One project copy per mode; the subprocesses run while the in-process modes do."""
    projects = {mode: make_project(case, tmp_path / mode.folder, values) for mode in MODES}
    baselines = {mode: Baseline.of(project) for mode, project in projects.items()}
    envs = {mode: _environment(case, values, project) for mode, project in projects.items()}
    started = {
        mode: _start(mode, case, projects[mode], envs[mode]) for mode in MODES if mode.subprocess
    }
    outcomes = [
        _in_process(mode, case, projects[mode], envs[mode], monkeypatch)
        for mode in MODES
        if not mode.subprocess
    ]
    outcomes += [_finish(mode, process) for mode, process in started.items()]
    failures = Failures()
    for outcome in outcomes:
        project = projects[outcome.mode]
        failures.collect(_check_outcome, case, outcome, project, values)
        failures.collect(
            _check_nothing_written, case, outcome.mode, project, baselines[outcome.mode]
        )
    failures.raise_any(case)


def _check_sequentially(
    case: Case, project: Path, values: Mapping[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A case with a setup run: one project, the setup run, then each mode in turn."""
    make_project(case, project, values)
    env = _environment(case, values, project)
    replaced = apply_setup(case, project, values)
    setup = _finish(Mode("run", True, True), _start(Mode("run", True, True), case, project, env))
    assert setup.exit_code == 0, (
        f"the setup run of {case.name} failed:\n{setup.stdout}\n{setup.stderr}"
    )
    restore(case, project, replaced, values)
    baseline = Baseline.of(project)
    assert baseline.tables, f"the setup run of {case.name} wrote no table"
    failures = Failures()
    for mode in sorted(MODES, key=lambda mode: mode.command != "validate"):
        if mode.subprocess:
            outcome = _finish(mode, _start(mode, case, project, env))
        else:
            outcome = _in_process(mode, case, project, env, monkeypatch)
        failures.collect(_check_outcome, case, outcome, project, values)
        failures.collect(_check_nothing_written, case, mode, project, baseline)
        if mode.command == "run":  # its working files (dlt's pending package) may change
            baseline = Baseline(tree_state(project), baseline.tables, baseline.warehouse)
    failures.raise_any(case)


def test_the_corpus_is_broad() -> None:
    """At least 40 cases, over every kind of failure the issue lists, each told fully."""
    assert len(CASES) >= 40
    codes = {case.expect[command].code for case in CASES for command in COMMANDS}
    assert codes >= {
        "INVALID_CONFIG",
        "SECRET_MISSING",
        "PLUGIN_NOT_FOUND",
        "CATALOG_UNAVAILABLE",
        "DESTINATION_CONFIG_ERROR",
        "CONNECTION_NOT_FOUND",
        "SCHEMA_MISMATCH",
        "SOURCE_ERROR",
    }
    for case in CASES:
        for command in COMMANDS:
            expect = case.expect[command]
            assert expect.exit in (0, 1, 2), case.name
            if expect.exit:
                assert expect.category and expect.code, f"{case.name}: {command}"
                assert len(expect.messages) >= 2, f"{case.name}: {command} needs where and what"
        assert any(case.expect[command].exit for command in COMMANDS), case.name
