"""Scenarios: how the conformance kit makes a plugin's source succeed or fail.

The kit never talks to a source itself. For each check it asks a :class:`ScenarioDriver` to
prepare one :class:`Scenario` (a successful load of some rows, a refused credential, a rate
limit, a connection lost midway, an error message that contains a secret) and then runs the
plugin with the scenario's ``run_kwargs``.

* Plugins that run in-process take a Python source through ``run(pipeline, source=...)``: the
  default driver, :class:`MockSourceScenarios`, hands them a
  :class:`~floe_core.testing.sources.MockSource`.
* External plugins (``is_external = True``, e.g. Airbyte) cannot take a Python source. Their
  test class sets ``supports_mock_source = False`` and overrides the ``failure_scenarios``
  fixture with a driver that scripts the external service (or its emulator) and returns the
  ``run_kwargs`` the plugin needs (often none). ``style`` is then ``"external"`` and ``shape``
  is ``"external"``: such a driver may ignore them.

A driver must make each scenario happen on *every* attempt until the next ``prepare`` call (a
retried run sees the same failure), and must leave nothing behind between scenarios that
changes the next one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from floe_core.config import IngestionConfig
from floe_core.testing.sources import FAILURE_STYLES, FailureStyle, MockSource

__all__ = [
    "SOURCE_SHAPES",
    "MockSourceScenarios",
    "Scenario",
    "ScenarioDriver",
    "SourceShape",
]

SourceShape = Literal["dicts", "arrow"]
SOURCE_SHAPES: tuple[SourceShape, ...] = ("dicts", "arrow")
"""How a mock source hands out rows: dicts, or pyarrow record batches."""


@dataclass(frozen=True)
class Scenario:
    """One prepared situation: what to pass to ``run``, and what the source does.

    ``description`` completes the sentence "a source that ..." in failure messages.
    ``yielded_rows`` are the rows the source hands out before it fails (all of them for a
    successful scenario); the kit compares them with what the Iceberg table holds.
    """

    run_kwargs: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    yielded_rows: list[dict[str, Any]] = field(default_factory=list)


@runtime_checkable
class ScenarioDriver(Protocol):
    """Prepares the kit's scenarios for one plugin (see the module docstring)."""

    def success(
        self, config: IngestionConfig, rows: Sequence[Mapping[str, Any]], *, shape: str
    ) -> Scenario:
        """A source that yields ``rows`` and ends normally."""
        ...

    def auth_failure(self, config: IngestionConfig, *, style: str) -> Scenario:
        """A source whose credentials are refused before any row (HTTP 401)."""
        ...

    def rate_limit(self, config: IngestionConfig, *, retry_after: int, style: str) -> Scenario:
        """A source that is rate limited before any row and says to retry after ``retry_after``."""
        ...

    def fail_after(
        self,
        config: IngestionConfig,
        rows: Sequence[Mapping[str, Any]],
        after: int,
        *,
        style: str,
    ) -> Scenario:
        """A source that yields the first ``after`` of ``rows`` and then loses its connection."""
        ...

    def leak_secret(self, config: IngestionConfig, secret: str, *, style: str) -> Scenario:
        """An authentication failure whose raw error message contains ``secret``."""
        ...


class MockSourceScenarios:
    """The default driver: every scenario is a :class:`MockSource` passed as ``source=``."""

    def success(
        self, config: IngestionConfig, rows: Sequence[Mapping[str, Any]], *, shape: str
    ) -> Scenario:
        if shape not in SOURCE_SHAPES:
            raise ValueError(f"source shape {shape!r} is not one of {SOURCE_SHAPES}")
        source = MockSource(rows, name=config.name, as_arrow=shape == "arrow", batch_size=2)
        what = "pyarrow record batches" if shape == "arrow" else "dicts"
        return _scenario(source, f"yields {len(source.rows)} rows as {what}")

    def auth_failure(self, config: IngestionConfig, *, style: str) -> Scenario:
        source = MockSource([], name=config.name).raise_auth_error(style=_style(style))
        return _scenario(source)

    def rate_limit(self, config: IngestionConfig, *, retry_after: int, style: str) -> Scenario:
        source = MockSource([], name=config.name).raise_rate_limit(retry_after, style=_style(style))
        return _scenario(source)

    def fail_after(
        self,
        config: IngestionConfig,
        rows: Sequence[Mapping[str, Any]],
        after: int,
        *,
        style: str,
    ) -> Scenario:
        source = MockSource(rows, name=config.name).fail_after(after, style=_style(style))
        return _scenario(source)

    def leak_secret(self, config: IngestionConfig, secret: str, *, style: str) -> Scenario:
        # Clients such as requests put the full URL, query string included, in their messages.
        url = f"http://127.0.0.1/api/{config.name}?access_token={secret}"
        source = MockSource([], name=config.name, url=url).raise_auth_error(style=_style(style))
        return _scenario(source)


def _scenario(source: MockSource, description: str | None = None) -> Scenario:
    if description is None:
        assert source.failure is not None
        description = source.failure.describe()
    return Scenario({"source": source}, description, source.expected_rows)


def _style(style: str) -> FailureStyle:
    for known in FAILURE_STYLES:
        if style == known:
            return known
    raise ValueError(f"failure style {style!r} is not one of {FAILURE_STYLES}")
