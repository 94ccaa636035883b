"""Source faults: a real HTTP API on 127.0.0.1 misbehaves under dlt's ``rest_api`` source.

429 storms with ``Retry-After``, 5xx bursts, connection resets, answers slower than the
timeout, a source that dies after some pages, and a load that dies after its first table. Runs
go through the project's runner (the manifest's retry policy, with short delays) and the real
dlt plugin into the embedded Iceberg catalog; the table is then compared with the API's items
row by row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from observability.support import Answer, ScriptedApi, serve_api, write_project

from faults.floe_runs import catalog_of, run_pipeline
from faults.support import FaultRecord, compare_rows, table_rows

GROUP = "source"
RETRY = (
    "{max_attempts: 6, initial_delay_seconds: 0.05, max_delay_seconds: 2, backoff_multiplier: 2}"
)


def items(first: int, last: int) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"item {i}", "size": i * 3} for i in range(first, last + 1)]


@pytest.fixture
def api() -> Iterator[ScriptedApi]:
    with serve_api(ScriptedApi({"items": items(1, 45)}, page_size=10)) as served:
        yield served


def rest_project(
    root: Path,
    api: ScriptedApi,
    *,
    http: str = "{max_attempts: 1, timeout: 5}",
    extra: str = "",
    retry: str = RETRY,
) -> Path:
    """A project with pipeline ``items``: the API's items appended to ``bronze.items``."""
    return write_project(
        root,
        f"""
        ingestion:
          - name: items
            destination: bronze.items
            {extra}
            dlt:
              source: rest_api
              http: {http}
              args:
                client:
                  base_url: "{api.url}"
                  paginator: {{type: json_link, next_url_path: next}}
                resources:
                  - name: items
                    endpoint: {{path: items, data_selector: data}}
        """,
        f"""
        plugins:
          ingestion:
            retry: {retry}
        """,
    )


def check_table(record: FaultRecord, project: Path, api: ScriptedApi, survived: bool) -> None:
    """Record the table's difference from the API's items, then assert it is exact."""
    diff = compare_rows(
        api.collections["items"], table_rows(catalog_of(project), "bronze.items"), lambda r: r["id"]
    )
    record.survived = survived and diff.exact
    record.rows_lost, record.rows_duplicated = diff.lost, diff.duplicated
    assert survived
    assert diff.exact, diff.examples


Fault = Callable[[str, str], FaultRecord]


def test_429_storm_with_retry_after_is_waited_out(
    tmp_path: Path, api: ScriptedApi, fault: Fault
) -> None:
    record = fault(GROUP, "429 storm with Retry-After: 1 (4 in a row, mid-pagination)")
    project = rest_project(tmp_path, api)
    api.fail(Answer.rate_limited("1"), times=4, skip=2)  # pages 1 and 2 pass, then 429 x4
    outcome = run_pipeline(project, "items")
    record.note = f"{outcome.result.attempts} attempts, waits {outcome.sleeps}"
    check_table(record, project, api, outcome.result.success)
    assert outcome.sleeps == [1.0] * 4  # Retry-After beats the 0.05 s backoff
    assert outcome.errors == {("TRANSIENT", "RATE_LIMITED"): 4}
    assert outcome.result.rows_loaded == 45


def test_5xx_burst_is_retried_by_dlt_and_then_by_the_runner(
    tmp_path: Path, api: ScriptedApi, fault: Fault
) -> None:
    record = fault(GROUP, "5xx burst (500, 502, 503, 504 on page 2)")
    http = "{max_attempts: 2, backoff_factor: 0.05, max_retry_delay: 0.2, timeout: 5}"
    project = rest_project(tmp_path, api, http=http)
    for status in (500, 502, 503, 504):
        api.fail(Answer.server_error(status), times=1, page=2)
    outcome = run_pipeline(project, "items")
    record.note = f"{outcome.result.attempts} attempts"
    check_table(record, project, api, outcome.result.success)
    assert {"500", "502", "503", "504"} <= set(api.outcomes("items"))
    assert outcome.codes <= {"SERVICE_UNAVAILABLE"} and outcome.result.attempts >= 2


def test_connection_resets_are_retried(tmp_path: Path, api: ScriptedApi, fault: Fault) -> None:
    record = fault(GROUP, "connection reset by peer (3 times on page 3)")
    project = rest_project(tmp_path, api)
    api.fail(Answer.connection_reset(), times=3, page=3)
    outcome = run_pipeline(project, "items")
    record.note = f"{outcome.result.attempts} attempts"
    check_table(record, project, api, outcome.result.success)
    assert outcome.errors == {("TRANSIENT", "NETWORK_ERROR"): 3}


def test_answers_slower_than_the_timeout_are_retried(
    tmp_path: Path, api: ScriptedApi, fault: Fault
) -> None:
    record = fault(GROUP, "answers slower than the 0.5 s timeout (2 times on page 2)")
    project = rest_project(tmp_path, api, http="{max_attempts: 1, timeout: 0.5}")
    api.fail(Answer.slow(1.5), times=2, page=2)
    outcome = run_pipeline(project, "items")
    record.note = f"{outcome.result.attempts} attempts"
    check_table(record, project, api, outcome.result.success)
    assert outcome.errors == {("TRANSIENT", "TIMEOUT"): 2}


def test_a_source_dying_after_some_rows_commits_nothing_and_moves_no_cursor(
    tmp_path: Path, api: ScriptedApi, fault: Fault
) -> None:
    record = fault(GROUP, "source dies for good after 30 new rows (incremental), then recovers")
    extra = "incremental: {cursor_column: id}"
    retry = "{max_attempts: 3, initial_delay_seconds: 0.05, max_delay_seconds: 0.2}"
    project = rest_project(tmp_path, api, extra=extra, retry=retry)
    first = run_pipeline(project, "items")
    assert first.result.success and first.result.rows_loaded == 45

    api.collections["items"].extend(items(46, 90))  # 45 new items: pages 5 to 9
    api.fail(Answer.connection_reset(), times=None, page=7)  # dies after 30 new rows
    failed = run_pipeline(project, "items")
    committed_while_failing = failed.result.rows_loaded
    api.recover()
    rerun = run_pipeline(project, "items")
    record.note = (
        f"failing run: {failed.result.error.code if failed.result.error else None}, "
        f"{committed_while_failing} rows committed; rerun loaded {rerun.result.rows_loaded}"
    )
    check_table(record, project, api, rerun.result.success and not failed.result.success)
    assert failed.result.error is not None
    assert (failed.result.error.category.value, failed.result.error.code.value) == (
        "TRANSIENT",
        "NETWORK_ERROR",
    )
    assert committed_while_failing == 0  # extraction is all or nothing
    assert rerun.result.rows_loaded == 45  # exactly the new rows: the cursor had not moved


SHOP = '''
import dlt


@dlt.source
def shop(orders: int, refunds: int):
    """orders then refunds, loaded in one package."""
    return [
        dlt.resource([{"id": i, "total": i * 2} for i in range(1, orders + 1)], name="orders"),
        dlt.resource([{"id": i, "amount": i} for i in range(1, refunds + 1)], name="refunds"),
    ]
'''


def test_a_load_dying_after_its_first_table_is_partial_and_completed_once(
    tmp_path: Path, fault: Fault, monkeypatch: pytest.MonkeyPatch
) -> None:
    record = fault(GROUP, "load dies after its first table (PARTIAL), rerun completes it")
    monkeypatch.setenv("LOAD__RAISE_ON_MAX_RETRIES", "1")  # dlt would retry the job 5 times
    project = write_project(
        tmp_path / "shop",
        """
        ingestion:
          - name: shop
            destination: sales.shop
            write_disposition: append
            incremental: {cursor_column: id}
            dlt: {source: shop_source.shop, args: {orders: 6, refunds: 3}}
        """,
        None,
        {"shop_source": SHOP},
    )
    import pyarrow as pa

    catalog = catalog_of(project)
    catalog.create_namespace("sales")
    refunds = catalog.create_table("sales.refunds", pa.schema([("id", pa.int64())]))
    blocked = Path(refunds.location().removeprefix("file://")) / "data"
    blocked.parent.mkdir(parents=True, exist_ok=True)
    blocked.write_text("a file where the data folder goes: writes fail")

    partial = run_pipeline(project, "shop")
    blocked.unlink()  # the operator fixes the table
    rerun = run_pipeline(project, "shop")
    error = partial.result.error
    record.note = (
        f"first run {error.category.value}/{error.code.value} with "
        f"{partial.result.rows_loaded} rows committed, {error.failed_records} failed"
        if error
        else "first run did not fail"
    )
    catalog = catalog_of(project)
    orders = compare_rows(
        [{"id": i, "total": i * 2} for i in range(1, 7)],
        table_rows(catalog, "sales.orders"),
        lambda r: r["id"],
    )
    refunds_diff = compare_rows(
        [{"id": i, "amount": i} for i in range(1, 4)],
        table_rows(catalog, "sales.refunds"),
        lambda r: r["id"],
    )
    record.rows_lost = orders.lost + refunds_diff.lost
    record.rows_duplicated = orders.duplicated + refunds_diff.duplicated
    record.survived = rerun.result.success and orders.exact and refunds_diff.exact
    assert error is not None
    assert (error.category.value, error.code.value, error.failed_records) == (
        "PARTIAL",
        "PARTIAL_LOAD",
        3,
    )
    assert partial.result.rows_loaded == 6
    assert rerun.result.success, rerun.result.error
    assert orders.exact and refunds_diff.exact, (orders.examples, refunds_diff.examples)


DYING = '''
from floe_core.errors import ErrorCode, PartialError


def rows(n: int, die_after: int = 0):
    """n rows; with die_after, the source gives up after that many, saying how many it lost."""
    for i in range(1, n + 1):
        if die_after and i > die_after:
            raise PartialError(
                ErrorCode.PARTIAL_LOAD,
                f"upstream export truncated after {die_after} rows",
                source="exporter",
                failed_records=n - die_after,
            )
        yield {"id": i, "name": f"row {i}"}
'''


def test_a_source_reporting_partial_after_n_rows_commits_nothing_then_loads_once(
    tmp_path: Path, fault: Fault
) -> None:
    record = fault(GROUP, "source raises PartialError after 30 of 40 rows, then recovers")
    floe_yaml = """
        ingestion:
          - name: export
            destination: bronze.export
            write_disposition: append
            incremental: {{cursor_column: id}}
            dlt: {{source: dying_source.rows, args: {{n: 40, die_after: {die_after}}}}}
        """
    project = write_project(
        tmp_path / "export", floe_yaml.format(die_after=30), None, {"dying_source": DYING}
    )
    partial = run_pipeline(project, "export")
    committed = table_rows(catalog_of(project), "bronze.export")
    write_project(project, floe_yaml.format(die_after=0))  # the exporter is fixed
    rerun = run_pipeline(project, "export")
    diff = compare_rows(
        [{"id": i, "name": f"row {i}"} for i in range(1, 41)],
        table_rows(catalog_of(project), "bronze.export"),
        lambda r: r["id"],
    )
    error = partial.result.error
    record.rows_lost, record.rows_duplicated = diff.lost, diff.duplicated
    record.survived = rerun.result.success and diff.exact and not committed
    record.note = (
        f"{error.category.value}/{error.code.value}, {error.failed_records} failed, "
        f"{len(committed)} rows committed; rerun loaded {rerun.result.rows_loaded}"
        if error
        else "the source's failure went unnoticed"
    )
    assert error is not None and error.failed_records == 10
    assert (error.category.value, error.source) == ("PARTIAL", "exporter")  # the source's word
    assert partial.result.attempts == 1  # PARTIAL is not retried by default
    assert committed == [] and partial.result.rows_loaded == 0  # extraction is all or nothing
    assert rerun.result.success and rerun.result.rows_loaded == 40
    assert diff.exact, diff.examples
