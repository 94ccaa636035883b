"""A floe project on the production path: PostgreSQL catalog, S3 warehouse, secrets in the env.

:func:`lake_project` writes ``floe.yaml``, ``platform-manifest.yaml`` and a dotted-path dlt
source module (``<module>.records``: the rows of ``data/<dataset>.json``, so a test changes
the source between runs; the module name is unique per project, because a process imports a
module name once and several test projects share this process) into a folder, and returns a :class:`LakeProject` that runs it like a
pod would (a fresh :class:`~floe_core.project.Project` per run, or the ``floe`` CLI in a
subprocess) and reads the tables back with pyiceberg through a catalog of its own.

Credentials never appear in the files: the catalog's ``uri`` and both S3 keys are secret
references resolved from the project's environment (``LAKE_CATALOG_URI``, ``LAKE_ACCESS_KEY``,
``LAKE_SECRET_KEY``); the S3 endpoint, region and path-style addressing are manifest properties.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from floe_core.catalog import load_catalog
from floe_core.project import Project
from floe_core.result import IngestionResult
from floe_core.secrets import SecretResolver

from .s3server import S3Server

SOURCE_MODULE = '''\
"""Source of the production tests: the rows of data/<dataset>.json beside this module."""

import json
from pathlib import Path

import dlt


@dlt.resource
def records(dataset: str):
    path = Path(__file__).parent / "data" / f"{dataset}.json"
    yield json.loads(path.read_text())
'''

SECRET_REFS = {
    "uri": "lake-catalog-uri",
    "s3.access-key-id": "lake-access-key",
    "s3.secret-access-key": "lake-secret-key",
}

SOURCE_PLACEHOLDER = "LAKE_SOURCE"
"""Stands for the project's source module in :func:`pipeline` entries."""

FLOE = str(Path(sys.executable).with_name("floe"))


def records(ids: Iterable[int], *, seq: int, tag: str = "v1") -> list[dict[str, Any]]:
    """Source rows: ``id``, ``seq`` (the incremental cursor), ``name``, ``amount``."""
    return [{"id": i, "seq": seq, "name": f"{tag}-{i}", "amount": i * 1.25} for i in ids]


def pipeline(name: str, destination: str, dataset: str, **settings: Any) -> dict[str, Any]:
    """A ``floe.yaml`` pipeline entry reading ``records(dataset)`` of the project's source."""
    return {
        "name": name,
        "destination": destination,
        "dlt": {"source": f"{SOURCE_PLACEHOLDER}.records", "args": {"dataset": dataset}},
        **settings,
    }


@dataclass
class LakeProject:
    """A project folder on the production path; see the module docstring."""

    root: Path
    env: dict[str, str]
    s3: S3Server
    bucket: str
    runs: list[IngestionResult] = field(default_factory=list)

    @property
    def warehouse(self) -> str:
        return f"s3://{self.bucket}/warehouse"

    def write_rows(self, dataset: str, rows: Sequence[Mapping[str, Any]]) -> None:
        """Make ``rows`` what the source yields for ``dataset`` from now on."""
        (self.root / "data" / f"{dataset}.json").write_text(json.dumps(list(rows)))

    def project(self) -> Project:
        """A freshly loaded Project (what a new process sees), secrets from :attr:`env`."""
        return Project.load(self.root, environ=self.env)

    def run(self, name: str) -> IngestionResult:
        """Run pipeline ``name`` through a fresh Project (runner: retry, error taxonomy)."""
        [result] = self.project().run([name])
        self.runs.append(result)
        return result

    def forget_working_directory(self) -> None:
        """Delete ``.floe/state`` (dlt's working folders): the next run is a new pod."""
        shutil.rmtree(self.root / ".floe" / "state", ignore_errors=True)

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        """``floe ARGS --project ROOT`` in a subprocess with the project's environment."""
        return subprocess.run(
            [FLOE, *args, "--project", str(self.root)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.process_env(),
            check=False,
        )

    def process_env(self) -> dict[str, str]:
        """This process's environment plus the project's secrets (for subprocesses)."""
        return {**os.environ, **self.env, "RUNTIME__DLTHUB_TELEMETRY": "false"}

    def catalog(self) -> Any:
        """A new pyiceberg catalog on the project's manifest (sees only committed data)."""
        project = self.project()
        return load_catalog(
            project.catalog_config,
            project_dir=project.project_dir,
            secrets=SecretResolver(environ=self.env),
        )

    def table_rows(self, identifier: str) -> list[dict[str, Any]]:
        """The table's rows read through pyiceberg (S3 FileIO), dlt's columns dropped, by id."""
        arrow = self.catalog().load_table(identifier).scan().to_arrow()
        rows = [
            {k: v for k, v in row.items() if not k.startswith("_dlt")} for row in arrow.to_pylist()
        ]
        return sorted(rows, key=lambda row: (row["id"], row.get("seq"), row.get("name")))


def lake_project(
    root: Path,
    *,
    s3: S3Server,
    bucket: str,
    catalog_uri: str,
    pipelines: Sequence[Mapping[str, Any]],
    retry: Mapping[str, Any] | None = None,
) -> LakeProject:
    """Write a project (see the module docstring) into ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    module = f"lake_source_{uuid.uuid4().hex[:8]}"
    (root / f"{module}.py").write_text(SOURCE_MODULE)
    manifest = {
        "plugins": {
            "ingestion": {
                "type": "dlt",
                "retry": dict(
                    retry
                    or {"max_attempts": 3, "initial_delay_seconds": 0.1, "max_delay_seconds": 1}
                ),
            }
        },
        "catalog": {
            "type": "sql",
            "name": "lake",
            "warehouse": f"s3://{bucket}/warehouse",
            "properties": {
                "s3.endpoint": s3.endpoint,
                "s3.region": s3.region,
                "s3.force-virtual-addressing": "false",
            },
            "secret_refs": dict(SECRET_REFS),
        },
    }
    header = textwrap.dedent(
        """\
        # Production path: Iceberg catalog on PostgreSQL, warehouse on S3 (moto on loopback).
        # Credentials are secret references, resolved from the environment at run time.
        """
    )
    (root / "platform-manifest.yaml").write_text(header + yaml.safe_dump(manifest, sort_keys=False))
    (root / "floe.yaml").write_text(
        yaml.safe_dump({"ingestion": [dict(p) for p in pipelines]}, sort_keys=False).replace(
            SOURCE_PLACEHOLDER, module
        )
    )
    env = {
        "LAKE_CATALOG_URI": catalog_uri,
        "LAKE_ACCESS_KEY": s3.access_key_id,
        "LAKE_SECRET_KEY": s3.secret_access_key,
    }
    return LakeProject(root=root, env=env, s3=s3, bucket=bucket)
