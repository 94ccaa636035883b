"""floe's testing kit: mock sources for pipeline tests, and the plugin conformance suite.

Shipped in floe-core (install the ``testing`` extra for pytest) and registered as a pytest
plugin (:mod:`floe_core.testing.pytest_plugin`).

For users who unit-test their pipelines (see ``docs/testing-with-mock-sources.md``)
    MockSource, AuthFailureSource, RateLimitedSource, FailingAfterSource, SourceFailure,
    http_error, sample_rows, FAILURE_STYLES; make_context, read_table_rows, compare_rows
For plugin authors (see ``docs/plugin-authors/tutorial.md``)
    IngestionPluginConformance (subclass it in a test module), Scenario, ScenarioDriver,
    MockSourceScenarios, Canary

Names load on first use, so importing a mock source does not import pytest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from floe_core._lazy import lazy_exports

_EXPORTS: dict[str, str] = {
    "MockSource": "floe_core.testing.sources",
    "AuthFailureSource": "floe_core.testing.sources",
    "RateLimitedSource": "floe_core.testing.sources",
    "FailingAfterSource": "floe_core.testing.sources",
    "SourceFailure": "floe_core.testing.sources",
    "FailureStyle": "floe_core.testing.sources",
    "FAILURE_STYLES": "floe_core.testing.sources",
    "http_error": "floe_core.testing.sources",
    "sample_rows": "floe_core.testing.sources",
    "Scenario": "floe_core.testing.scenarios",
    "ScenarioDriver": "floe_core.testing.scenarios",
    "MockSourceScenarios": "floe_core.testing.scenarios",
    "make_context": "floe_core.testing.catalogs",
    "fresh_catalog": "floe_core.testing.catalogs",
    "read_table_rows": "floe_core.testing.catalogs",
    "compare_rows": "floe_core.testing.catalogs",
    "IngestionPluginConformance": "floe_core.testing.kit",
    "Canary": "floe_core.testing.kit",
}

__all__ = [
    "FAILURE_STYLES",
    "AuthFailureSource",
    "Canary",
    "FailingAfterSource",
    "FailureStyle",
    "IngestionPluginConformance",
    "MockSource",
    "MockSourceScenarios",
    "RateLimitedSource",
    "Scenario",
    "ScenarioDriver",
    "SourceFailure",
    "compare_rows",
    "fresh_catalog",
    "http_error",
    "make_context",
    "read_table_rows",
    "sample_rows",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)


if TYPE_CHECKING:
    from floe_core.testing.catalogs import (
        compare_rows,
        fresh_catalog,
        make_context,
        read_table_rows,
    )
    from floe_core.testing.kit import Canary, IngestionPluginConformance
    from floe_core.testing.scenarios import MockSourceScenarios, Scenario, ScenarioDriver
    from floe_core.testing.sources import (
        FAILURE_STYLES,
        AuthFailureSource,
        FailingAfterSource,
        FailureStyle,
        MockSource,
        RateLimitedSource,
        SourceFailure,
        http_error,
        sample_rows,
    )
