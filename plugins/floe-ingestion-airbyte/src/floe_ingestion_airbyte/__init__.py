"""floe's Airbyte ingestion plugin: sync existing Airbyte connections into Iceberg, reliably.

Public API (loaded on first use; ``import floe_ingestion_airbyte`` imports neither dagster nor
the HTTP stack):

``AirbyteIngestionPlugin``
    the ``airbyte`` plugin of the ``floe.ingestion`` entry-point group (:mod:`.plugin`)
``AirbyteClient``, ``ClientCredentials``, ``BearerToken``, ``BasicAuth``
    the API client and its authentication methods (:mod:`.client`, :mod:`.auth`)
``AirbyteConnectionHandle``
    what ``create_pipeline`` returns (:mod:`.connection`)
``floe_ingestion_airbyte.testing``
    the Airbyte API emulator, for tests of floe and of users' pipelines
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from floe_core._lazy import lazy_exports

from floe_ingestion_airbyte.version import __version__

_EXPORTS: dict[str, str] = {
    "AirbyteIngestionPlugin": "floe_ingestion_airbyte.plugin",
    "AirbyteClient": "floe_ingestion_airbyte.client",
    "ClientCredentials": "floe_ingestion_airbyte.auth",
    "BearerToken": "floe_ingestion_airbyte.auth",
    "BasicAuth": "floe_ingestion_airbyte.auth",
    "AirbyteConnectionHandle": "floe_ingestion_airbyte.connection",
}

__all__ = [
    "AirbyteClient",
    "AirbyteConnectionHandle",
    "AirbyteIngestionPlugin",
    "BasicAuth",
    "BearerToken",
    "ClientCredentials",
    "__version__",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)


if TYPE_CHECKING:
    from floe_ingestion_airbyte.auth import BasicAuth, BearerToken, ClientCredentials
    from floe_ingestion_airbyte.client import AirbyteClient
    from floe_ingestion_airbyte.connection import AirbyteConnectionHandle
    from floe_ingestion_airbyte.plugin import AirbyteIngestionPlugin
