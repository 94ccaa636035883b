"""The quickstart as Dagster definitions: `dagster dev -f examples/quickstart/definitions.py`."""

from floe_core.dagster import build_definitions

defs = build_definitions(__file__)
