"""The Iceberg destination settings a dlt pipeline writes with, derived from the catalog config.

:func:`destination_config` is what ``DltIngestionPlugin.get_destination_config`` returns: a
JSON-ready description for ``floe validate``, docs and support, never used to smuggle
credentials. The URI loses any ``user:password@``; every property the catalog takes from a
secret appears as ``{"secret_ref": "<reference>"}``; a plain property whose *name* marks it
as a credential (``...secret...``, ``...password...``, ``token``, ``credential``) is shown as
``{"secret_ref": null}`` with a hint to move it into ``secret_refs``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from floe_core.catalog import CatalogConfig, safe_uri

__all__ = ["destination_config"]

_CREDENTIAL_PROPERTY = re.compile(r"secret|password|token|credential|private|session", re.I)


def destination_config(config: CatalogConfig, project_dir: Path) -> dict[str, Any]:
    """Settings of floe's Iceberg destination for ``config`` (paths resolved in ``project_dir``)."""
    described = config.describe(project_dir)
    refs = {prop: {"secret_ref": reference} for prop, reference in config.secret_refs.items()}
    properties: dict[str, Any] = {}
    for key, value in sorted(config.properties.items()):
        if key in refs:
            continue
        properties[key] = (
            {"secret_ref": None, "hint": f"move {key} into catalog.secret_refs"}
            if _CREDENTIAL_PROPERTY.search(key)
            else safe_uri(value)
        )
    properties.update(refs)
    return {
        "destination": "iceberg",
        "writer": "floe_ingestion_dlt.destination (pyiceberg)",
        "catalog": {
            "type": config.type,
            "name": config.name,
            "uri": refs.get("uri") or safe_uri(described.get("uri", "")) or None,
            "warehouse": refs.get("warehouse") or described.get("warehouse") or None,
            "properties": properties,
        },
        "namespace": "the namespace part of each pipeline's destination_table; created on "
        "first use",
        "tables": "one resource: destination_table; several: one table per resource in the "
        "namespace; created on first use, at the location the catalog chooses",
        "commits": "one Iceberg commit per table per load, keyed by dlt load id in the "
        "snapshot summary (a retried load is committed once)",
        "state": "dlt pipeline state is committed with the data and restored from the catalog "
        "before each run",
    }
