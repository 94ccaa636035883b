"""The dlt destination factory: :func:`iceberg_destination`.

The capabilities make dlt's normaliser write parquet (microsecond timestamps, UTC), keep
dlt's default normalisation of nested data into child tables, and accept the ``append``,
``replace`` (executed as one atomic overwrite) and ``merge`` (``delete-insert``) write
dispositions. Loading parallelism is dlt's: different table chains commit in parallel threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from dlt.common.destination import Destination, DestinationCapabilitiesContext
from dlt.common.schema import Schema
from pyiceberg.catalog import Catalog

from floe_ingestion_dlt.destination.client import Binding, FloeIcebergClient
from floe_ingestion_dlt.destination.configuration import FloeIcebergClientConfiguration
from floe_ingestion_dlt.destination.naming import TableNaming, parse_namespace

__all__ = ["RECOMMENDED_FILE_SIZE", "floe_iceberg", "iceberg_destination"]

RECOMMENDED_FILE_SIZE = 128 * 1024 * 1024
"""Size at which dlt starts a new parquet file (bytes): the size of the tables' data files."""


class floe_iceberg(Destination[FloeIcebergClientConfiguration, FloeIcebergClient]):
    """dlt destination factory bound to a live pyiceberg catalog (:func:`iceberg_destination`)."""

    spec = FloeIcebergClientConfiguration

    def __init__(
        self,
        binding: Binding | None = None,
        destination_name: str | None = None,
        environment: str | None = None,
        **kwargs: Any,
    ) -> None:
        if binding is None:
            raise TypeError("floe_iceberg needs a Binding; build it with iceberg_destination()")
        self.binding = binding
        super().__init__(
            destination_name=destination_name,
            environment=environment,
            catalog_name=binding.catalog.name,
            namespace=".".join(binding.naming.namespace),
            **kwargs,
        )

    @property
    def client_class(self) -> type[FloeIcebergClient]:
        return FloeIcebergClient

    def _raw_capabilities(self) -> DestinationCapabilitiesContext:
        caps = DestinationCapabilitiesContext.generic_capabilities(
            preferred_loader_file_format="parquet",
            supported_merge_strategies=["delete-insert"],
        )
        caps.supported_loader_file_formats = ["parquet", "reference"]
        caps.supported_replace_strategies = ["truncate-and-insert"]
        caps.supported_table_formats = ["iceberg"]
        # dlt rotates its parquet files at this size: they become the table's data files, and
        # bounded files keep a merge's copy-on-write rewrite to the files a key lands in
        caps.recommended_file_size = RECOMMENDED_FILE_SIZE
        caps.timestamp_precision = 6
        caps.max_timestamp_precision = 6
        caps.decimal_precision = (38, 9)
        caps.wei_precision = (38, 0)
        caps.supports_nested_types = False
        caps.supports_transactions = False
        caps.supports_ddl_transactions = False
        caps.supports_truncate_command = False
        caps.max_identifier_length = 255
        caps.max_column_identifier_length = 255
        caps.has_case_sensitive_identifiers = True
        caps.enforces_nulls_on_alter = False
        caps.sqlglot_dialect = None
        return caps

    def client(
        self, schema: Schema, initial_config: FloeIcebergClientConfiguration | None = None
    ) -> FloeIcebergClient:
        config = self.configuration(initial_config or self.spec())
        return FloeIcebergClient(
            schema, config, self.capabilities(config, schema.naming), self.binding
        )


def iceberg_destination(
    catalog: Catalog,
    *,
    namespace: tuple[str, ...] | str,
    pipeline_name: str,
    table_names: Mapping[str, str] | None = None,
    destination_name: str = "floe_iceberg",
    commit_attempts: int = 4,
    sleep: Callable[[float], None] = time.sleep,
) -> floe_iceberg:
    """A dlt destination writing every table of ``pipeline_name`` into ``catalog``.

    Use it as ``dlt.pipeline(pipeline_name, destination=iceberg_destination(...))``. Each dlt
    table (a resource, or a child table dlt made from nested data) lands in
    ``<namespace>.<table_names.get(dlt_table, dlt_table)>``; the namespace is created on first
    use and table locations are left to the catalog. ``commit_attempts`` and ``sleep`` set the
    commit-conflict retries (each attempt re-reads the table).
    """
    if commit_attempts < 1:
        raise ValueError("commit_attempts must be >= 1")
    binding = Binding(
        catalog=catalog,
        naming=TableNaming(parse_namespace(namespace), dict(table_names or {})),
        pipeline_name=pipeline_name,
        commit_attempts=commit_attempts,
        sleep=sleep,
    )
    return floe_iceberg(binding=binding, destination_name=destination_name)
