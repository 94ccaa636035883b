"""The dlt job client of the floe Iceberg destination.

How dlt's loader drives it, for one load package:

1. ``verify_schema`` (once per package, before any job): refuses a load whose column types the
   existing Iceberg tables cannot take (``SCHEMA_MISMATCH``), and records in the package's
   destination state which tables every resource writes in this load (``floe.state-tables``);
   ``initialize_storage`` creates the namespace. Nothing is truncated up front: replace is an
   atomic overwrite at commit time.
2. Each parquet file becomes a job with nothing to do (the file stays in the package).
3. When all files of a table chain are complete, ``create_table_chain_completed_followup_jobs``
   returns one chain job listing them; dlt runs it in a worker thread
   (:class:`ChainCommitJob`), which commits each table of the chain once (:mod:`.chain`).
4. ``complete_load`` has nothing left to do: the data, the load id and the dlt state are
   already in the snapshots.

dlt's own ``_dlt_pipeline_state``, ``_dlt_loads`` and ``_dlt_version`` tables are not written:
the state rides in the snapshot summaries instead (:mod:`.state`).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType

from dlt.common.destination import DestinationCapabilitiesContext
from dlt.common.destination.client import (
    FollowupJobRequest,
    HasFollowupJobs,
    JobClientBase,
    LoadJob,
    RunnableLoadJob,
)
from dlt.common.destination.typing import PreparedTableSchema
from dlt.common.schema import Schema
from dlt.common.schema.utils import get_nested_tables, get_root_table, has_table_seen_data
from dlt.common.storages.exceptions import CurrentLoadPackageStateNotAvailable
from dlt.common.storages.load_package import (
    LoadJobInfo,
    ParsedLoadJobFileName,
    commit_load_package_state,
    destination_state,
    load_package_state,
)
from dlt.destinations.job_impl import FinalizedLoadJob, ReferenceFollowupJobRequest
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError
from pyiceberg.expressions import AlwaysTrue

from floe_ingestion_dlt.destination import summary
from floe_ingestion_dlt.destination.chain import ChainPlan, commit_chain, make_request, table_name
from floe_ingestion_dlt.destination.committer import CommitContext
from floe_ingestion_dlt.destination.configuration import FloeIcebergClientConfiguration
from floe_ingestion_dlt.destination.evolution import check_dlt_columns
from floe_ingestion_dlt.destination.failures import WarehouseAccessDenied
from floe_ingestion_dlt.destination.killpoints import checkpoint
from floe_ingestion_dlt.destination.naming import TableNaming
from floe_ingestion_dlt.destination.state import state_summary

__all__ = ["Binding", "ChainCommitJob", "FileJob", "FloeIcebergClient"]

_STATE_TABLES_KEY = "floe_state_tables"


@dataclass(frozen=True)
class Binding:
    """The live objects behind a destination: catalog, naming, pipeline, retry settings."""

    catalog: Catalog
    naming: TableNaming
    pipeline_name: str
    commit_attempts: int = 4
    sleep: Callable[[float], None] = field(default=time.sleep)


class FileJob(RunnableLoadJob, HasFollowupJobs):
    """A parquet file of the package: nothing to do until its table chain is complete.

    It is runnable (rather than finalised at creation) so that finishing it wakes dlt's load
    loop at once instead of after the loop's one-second poll.
    """

    def run(self) -> None:
        return None


class ChainCommitJob(RunnableLoadJob):
    """Commits one table chain (see :mod:`.chain`)."""

    def run(self) -> None:
        client = self._job_client
        assert isinstance(client, FloeIcebergClient)
        try:
            client.run_chain(self._file_path, self._load_id)
        except PermissionError as exc:
            raise WarehouseAccessDenied(
                f"the warehouse refused access while committing: {type(exc).__name__}: {exc}; "
                "check the storage credentials (catalog secret_refs) and the bucket's policy"
            ) from exc


class FloeIcebergClient(JobClientBase):
    """Job client writing dlt load packages to Iceberg through a pyiceberg catalog."""

    def __init__(
        self,
        schema: Schema,
        config: FloeIcebergClientConfiguration,
        capabilities: DestinationCapabilitiesContext,
        binding: Binding,
    ) -> None:
        super().__init__(schema, config, capabilities)
        self.config: FloeIcebergClientConfiguration = config
        self.binding = binding

    # storage

    def initialize_storage(self, truncate_tables: Iterable[str] | None = None) -> None:
        if truncate_tables is None:
            self.binding.catalog.create_namespace_if_not_exists(self.binding.naming.namespace)
            checkpoint("after_extract")
            return
        for name in truncate_tables:
            self._truncate(name)

    def is_storage_initialized(self) -> bool:
        try:
            self.binding.catalog.load_namespace_properties(self.binding.naming.namespace)
        except NoSuchNamespaceError:
            return False
        return True

    def drop_storage(self) -> None:
        self.drop_tables(*self.schema.data_table_names(seen_data_only=False))

    def drop_tables(self, *tables: str, delete_schema: bool = True) -> None:
        """Drop the Iceberg tables of the given dlt tables (dlt's ``refresh`` drop modes)."""
        for name in tables:
            with contextlib.suppress(NoSuchTableError):
                self.binding.catalog.drop_table(self.binding.naming.identifier(name))

    def _truncate(self, dlt_table: str) -> None:
        try:
            table = self.binding.catalog.load_table(self.binding.naming.identifier(dlt_table))
        except NoSuchTableError:
            return
        if table.current_snapshot() is not None:
            table.delete(
                AlwaysTrue(),
                snapshot_properties={
                    summary.PIPELINE: self.binding.pipeline_name,
                    summary.DLT_TABLE: dlt_table,
                    summary.DISPOSITION: "truncate",
                },
            )

    def should_truncate_table_before_load(self, table_name: str) -> bool:
        return False

    # schema

    def verify_schema(
        self,
        only_tables: Iterable[str] | None = None,
        new_jobs: Iterable[ParsedLoadJobFileName] | None = None,
    ) -> list[PreparedTableSchema]:
        new_jobs = list(new_jobs or [])
        prepared = super().verify_schema(only_tables, new_jobs)  # type: ignore[arg-type]
        dlt_tables = set(self.schema.dlt_table_names())
        with_jobs = {j.table_name for j in new_jobs if j.table_name not in dlt_tables}
        for table in prepared:
            if table_name(table) in with_jobs:
                self._check_types(table)
        self._record_state_tables(with_jobs)
        return prepared

    def _check_types(self, table: PreparedTableSchema) -> None:
        identifier = self.binding.naming.identifier(table_name(table))
        try:
            iceberg = self.binding.catalog.load_table(identifier)
        except NoSuchTableError:
            return
        check_dlt_columns(".".join(identifier), iceberg.schema(), table["columns"].values())

    def _table_exists(self, dlt_table: str) -> bool:
        try:
            self.binding.catalog.load_table(self.binding.naming.identifier(dlt_table))
        except NoSuchTableError:
            return False
        return True

    def _record_state_tables(self, with_jobs: set[str]) -> None:
        groups: dict[str, set[str]] = {}
        for name in with_jobs:
            root = get_root_table(self.schema.tables, name)
            keep_jobless = root.get("write_disposition") in ("replace", "merge")
            members = groups.setdefault(root.get("resource") or table_name(root), set())
            for table in get_nested_tables(self.schema.tables, table_name(root)):
                nested = table_name(table)
                if not has_table_seen_data(table):
                    continue
                if nested in with_jobs or (keep_jobless and self._table_exists(nested)):
                    members.add(self.binding.naming.name(nested))
        try:
            destination_state()[_STATE_TABLES_KEY] = {k: sorted(v) for k, v in groups.items()}
            commit_load_package_state()
        except CurrentLoadPackageStateNotAvailable:
            pass

    # jobs

    def create_load_job(
        self, table: PreparedTableSchema, file_path: str, load_id: str, restore: bool = False
    ) -> LoadJob:
        if table["name"] in self.schema.dlt_table_names():
            return FinalizedLoadJob(file_path)
        if ReferenceFollowupJobRequest.is_reference_job(file_path):
            return ChainCommitJob(file_path)
        return FileJob(file_path)

    def create_table_chain_completed_followup_jobs(
        self,
        table_chain: Sequence[PreparedTableSchema],
        completed_table_chain_jobs: Sequence[LoadJobInfo] | None = None,
    ) -> list[FollowupJobRequest]:
        files: dict[str, list[str]] = {}
        for job in completed_table_chain_jobs or ():
            if job.job_file_info.file_format == "parquet":
                files.setdefault(job.job_file_info.table_name, []).append(job.file_path)
        if not files:
            return []
        return [make_request(table_chain, files)]

    def run_chain(self, plan_path: str, load_id: str) -> None:
        """Commit the chain listed in the job file ``plan_path`` (runs in a loader thread)."""
        plan = ChainPlan.read(plan_path)
        tables = [self.prepare_load_table(name) for name, _ in plan.tables]
        root = get_root_table(self.schema.tables, table_name(tables[0]))
        resource = root.get("resource") or table_name(root)
        extra: dict[str, str] = {}
        try:
            package = load_package_state()["state"]
            extra.update(state_summary(package, self.schema.name, [resource]))
            group = (package.get("destination_state") or {}).get(_STATE_TABLES_KEY, {})
        except CurrentLoadPackageStateNotAvailable:
            group = {}
        members = group.get(resource) or sorted(
            self.binding.naming.name(name) for name, _ in plan.tables
        )
        extra[summary.STATE_TABLES] = summary.encode_json(members)
        context = CommitContext(
            load_id=load_id,
            pipeline=self.binding.pipeline_name,
            extra_summary=extra,
            attempts=self.binding.commit_attempts,
            sleep=self.binding.sleep,
        )
        commit_chain(self.binding.catalog, tables, plan, self.binding.naming, context)

    def complete_load(self, load_id: str) -> None:
        checkpoint("before_complete")

    def __enter__(self) -> FloeIcebergClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        pass
