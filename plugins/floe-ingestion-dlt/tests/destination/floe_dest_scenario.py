"""A shop pipeline for the destination's exactly-once tests, runnable as a killable process.

Three resources, each a write disposition the guarantee covers:

* ``orders``: incremental append on the cursor ``id`` (each round adds ids);
* ``customers``: merge on ``id`` with a nested list ``addresses`` (dlt makes the child table
  ``customers__addresses``), rows of one load repeated with an older ``updated`` value so the
  load must deduplicate (``dedup_sort`` on ``updated``);
* ``logs``: plain append without cursor (re-extracted by definition in a fresh directory).

Round ``r`` of the source is deterministic: :func:`expected` gives what the tables must hold
after rounds ``0..r`` were each loaded exactly once.

Run as ``python floe_dest_scenario.py <json settings>`` it loads one round the way the dlt
plugin does (``restore_state``, then ``pipeline.run``); a test sets ``FLOE_TEST_KILL_AT`` (see
``floe_ingestion_dlt.destination.killpoints``) or ``FLOE_TEST_KILL_IN_SOURCE=<resource>:<n>``
(SIGKILL after the resource yielded ``n`` rows) to kill it.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
from pyiceberg.catalog import Catalog

from floe_core.catalog import CatalogConfig, load_catalog
from floe_ingestion_dlt.destination import iceberg_destination, restore_state

NAMESPACE = "shop"
PIPELINE = "shop_pipeline"
ORDERS_PER_ROUND = 40
CUSTOMERS = 12
LOGS_PER_ROUND = 5
KILL_IN_SOURCE_ENV = "FLOE_TEST_KILL_IN_SOURCE"


@dataclass(frozen=True)
class Settings:
    """Where a scenario process writes (JSON-serialisable, passed on the command line)."""

    project_dir: str
    pipelines_dir: str
    catalog_uri: str | None = None
    warehouse: str | None = None
    round: int = 0
    resources: tuple[str, ...] = ("orders", "customers", "logs")

    def dumps(self) -> str:
        return json.dumps({**self.__dict__, "resources": list(self.resources)})

    @classmethod
    def loads(cls, text: str) -> Settings:
        data = json.loads(text)
        data["resources"] = tuple(data["resources"])
        return cls(**data)

    def catalog(self) -> Catalog:
        config = None
        if self.catalog_uri is not None:
            config = CatalogConfig(
                type="sql", name="floe_test", uri=self.catalog_uri, warehouse=self.warehouse
            )
        return load_catalog(config, project_dir=self.project_dir)


def _maybe_kill(resource: str, produced: int) -> None:
    spec = os.environ.get(KILL_IN_SOURCE_ENV, "")
    if spec and spec == f"{resource}:{produced}":
        os.kill(os.getpid(), signal.SIGKILL)


def order_rows(round_: int) -> list[dict[str, Any]]:
    """Every order that exists at ``round_`` (ids grow by ORDERS_PER_ROUND per round)."""
    return [
        {"id": i, "amount": round(i * 1.25, 2), "status": "new" if i % 3 else "paid"}
        for i in range((round_ + 1) * ORDERS_PER_ROUND)
    ]


def customer_rows(round_: int) -> list[dict[str, Any]]:
    """The customers as the source holds them at ``round_`` (the latest version of each)."""
    count = CUSTOMERS + round_ * 3
    return [
        {
            "id": c,
            "name": f"customer-{c}-r{round_}",
            "updated": round_ * 100 + c,
            "addresses": [
                {"city": f"city-{c}-{k}-r{round_}", "zip": 1000 + c * 10 + k}
                for k in range((c + round_) % 3)
            ],
        }
        for c in range(count)
    ]


def log_rows(round_: int) -> list[dict[str, Any]]:
    """The log lines round ``round_`` produces (new ones each round)."""
    return [{"line": f"round {round_} line {i}", "round": round_} for i in range(LOGS_PER_ROUND)]


def shop_source(round_: int, resources: Sequence[str] = ("orders", "customers", "logs")) -> Any:
    """The dlt source of round ``round_`` restricted to ``resources``."""

    @dlt.resource(write_disposition="append", primary_key="id")
    def orders(
        cursor: Any = dlt.sources.incremental("id", initial_value=-1),  # noqa: B008
    ) -> Iterator[dict[str, Any]]:
        for produced, row in enumerate(order_rows(round_), start=1):
            yield row
            _maybe_kill("orders", produced)

    @dlt.resource(
        write_disposition="merge",
        primary_key="id",
        columns={"updated": {"dedup_sort": "desc"}},
    )
    def customers() -> Iterator[dict[str, Any]]:
        produced = 0
        for row in customer_rows(round_):
            stale = {**row, "name": row["name"] + "-stale", "updated": row["updated"] - 50}
            for item in (stale, row) if row["id"] % 2 else (row, stale):
                produced += 1
                yield item
                _maybe_kill("customers", produced)

    @dlt.resource(write_disposition="append")
    def logs() -> Iterator[dict[str, Any]]:
        for produced, row in enumerate(log_rows(round_), start=1):
            yield row
            _maybe_kill("logs", produced)

    @dlt.source(name="shop")
    def shop() -> list[Any]:
        available = {"orders": orders, "customers": customers, "logs": logs}
        return [available[name] for name in resources]

    return shop()


def make_pipeline(settings: Settings, catalog: Catalog) -> dlt.Pipeline:
    """The scenario's pipeline in ``settings.pipelines_dir`` (same name every time)."""
    destination = iceberg_destination(
        catalog, namespace=NAMESPACE, pipeline_name=PIPELINE, sleep=lambda _: None
    )
    return dlt.pipeline(
        pipeline_name=PIPELINE,
        destination=destination,
        pipelines_dir=settings.pipelines_dir,
        dataset_name=NAMESPACE,
    )


def run_round(settings: Settings) -> Any:
    """Load round ``settings.round`` as the plugin does; return dlt's load info."""
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    catalog = settings.catalog()
    pipeline = make_pipeline(settings, catalog)
    restore_state(pipeline, catalog, namespace=NAMESPACE)
    if pipeline.has_pending_data:
        pipeline.run()
    return pipeline.run(shop_source(settings.round, settings.resources))


def expected(
    round_: int, resources: Sequence[str], log_rounds: Sequence[int] | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """Sorted rows each table must hold after rounds 0..round_ loaded exactly once.

    ``log_rounds`` are the rounds whose log lines were extracted (a plain append source that
    was killed while extracting never yields that round's lines again); default: all.
    """
    tables: dict[str, list[tuple[Any, ...]]] = {}
    if "orders" in resources:
        tables["orders"] = sorted((o["id"], o["amount"], o["status"]) for o in order_rows(round_))
    if "customers" in resources:
        customers = customer_rows(round_)
        tables["customers"] = sorted((c["id"], c["name"], c["updated"]) for c in customers)
        tables["customers__addresses"] = sorted(
            (c["id"], a["city"], a["zip"]) for c in customers for a in c["addresses"]
        )
    if "logs" in resources:
        tables["logs"] = sorted(
            (log["line"], log["round"])
            for r in (range(round_ + 1) if log_rounds is None else log_rounds)
            for log in log_rows(r)
        )
    return tables


def actual(catalog: Catalog, tables: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    """The same shape as :func:`expected`, read back from Iceberg with pyiceberg."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    ns = NAMESPACE
    if "orders" in tables:
        rows = catalog.load_table(f"{ns}.orders").scan().to_arrow().to_pylist()
        found["orders"] = sorted((r["id"], r["amount"], r["status"]) for r in rows)
    if "customers" in tables:
        roots = catalog.load_table(f"{ns}.customers").scan().to_arrow().to_pylist()
        found["customers"] = sorted((r["id"], r["name"], r["updated"]) for r in roots)
        by_row_id = {r["_dlt_id"]: r["id"] for r in roots}
        children = catalog.load_table(f"{ns}.customers__addresses").scan().to_arrow().to_pylist()
        found["customers__addresses"] = sorted(
            (by_row_id.get(a["_dlt_root_id"], "orphan"), a["city"], a["zip"]) for a in children
        )
    if "logs" in tables:
        rows = catalog.load_table(f"{ns}.logs").scan().to_arrow().to_pylist()
        found["logs"] = sorted((r["line"], r["round"]) for r in rows)
    return found


if __name__ == "__main__":
    run_round(Settings.loads(sys.argv[1]))
    Path(Settings.loads(sys.argv[1]).pipelines_dir, "done").touch()
