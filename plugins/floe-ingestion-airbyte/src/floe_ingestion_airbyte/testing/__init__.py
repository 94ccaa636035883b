"""An Airbyte API emulator, for floe's tests and for users testing their Airbyte pipelines.

Airbyte itself needs a cluster; this is a real HTTP server on loopback that follows the
public API and the config API's job details as ``reference/airbyte/`` defines them, with the
real job status sequence and scripted faults. Use it from Python::

    from floe_ingestion_airbyte.testing import AirbyteEmulator, FailureSpec, JobPlan

    with AirbyteEmulator() as airbyte:
        airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.failed(FailureSpec.rate_limit()))
        ...

or as a command: ``python -m floe_ingestion_airbyte.testing --port 8000 [--seed seed.yaml]``
(also installed as ``floe-airbyte-emulator``).

Modules: :mod:`.server` (the HTTP server), :mod:`.state` (what it knows and how endpoints
answer), :mod:`.jobs` (job plans, failures, timelines), :mod:`.faults`, :mod:`.seed`,
:mod:`.problems` (error bodies), :mod:`.clock` (a manual clock for fast tests).
"""

from __future__ import annotations

from floe_ingestion_airbyte.testing.clock import ManualClock
from floe_ingestion_airbyte.testing.faults import Fault
from floe_ingestion_airbyte.testing.jobs import FailureSpec, JobPlan
from floe_ingestion_airbyte.testing.seed import (
    API_TOKEN,
    BASIC_PASSWORD,
    BASIC_USERNAME,
    CLIENT_ID,
    CLIENT_SECRET,
    DEFAULT_SEED,
    ICEBERG_CONNECTION_ID,
    ICEBERG_DESTINATION_ID,
    INACTIVE_CONNECTION_ID,
    POSTGRES_CONNECTION_ID,
    POSTGRES_DESTINATION_ID,
    S3_DATA_LAKE_DEFINITION_ID,
    WORKSPACE_ID,
    load_seed,
)
from floe_ingestion_airbyte.testing.server import AirbyteEmulator, RecordedRequest

__all__ = [
    "API_TOKEN",
    "BASIC_PASSWORD",
    "BASIC_USERNAME",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "DEFAULT_SEED",
    "ICEBERG_CONNECTION_ID",
    "ICEBERG_DESTINATION_ID",
    "INACTIVE_CONNECTION_ID",
    "POSTGRES_CONNECTION_ID",
    "POSTGRES_DESTINATION_ID",
    "S3_DATA_LAKE_DEFINITION_ID",
    "WORKSPACE_ID",
    "AirbyteEmulator",
    "FailureSpec",
    "Fault",
    "JobPlan",
    "ManualClock",
    "RecordedRequest",
    "load_seed",
]
