"""Fixtures of the observability end-to-end tests: the observed runs, Prometheus, the gateway.

The scenario (``scenario.py``) runs once per session; its Pushgateway groups are deleted after
the last test. ``registry`` (the OpenLineage 2-0-2 schemas, by ``$id``) comes from
``tests/test_lineage.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_lineage import LineageReceiver, registry  # noqa: F401  (a fixture, used as such)

from observability.scenario import JOB, Observed, observe
from observability.support import Prometheus, Pushgateway


@pytest.fixture(scope="session")
def prometheus(prometheus_url: str) -> Prometheus:
    return Prometheus(prometheus_url)


@pytest.fixture(scope="session")
def pushgateway(pushgateway_url: str) -> Pushgateway:
    return Pushgateway(pushgateway_url)


@pytest.fixture(scope="session")
def observed(
    tmp_path_factory: pytest.TempPathFactory, pushgateway_url: str, pushgateway: Pushgateway
) -> Iterator[Observed]:
    """The scenario of ``scenario.py``, run once for every observability test."""
    receiver = LineageReceiver()
    try:
        yield observe(tmp_path_factory.mktemp("observed"), receiver, pushgateway_url)
    finally:
        receiver.stop()
        pushgateway.delete_job(JOB)
