"""JSON schemas of ``platform-manifest.yaml`` and ``floe.yaml``, generated from the models.

The schemas are shipped next to this module (``floe.schema.json``,
``platform-manifest.schema.json``) so editors can validate and complete the files, e.g. with
the YAML language server::

    # yaml-language-server: $schema=<path to floe_core/project/schemas/floe.schema.json>

They are generated, never edited: after changing a model run
``python -m floe_core.project.schemas`` (``--check`` only reports whether they are current; a
test fails when they are not). ``floe schema`` prints them for a project's editor settings.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from floe_core.project.manifest import PlatformManifest
from floe_core.project.pipelines import FloeFile

__all__ = ["SCHEMAS", "SCHEMA_DIR", "render_schema", "schema_of", "stale_schemas", "write_schemas"]

SCHEMA_DIR = Path(__file__).resolve().parent
"""Where the shipped schema files are."""

SCHEMAS: dict[str, type[BaseModel]] = {
    "floe.schema.json": FloeFile,
    "platform-manifest.schema.json": PlatformManifest,
}
"""Schema file name -> the model it is generated from."""

_ID_BASE = "https://floe.dev/schemas/"


def schema_of(model: type[BaseModel], file_name: str) -> dict[str, Any]:
    """The JSON schema (draft 2020-12) of ``model``, identified as ``file_name``."""
    schema = model.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": _ID_BASE + file_name,
        **schema,
    }


def render_schema(file_name: str) -> str:
    """The text of the schema file ``file_name`` (stable: same models, same bytes)."""
    return json.dumps(schema_of(SCHEMAS[file_name], file_name), indent=2) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    """Write every schema into ``directory``; return the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name in SCHEMAS:
        path = directory / file_name
        path.write_text(render_schema(file_name), encoding="utf-8")
        written.append(path)
    return written


def stale_schemas(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of the schema files in ``directory`` that are missing or differ from the models."""
    stale = []
    for file_name in SCHEMAS:
        path = directory / file_name
        if not path.is_file() or path.read_text(encoding="utf-8") != render_schema(file_name):
            stale.append(file_name)
    return stale
