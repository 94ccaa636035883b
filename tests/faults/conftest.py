"""Fixtures of the fault-injection suite, and the summary printed at the end of the session.

Each test declares the fault it injects with the ``fault`` fixture
(``record = fault("source", "429 storm")``), then fills in ``survived``, ``rows_lost`` and
``rows_duplicated`` *before* asserting, so the summary shows what happened even when an
assertion fails. The summary (``pytest_terminal_summary``) lists every fault tried, whether
floe survived it, and the rows lost and duplicated, with the totals.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from observability.support import moto_server

from faults.support import FaultLog, FaultRecord, PrivatePostgres

_LOG_KEY = pytest.StashKey[FaultLog]()


def _log(config: pytest.Config) -> FaultLog:
    if _LOG_KEY not in config.stash:
        config.stash[_LOG_KEY] = FaultLog()
    return config.stash[_LOG_KEY]


@pytest.fixture
def fault(request: pytest.FixtureRequest) -> Callable[[str, str], FaultRecord]:
    """``fault(group, name)``: declare a fault; returns its record to fill in."""
    log = _log(request.config)
    return log.tried


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    log = config.stash.get(_LOG_KEY, None)
    if log is None or not log.records:
        return
    terminalreporter.write_sep("=", "floe fault injection summary")
    for line in log.lines():
        terminalreporter.write_line(line)
    target = os.environ.get("FLOE_FAULT_SUMMARY")
    if target:  # for CI artefacts and release notes
        Path(target).write_text("\n".join(log.lines()) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    """A PostgreSQL cluster of this module's own, which its tests may restart or stop."""
    cluster = PrivatePostgres()
    try:
        yield cluster
    finally:
        cluster.destroy()


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A moto S3 server of this module's own on 127.0.0.1 (its endpoint URL)."""
    with moto_server() as endpoint:
        yield endpoint
