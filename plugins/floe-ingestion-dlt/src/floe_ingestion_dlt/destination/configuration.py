"""The dlt configuration spec of the floe Iceberg destination.

The live pyiceberg catalog is not configuration (it comes from the platform manifest through
floe) and is handed to the job client by the destination factory; the spec only records, for
dlt's messages and traces, which catalog and namespace are written. No credentials live here.
"""

from __future__ import annotations

import dataclasses
from typing import Final

from dlt.common.configuration import configspec
from dlt.common.destination.client import DestinationClientConfiguration

__all__ = ["FloeIcebergClientConfiguration"]


@configspec
class FloeIcebergClientConfiguration(DestinationClientConfiguration):
    destination_type: Final[str] = dataclasses.field(  # type: ignore[misc]
        default="floe_iceberg", init=False, repr=False, compare=False
    )
    catalog_name: str | None = None
    """Name of the pyiceberg catalog (``floe`` for the embedded one)."""
    namespace: str | None = None
    """Dotted Iceberg namespace the tables land in."""

    def data_location(self) -> str | None:
        if self.catalog_name is None or self.namespace is None:
            return None
        return f"iceberg://{self.catalog_name}/{self.namespace}"

    def __str__(self) -> str:
        return f"Iceberg catalog {self.catalog_name!r}, namespace {self.namespace!r}"
