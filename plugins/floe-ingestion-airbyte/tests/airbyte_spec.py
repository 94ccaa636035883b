"""Validation against Airbyte's published contract (the reference files, never copied here).

``FLOE_AIRBYTE_SPEC_DIR`` (default ``reference/airbyte`` of the shared reference folder beside the
checkout, see the root ``conftest.py``) holds
``airbyte-public-api.yaml`` (OpenAPI 3.1), ``api-problems.yaml``, ``config-api.yaml`` and
``destination-s3-data-lake-spec.json``. :class:`SpecDocument` validates an instance against a
named component schema with jsonschema (Draft 2020-12, ``$ref`` resolved in the document) and
can also report fields the schema does not define (:meth:`SpecDocument.extra_fields`), so the
emulator answers "field for field".
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

_REPO = Path(__file__).resolve().parents[3]
REFERENCE_DIR = Path(os.environ.get("FLOE_REFERENCE_DIR", _REPO.parent / "shared" / "reference"))
SPEC_DIR = Path(os.environ.get("FLOE_AIRBYTE_SPEC_DIR", REFERENCE_DIR / "airbyte"))


class SpecDocument:
    """One OpenAPI document, for validating instances against its component schemas."""

    def __init__(self, name: str) -> None:
        path = SPEC_DIR / name
        if not path.is_file():
            raise FileNotFoundError(
                f"Airbyte reference file {path} is missing: set FLOE_AIRBYTE_SPEC_DIR to the "
                "folder holding airbyte-public-api.yaml, api-problems.yaml, config-api.yaml"
            )
        # BaseLoader would keep everything a string; the SafeLoader's datetimes only occur in
        # `example` values, which validation never reads.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        self.document: dict[str, Any] = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
        self.uri = f"urn:airbyte:{name}"
        resource = Resource.from_contents(self.document, default_specification=DRAFT202012)
        self.registry: Registry[Any] = Registry().with_resource(self.uri, resource)

    def schema(self, name: str) -> dict[str, Any]:
        return {"$ref": f"{self.uri}#/components/schemas/{name}"}

    def validate(self, instance: Any, name: str) -> None:
        """Raise jsonschema.ValidationError when ``instance`` breaks schema ``name``."""
        validator = jsonschema.Draft202012Validator(
            self.schema(name),
            registry=self.registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )
        validator.validate(instance)

    def extra_fields(self, instance: Any, name: str) -> list[str]:
        """Paths of object fields in ``instance`` that schema ``name`` does not define."""
        extras: list[str] = []
        self._walk(instance, self._resolve({"$ref": f"#/components/schemas/{name}"}), "", extras)
        return extras

    def _resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            pointer = str(schema["$ref"]).split("#", 1)[1]
            node: Any = self.document
            for part in pointer.strip("/").split("/"):
                node = node[part]
            schema = node
        return schema

    def _properties(self, schema: Mapping[str, Any]) -> dict[str, Any] | None:
        """Known properties of an object schema; None when any property is allowed."""
        schema = self._resolve(schema)
        if "oneOf" in schema or "anyOf" in schema or schema.get("additionalProperties"):
            return None
        props: dict[str, Any] = dict(schema.get("properties") or {})
        for part in schema.get("allOf") or []:
            more = self._properties(part)
            if more is None:
                return None
            props.update(more)
        if not props and "allOf" not in schema:
            return None  # a free-form object (e.g. DestinationConfiguration)
        return props

    def _walk(self, instance: Any, schema: Mapping[str, Any], path: str, extras: list[str]) -> None:
        schema = self._resolve(schema)
        if isinstance(instance, list):
            items = schema.get("items")
            if isinstance(items, Mapping):
                for index, item in enumerate(instance):
                    self._walk(item, items, f"{path}[{index}]", extras)
            return
        if not isinstance(instance, Mapping):
            return
        props = self._properties(schema)
        if props is None:
            return
        for key, value in instance.items():
            if key not in props:
                extras.append(f"{path}.{key}" if path else key)
            else:
                self._walk(value, props[key], f"{path}.{key}" if path else key, extras)


@functools.cache
def public_api() -> SpecDocument:
    return SpecDocument("airbyte-public-api.yaml")


@functools.cache
def problems() -> SpecDocument:
    return SpecDocument("api-problems.yaml")


@functools.cache
def config_api() -> SpecDocument:
    return SpecDocument("config-api.yaml")


@functools.cache
def s3_data_lake_spec() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        (SPEC_DIR / "destination-s3-data-lake-spec.json").read_text(encoding="utf-8")
    )
    return data


def assert_public(instance: Any, name: str) -> None:
    """``instance`` is a valid public-API ``name`` and has no field the spec lacks."""
    public_api().validate(instance, name)
    extras = public_api().extra_fields(instance, name)
    assert not extras, f"fields not in the public API's {name}: {extras}"


def assert_problem(body: Any, name: str, status: int) -> None:
    """``body`` is the RFC 9457 problem ``name`` of api-problems.yaml with that status."""
    problems().validate(body, name)
    schema = problems().document["components"]["schemas"][name]["allOf"][1]["properties"]
    assert body["status"] == status == schema["status"]["default"]
    assert body["type"] == schema["type"]["default"]
    assert body["title"] == schema["title"]["default"]
    extras = problems().extra_fields(body, name)
    assert not extras, f"fields not in {name}: {extras}"
