"""Fixtures for the Airbyte plugin's tests: a manual clock, the emulator, plugins wired to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from airbyte_helpers import PluginFactory, make_plugin_context, pipeline
from floe_core.config import IngestionConfig

from floe_ingestion_airbyte.plugin import AirbyteIngestionPlugin
from floe_ingestion_airbyte.testing import (
    CLIENT_SECRET,
    AirbyteEmulator,
    ManualClock,
)


@pytest.fixture
def manual_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def airbyte(manual_clock: ManualClock) -> Iterator[AirbyteEmulator]:
    """The emulator with the default seed, on the test's manual clock."""
    with AirbyteEmulator(clock=manual_clock) as emulator:
        yield emulator


@pytest.fixture
def make_plugin(airbyte: AirbyteEmulator, manual_clock: ManualClock) -> PluginFactory:
    """``make_plugin(secret=..., sleep=..., **settings)``: a plugin pointed at the emulator."""

    def make(
        *,
        secret: str = CLIENT_SECRET,
        sleep: Callable[[float], None] | None = None,
        catalog: Any = None,
        **settings: Any,
    ) -> AirbyteIngestionPlugin:
        context = make_plugin_context(airbyte, secret=secret, catalog=catalog, **settings)
        return AirbyteIngestionPlugin(
            context, sleep=sleep or manual_clock.sleep, clock=manual_clock
        )

    return make


@pytest.fixture
def config() -> IngestionConfig:
    return pipeline()
