"""The Airbyte S3 Data Lake (Iceberg) destination that matches floe's catalog, and a check
that the destination a connection really uses is that one.

:func:`destination_config` turns floe's catalog block (``CatalogConfig``, the manifest's
``catalog:``) plus the plugin's ``destination`` settings into the destination's
``configuration`` as ``destination-s3-data-lake``'s spec defines it (``destinationType``,
``s3_bucket_name``, ``s3_bucket_region``, ``warehouse_location``, ``main_branch_name``,
``catalog_type`` and, when known, ``s3_endpoint``, ``access_key_id``, ``secret_access_key``),
plus floe's marker ``table_format: iceberg`` (not a connector field: leave it out when creating
the destination in Airbyte):

=========================  ==========================================================
floe catalog               ``catalog_type``
=========================  ==========================================================
``type: rest``             ``REST`` (``server_uri`` = ``uri``), or ``NESSIE`` /
                           ``POLARIS`` when ``destination.catalog_type`` says so
``type: glue``             ``GLUE`` (``glue_id`` from ``glue.id`` or ``destination.glue_id``)
``type: sql``              none: Airbyte cannot write to a SQL (JDBC) catalog -> error
=========================  ==========================================================

Secret fields never carry a value: they hold ``secret_ref:<reference>`` naming the floe
secret reference to put there (from ``catalog.secret_refs`` or the ``*_ref`` settings).

:func:`compare_destination` reports, as sentences, how a ``DestinationResponse`` differs from
the expected configuration. Values Airbyte masks (``**********``) and expected secret
references are not compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from floe_core.catalog import CatalogConfig
from floe_core.errors import ConfigurationError, ErrorCode

from floe_ingestion_airbyte.settings import DestinationSettings

__all__ = [
    "DESTINATION_TYPE",
    "SECRET_REF_PREFIX",
    "compare_destination",
    "destination_config",
    "is_masked",
    "secret_ref",
]

DESTINATION_TYPE = "s3-data-lake"
_FLOE_KEYS = frozenset({"destinationType", "table_format"})
SECRET_REF_PREFIX = "secret_ref:"
_WHERE = "plugins.ingestion.config.destination"


def secret_ref(reference: str) -> str:
    """The placeholder that stands for the secret ``reference`` in a destination config."""
    return f"{SECRET_REF_PREFIX}{reference}"


def is_masked(value: Any) -> bool:
    """Whether Airbyte masked this value (secrets come back as ``**********``)."""
    return isinstance(value, str) and len(value) >= 3 and set(value) == {"*"}


def destination_config(
    catalog: CatalogConfig | Mapping[str, Any] | None,
    settings: DestinationSettings | Mapping[str, Any] | None = None,
    *,
    namespace: str | None = None,
) -> dict[str, Any]:
    """The S3 Data Lake destination configuration for floe's catalog (see module doc).

    ``namespace`` is the default namespace (Glue: database) written into ``catalog_type``;
    it defaults to ``destination.namespace`` and then to ``default``. Raises
    ConfigurationError(DESTINATION_CONFIG_ERROR) when Airbyte cannot write to the catalog or
    a required value is missing, saying which setting to add.
    """
    config = _catalog(catalog)
    wanted = (
        settings
        if isinstance(settings, DestinationSettings)
        else DestinationSettings.model_validate(dict(settings or {}))
    )
    props = config.properties
    refs = config.secret_refs
    kind = wanted.catalog_type or {"rest": "REST", "glue": "GLUE"}.get(config.type)
    if kind is None:
        raise ConfigurationError(
            ErrorCode.DESTINATION_CONFIG_ERROR,
            f"catalog {config.name!r} is of type {config.type!r}: Airbyte's S3 Data Lake "
            "destination writes through a REST (Polaris, Nessie, Lakekeeper...) or Glue "
            "catalog only. Configure one in the platform manifest's catalog: block (or set "
            f"{_WHERE}.catalog_type) so that floe and Airbyte share the catalog",
            source="airbyte",
            details={"catalog_type": config.type},
        )
    warehouse = wanted.warehouse_location or _location(config.warehouse)
    if not warehouse:
        raise _missing(
            "warehouse_location",
            f"the catalog's warehouse ({config.warehouse!r}) is not a storage location "
            "such as s3://bucket/path",
        )
    bucket = wanted.s3_bucket_name or _bucket(warehouse)
    if not bucket:
        raise _missing("s3_bucket_name", f"it cannot be read from {warehouse!r}")
    region = (
        wanted.s3_bucket_region
        or props.get("s3.region")
        or props.get("client.region")
        or props.get("glue.region")
        or ""
    )
    default_ns = namespace or wanted.namespace or "default"

    result: dict[str, Any] = {
        "destinationType": DESTINATION_TYPE,
        "table_format": "iceberg",
        "s3_bucket_name": bucket,
        "s3_bucket_region": region,
        "warehouse_location": warehouse,
        "main_branch_name": wanted.main_branch_name,
        "catalog_type": _catalog_type(kind, config, wanted, default_ns),
    }
    endpoint = wanted.s3_endpoint or props.get("s3.endpoint")
    if endpoint:
        result["s3_endpoint"] = endpoint
    access_key = wanted.access_key_id_ref or refs.get("s3.access-key-id")
    secret_key = wanted.secret_access_key_ref or refs.get("s3.secret-access-key")
    if access_key:
        result["access_key_id"] = secret_ref(access_key)
    if secret_key:
        result["secret_access_key"] = secret_ref(secret_key)
    return result


def _catalog_type(
    kind: str, config: CatalogConfig, wanted: DestinationSettings, namespace: str
) -> dict[str, Any]:
    refs = config.secret_refs
    server_uri = config.uri or (secret_ref(refs["uri"]) if "uri" in refs else None)
    if kind == "GLUE":
        glue_id = wanted.glue_id or config.properties.get("glue.id")
        if not glue_id:
            raise _missing("glue_id", "the Glue catalog has no glue.id property")
        glue: dict[str, Any] = {
            "catalog_type": "GLUE",
            "glue_id": glue_id,
            "database_name": namespace,
        }
        if wanted.role_arn:
            glue["role_arn"] = wanted.role_arn
        return glue
    if not server_uri:
        raise _missing("catalog uri", "a REST, Nessie or Polaris catalog needs its uri")
    if kind == "NESSIE":
        nessie: dict[str, Any] = {
            "catalog_type": "NESSIE",
            "server_uri": server_uri,
            "namespace": namespace,
        }
        token = wanted.access_token_ref or refs.get("token")
        if token:
            nessie["access_token"] = secret_ref(token)
        return nessie
    if kind == "POLARIS":
        catalog_name = wanted.catalog_name or config.warehouse
        if not catalog_name:
            raise _missing("catalog_name", "the Polaris catalog's name is not known")
        credential = refs.get("credential")
        client_id = wanted.client_id_ref or (f"{credential}#client_id" if credential else None)
        client_secret = wanted.client_secret_ref or (
            f"{credential}#client_secret" if credential else None
        )
        if not (client_id and client_secret):
            raise _missing(
                "client_id_ref and client_secret_ref",
                "Polaris needs OAuth client credentials (or a catalog secret_refs.credential)",
            )
        return {
            "catalog_type": "POLARIS",
            "server_uri": server_uri,
            "catalog_name": catalog_name,
            "client_id": secret_ref(client_id),
            "client_secret": secret_ref(client_secret),
            "namespace": namespace,
        }
    return {"catalog_type": "REST", "server_uri": server_uri, "namespace": namespace}


def compare_destination(
    expected: Mapping[str, Any],
    destination: Mapping[str, Any],
    *,
    ignore: frozenset[str] = frozenset(),
) -> list[str]:
    """Human-readable differences between ``expected`` (from :func:`destination_config`) and
    a ``DestinationResponse`` (or its bare ``configuration``). Empty when they agree.

    ``ignore`` holds dotted keys not to compare (``catalog_type.namespace``...). Masked values
    and expected secret references are never compared.
    """
    name = destination.get("name")
    actual = destination.get("configuration", destination)
    label = f"destination {name!r}" if name else "the destination"
    differences: list[str] = []
    kind = destination.get("destinationType") or actual.get("destinationType")
    if kind is not None and str(kind).lower() != DESTINATION_TYPE:
        return [
            f"{label} is of type {kind!r}, not {DESTINATION_TYPE!r} (S3 Data Lake, which "
            "writes Iceberg): floe needs an Iceberg destination"
        ]
    _compare(expected, actual, "", label, ignore | _FLOE_KEYS, differences)
    return differences


def _compare(
    expected: Mapping[str, Any],
    actual: Mapping[str, Any],
    prefix: str,
    label: str,
    ignore: frozenset[str],
    differences: list[str],
) -> None:
    for key, want in expected.items():
        path = f"{prefix}{key}"
        if path in ignore or (isinstance(want, str) and want.startswith(SECRET_REF_PREFIX)):
            continue
        if key not in actual:
            differences.append(f"{label} does not set {path} (floe expects {want!r})")
            continue
        have = actual[key]
        if is_masked(have):
            continue
        if not isinstance(want, Mapping):
            if _normal(want) != _normal(have):
                differences.append(f"{label} has {path} = {have!r}, floe expects {want!r}")
            continue
        if not isinstance(have, Mapping):
            differences.append(f"{label} has {path} = {have!r}, floe expects an object")
            continue
        want_kind, have_kind = want.get("catalog_type"), have.get("catalog_type")
        if want_kind is not None and str(want_kind).upper() != str(have_kind).upper():
            differences.append(
                f"{label} uses a {have_kind} catalog where floe's catalog is {want_kind}: "
                "Airbyte would write to another catalog than floe reads"
            )
            continue
        _compare(want, have, f"{path}.", label, ignore, differences)


def _normal(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip().rstrip("/")
    return value


def _catalog(catalog: CatalogConfig | Mapping[str, Any] | None) -> CatalogConfig:
    if catalog is None:
        return CatalogConfig.embedded()
    if isinstance(catalog, CatalogConfig):
        return catalog
    return CatalogConfig.model_validate(dict(catalog))


def _location(warehouse: str | None) -> str | None:
    if not warehouse:
        return None
    return warehouse if "://" in warehouse else None


def _bucket(location: str) -> str | None:
    parts = urlsplit(location)
    if parts.scheme in ("s3", "s3a", "s3n", "gs", "abfs", "abfss") and parts.netloc:
        return parts.netloc
    return None


def _missing(setting: str, why: str) -> ConfigurationError:
    return ConfigurationError(
        ErrorCode.DESTINATION_CONFIG_ERROR,
        f"cannot describe the Airbyte S3 Data Lake destination: {why}; set {_WHERE}."
        f"{setting.split(' ')[0]} in the platform manifest",
        source="airbyte",
        details={"setting": f"{_WHERE}.{setting}"},
    )
