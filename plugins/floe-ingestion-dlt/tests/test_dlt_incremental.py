"""`incremental`: cursor, initial_value, end_value and lag map onto dlt's incremental."""

from __future__ import annotations

import shutil
from typing import Any

import dlt

from floe_core.config import IncrementalConfig
from floe_ingestion_dlt.incremental import build_incremental, rest_api_incremental

from dlt_project import Project


def events(*cursors: int, start_id: int = 1) -> list[dict[str, Any]]:
    return [{"id": start_id + n, "seq": seq} for n, seq in enumerate(cursors)]


def test_config_maps_onto_dlt_incremental():
    config = IncrementalConfig(cursor_column="seq", initial_value=5, end_value=50, lag=2)
    incremental = build_incremental(config)
    assert isinstance(incremental, dlt.sources.incremental)
    assert (incremental.cursor_path, incremental.initial_value, incremental.end_value) == (
        "seq",
        5,
        50,
    )
    assert (incremental.lag, incremental.range_start) == (2, "closed")


def test_rest_api_block_keeps_the_endpoint_own_parameters():
    config = IncrementalConfig(cursor_column="updated_at", initial_value="2024-01-01")
    block = rest_api_incremental(config, {"start_param": "since", "cursor_path": "old", "lag": 9})
    assert block == {
        "start_param": "since",
        "cursor_path": "updated_at",
        "initial_value": "2024-01-01",
        "range_start": "closed",
    }


def test_second_run_loads_only_rows_past_the_cursor(project: Project):
    cfg = project.config(incremental={"cursor_column": "seq"})
    first = events(*range(1, 11))
    assert project.run(cfg, source=first).rows_loaded == 10
    second = first + events(11, 12, start_id=11)  # the source returns everything again
    result = project.run(cfg, source=second)
    assert result.rows_loaded == 2
    project.assert_table("bronze.events", second)


def test_rows_at_the_high_water_mark_are_neither_lost_nor_doubled(project: Project):
    cfg = project.config(incremental={"cursor_column": "seq"})
    project.run(cfg, source=events(1, 2, 3))
    late = events(1, 2, 3) + events(3, 4, start_id=4)  # id 4 shares the last cursor value
    assert project.run(cfg, source=late).rows_loaded == 2
    project.assert_table("bronze.events", late)


def test_initial_and_end_value_bound_the_rows(project: Project):
    cfg = project.config(incremental={"cursor_column": "seq", "initial_value": 3, "end_value": 7})
    result = project.run(cfg, source=events(*range(1, 11)))
    assert result.rows_loaded == 4  # 3, 4, 5, 6: the end is open
    assert sorted(row["seq"] for row in project.rows("bronze.events")) == [3, 4, 5, 6]


def test_lag_picks_up_late_rows_with_merge(project: Project):
    cfg = project.config(
        write_disposition="merge",
        primary_key="id",
        incremental={"cursor_column": "seq", "lag": 3},
    )
    first = events(*range(1, 11))
    project.run(cfg, source=first)
    late = [{"id": 11, "seq": 8}, {"id": 12, "seq": 12}]  # id 11 arrived late, behind the mark
    result = project.run(cfg, source=first + late)
    assert result.success, result.error
    project.assert_table("bronze.events", first + late)


def test_without_lag_late_rows_stay_behind(project: Project):
    cfg = project.config(incremental={"cursor_column": "seq"})
    first = events(*range(1, 11))
    project.run(cfg, source=first)
    project.run(cfg, source=[*first, {"id": 11, "seq": 8}])
    assert 11 not in {row["id"] for row in project.rows("bronze.events")}


def test_a_fresh_working_folder_resumes_from_the_catalog(project: Project):
    cfg = project.config(incremental={"cursor_column": "seq"})
    project.run(cfg, source=events(1, 2, 3))
    shutil.rmtree(project.root / ".floe" / "state")
    everything = events(1, 2, 3) + events(4, 5, start_id=4)
    result = project.run(cfg, source=everything, plugin=project.fresh_plugin())
    assert result.rows_loaded == 2
    project.assert_table("bronze.events", everything)
