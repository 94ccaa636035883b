"""floe's pytest plugin: fixtures for pipeline tests, the conformance marker, a catalog option.

Registered through the ``pytest11`` entry point of floe-core, so it is active wherever
floe-core is installed (and kept light: it imports no floe module until a fixture is used);
without that entry point, enable it with ``pytest -p floe_core.testing.pytest_plugin``. The
conformance kit itself does not need it: :class:`~floe_core.testing.IngestionPluginConformance`
carries its own fixtures.

Fixtures
    ``floe_project_dir``: an empty project folder in the test's tmp folder;
    ``floe_context``: a :class:`~floe_core.plugin.PluginContext` on that folder (embedded
    catalog under ``.floe/``, or the ``--floe-catalog-uri`` catalog);
    ``floe_catalog``: a separate catalog object on the same catalog, to read back what a run
    committed; ``mock_source``: a :class:`~floe_core.testing.MockSource` of sample rows;
    ``floe_runner``: ``floe_runner(plugin, **kwargs)`` builds an
    :class:`~floe_core.runner.IngestionRunner` that records its waits in ``floe_sleeps``
    instead of sleeping (a rate-limited run retried after 60 s takes no time).
Marker
    ``floe_conformance`` is put on every test of a conformance-kit subclass
    (``pytest -m floe_conformance`` runs only those, ``-m "not floe_conformance"`` skips them).
Option
    ``--floe-catalog-uri URI`` (or the ``FLOE_TEST_CATALOG_URI`` environment variable): a
    SQLAlchemy URL of a SQL catalog database (e.g. ``postgresql+psycopg2://...``) that these
    fixtures and the kit use instead of the embedded SQLite catalog. Tests write under fresh
    namespaces, so a shared database is fine.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

    from floe_core.plugin import IngestionPlugin, PluginContext
    from floe_core.runner import IngestionRunner
    from floe_core.testing.sources import MockSource

MARKER = "floe_conformance"
CATALOG_URI_OPTION = "floe_catalog_uri"
"""The ``dest`` of ``--floe-catalog-uri``, read by the fixtures and the conformance kit."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("floe", "floe ingestion testing")
    group.addoption(
        "--floe-catalog-uri",
        dest=CATALOG_URI_OPTION,
        default=os.environ.get("FLOE_TEST_CATALOG_URI") or None,
        metavar="URI",
        help="SQLAlchemy URL of the SQL Iceberg catalog database that floe fixtures and the "
        "conformance kit use instead of the embedded SQLite catalog "
        "(default: $FLOE_TEST_CATALOG_URI, else embedded).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}: a test of floe's ingestion plugin conformance kit "
        "(floe_core.testing.IngestionPluginConformance)",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    kit = sys.modules.get("floe_core.testing.kit")
    if kit is None:  # no collected module uses the kit: nothing to mark, nothing to import
        return
    IngestionPluginConformance = kit.IngestionPluginConformance
    for item in items:
        cls = getattr(item, "cls", None)
        if isinstance(cls, type) and issubclass(cls, IngestionPluginConformance):
            item.add_marker(MARKER)


@pytest.fixture
def floe_project_dir(tmp_path: Path) -> Path:
    """An empty project folder, unique to the test."""
    project = tmp_path / "project"
    project.mkdir()
    return project


@pytest.fixture
def floe_context(floe_project_dir: Path, request: pytest.FixtureRequest) -> PluginContext:
    """A PluginContext on ``floe_project_dir`` with the test catalog and no settings."""
    from floe_core.testing.catalogs import make_context

    catalog_uri = request.config.getoption(CATALOG_URI_OPTION, default=None)
    return make_context(floe_project_dir, catalog_uri=catalog_uri)


@pytest.fixture
def floe_catalog(floe_context: PluginContext) -> Catalog:
    """A catalog object of its own on ``floe_context``'s catalog: it sees committed data only."""
    from floe_core.testing.catalogs import fresh_catalog

    return fresh_catalog(floe_context)


@pytest.fixture
def mock_source() -> MockSource:
    """A MockSource of five sample rows, ready to be told to fail."""
    from floe_core.testing.sources import MockSource

    return MockSource()


@pytest.fixture
def floe_sleeps() -> list[float]:
    """The waits (seconds) of runners made by ``floe_runner``, in order."""
    return []


@pytest.fixture
def floe_runner(floe_sleeps: list[float]) -> Callable[..., IngestionRunner]:
    """``floe_runner(plugin, **kwargs)``: an IngestionRunner whose waits go to ``floe_sleeps``."""
    from floe_core.runner import IngestionRunner

    def make(plugin: IngestionPlugin, **kwargs: Any) -> IngestionRunner:
        kwargs.setdefault("sleep", floe_sleeps.append)
        return IngestionRunner(plugin, **kwargs)

    return make
