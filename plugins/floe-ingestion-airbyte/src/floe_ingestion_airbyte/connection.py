"""An Airbyte connection as floe sees it: which Iceberg tables its streams land in.

A connection (public ``ConnectionResponse``) lists its streams in
``configurations.streams[]`` (``name``, source ``namespace``) and says where they land with
``namespaceDefinition``, ``namespaceFormat`` and ``prefix``. The destination
(``DestinationResponse``) supplies the default namespace: ``catalog_type.namespace`` (REST,
Nessie, Polaris) or ``catalog_type.database_name`` (Glue) of the S3 Data Lake destination.
Following Airbyte's rules, a stream's Iceberg table is ``<namespace>.<prefix><stream>`` with

* ``destination``: the destination's default namespace;
* ``source``: the stream's own namespace (the default when it has none);
* ``custom_format``: ``namespaceFormat`` with ``${SOURCE_NAMESPACE}`` replaced (the default
  when that leaves nothing).

:class:`AirbyteConnectionHandle` is what ``create_pipeline`` returns: plain, frozen,
serialisable (``to_dict`` / ``from_dict``), without secrets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = [
    "ICEBERG_DEFINITION_IDS",
    "ICEBERG_DESTINATION_TYPES",
    "AirbyteConnectionHandle",
    "StreamTable",
    "default_namespace",
    "is_iceberg_destination",
    "stream_tables",
]

ICEBERG_DESTINATION_TYPES = frozenset({"s3-data-lake", "iceberg"})
"""``destinationType`` values of Airbyte destinations that write Iceberg tables."""
ICEBERG_DEFINITION_IDS: Mapping[str, str] = {
    "716ca874-520b-4902-9f80-9fad66754b89": "s3-data-lake",
    "df65a8f3-9908-451b-aa9b-445462803560": "iceberg (legacy)",
}
"""Connector definition ids of the Iceberg destinations (S3 Data Lake, legacy Iceberg)."""


def is_iceberg_destination(destination: Mapping[str, Any]) -> bool:
    """Whether a ``DestinationResponse`` is an Iceberg (S3 Data Lake) destination."""
    kind = str(destination.get("destinationType") or "").lower()
    return kind in ICEBERG_DESTINATION_TYPES or (
        str(destination.get("definitionId") or "") in ICEBERG_DEFINITION_IDS
    )


def default_namespace(destination: Mapping[str, Any]) -> str | None:
    """The destination's default namespace (Glue: its default database), if set."""
    config = destination.get("configuration") or {}
    catalog = config.get("catalog_type")
    if isinstance(catalog, Mapping):
        for key in ("namespace", "database_name"):
            value = catalog.get(key)
            if isinstance(value, str) and value:
                return value
    legacy = config.get("catalog_config")  # the legacy Iceberg destination
    if isinstance(legacy, Mapping):
        value = legacy.get("database") or legacy.get("namespace")
        if isinstance(value, str) and value:
            return value
    return None


@dataclass(frozen=True)
class StreamTable:
    """One stream of a connection and the Iceberg table it lands in."""

    stream: str
    namespace: str | None
    table: str
    stream_namespace: str | None = None

    @property
    def identifier(self) -> str:
        """``namespace.table`` (just ``table`` when no namespace is known)."""
        return f"{self.namespace}.{self.table}" if self.namespace else self.table

    @property
    def namespace_parts(self) -> tuple[str, ...]:
        return tuple(self.namespace.split(".")) if self.namespace else ()


def stream_tables(
    connection: Mapping[str, Any], destination: Mapping[str, Any]
) -> tuple[StreamTable, ...]:
    """The Iceberg table of every stream of ``connection`` (rules in the module doc)."""
    default = default_namespace(destination)
    definition = connection.get("namespaceDefinition") or "destination"
    namespace_format = connection.get("namespaceFormat") or ""
    prefix = connection.get("prefix") or ""
    streams = (connection.get("configurations") or {}).get("streams") or []
    tables: list[StreamTable] = []
    for stream in streams:
        if not isinstance(stream, Mapping) or not stream.get("name"):
            continue
        name = str(stream["name"])
        source_namespace = stream.get("namespace") or None
        if definition == "source":
            namespace = source_namespace or default
        elif definition == "custom_format":
            namespace = (
                namespace_format.replace("${SOURCE_NAMESPACE}", source_namespace or "").strip()
                or default
            )
        else:
            namespace = default
        tables.append(
            StreamTable(
                stream=name,
                namespace=namespace,
                table=f"{prefix}{name}",
                stream_namespace=source_namespace,
            )
        )
    return tuple(tables)


@dataclass(frozen=True)
class AirbyteConnectionHandle:
    """The pipeline handle: which connection to sync, where its tables land, how to wait.

    ``credential_ref`` is the *reference* of the API credential to use (never its value).
    Everything here is plain data (no client, no secrets), so a handle can be logged,
    pickled, or sent to another process and run there with :meth:`from_dict`.
    """

    pipeline: str
    connection_id: str
    connection_name: str
    workspace_id: str
    destination_id: str
    destination_name: str
    destination_type: str
    api_url: str
    destination_table: str
    poll_interval_seconds: float
    timeout_seconds: float
    credential_ref: str = ""
    tables: tuple[StreamTable, ...] = field(default_factory=tuple)

    @property
    def table_identifiers(self) -> list[str]:
        return [table.identifier for table in self.tables]

    @property
    def label(self) -> str:
        """``'name' (id)``: how messages name the connection."""
        return f"{self.connection_name!r} ({self.connection_id})"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; :meth:`from_dict` reverses it."""
        data = asdict(self)
        data["tables"] = [asdict(table) for table in self.tables]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AirbyteConnectionHandle:
        values = dict(data)
        values["tables"] = tuple(StreamTable(**table) for table in values.get("tables") or [])
        return cls(**values)
