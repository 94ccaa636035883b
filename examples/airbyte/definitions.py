"""The Airbyte example as Dagster definitions (start the emulator first, see README.md)."""

from floe_core.dagster import build_definitions

defs = build_definitions(__file__)
