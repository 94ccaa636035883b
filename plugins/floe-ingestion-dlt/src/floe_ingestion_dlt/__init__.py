"""floe's dlt ingestion plugin: dlt sources loaded exactly once into Apache Iceberg tables.

``import floe_ingestion_dlt`` is light (no dlt, pyiceberg or dagster); the names below are
loaded on first use:

* :class:`DltIngestionPlugin` (entry point ``dlt`` in ``floe.ingestion``) and
  :class:`DltPipelineHandle` (what ``create_pipeline`` returns) from ``.plugin``;
* :func:`map_exception` from ``.errors``: dlt exceptions -> floe ``IngestionError``;
* :func:`create_dagster_assets` from ``.dagster`` (needs the ``dagster`` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from floe_core._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "DltIngestionPlugin": "floe_ingestion_dlt.plugin",
    "DltPipelineHandle": "floe_ingestion_dlt.plugin",
    "map_exception": "floe_ingestion_dlt.errors",
    "create_dagster_assets": "floe_ingestion_dlt.dagster",
}

__all__ = [
    "DltIngestionPlugin",
    "DltPipelineHandle",
    "__version__",
    "create_dagster_assets",
    "map_exception",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)


if TYPE_CHECKING:
    from floe_ingestion_dlt.dagster import create_dagster_assets
    from floe_ingestion_dlt.errors import map_exception
    from floe_ingestion_dlt.plugin import DltIngestionPlugin, DltPipelineHandle
