"""`source: rest_api` against a real HTTP server on 127.0.0.1 (pages, 429, failures, auth)."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from floe_core.errors import ErrorCategory, ErrorCode
from floe_core.retry import RetryPolicy

from dlt_http_api import HttpApi, rest_api_args, serve
from dlt_project import Project

TOKEN = "ghp-test-token-4f9a2c1e"


def issues(count: int, *, start: int = 1, updated: int = 100) -> list[dict[str, Any]]:
    return [
        {"id": i, "title": f"issue {i}", "state": "open", "updated_at": updated + i}
        for i in range(start, start + count)
    ]


@pytest.fixture
def api() -> Iterator[HttpApi]:
    with serve(HttpApi({"issues": issues(25), "users": [{"id": 1, "login": "ada"}]})) as server:
        yield server


def config(
    project: Project,
    api: HttpApi,
    *collections: str,
    http: dict[str, Any] | None = None,
    **values: Any,
):
    options: dict[str, Any] = {
        "args": rest_api_args(api, *(collections or ("issues",))),
        "http": {"max_attempts": 1, **(http or {})},
    }
    options.update(values.pop("options", {}))
    values.setdefault("destination_table", "bronze.github_issues")
    return project.config(source="rest_api", options=options, **values)


def test_paginated_endpoint_lands_in_the_destination_table(project: Project, api: HttpApi):
    result = project.run(config(project, api))
    assert result.success, result.error
    assert result.rows_loaded == 25
    assert result.tables_created == ["bronze.github_issues"]
    assert len([r for r in api.requests if r[0] == "/issues"]) == 3  # three pages
    project.assert_table("bronze.github_issues", api.collections["issues"])


def test_several_resources_land_one_table_each_in_the_namespace(project: Project, api: HttpApi):
    result = project.run(config(project, api, "issues", "users"))
    assert result.success, result.error
    assert result.tables_created == ["bronze.issues", "bronze.users"]
    assert result.rows_by_table == {"bronze.issues": 25, "bronze.users": 1}
    project.assert_table("bronze.issues", api.collections["issues"])
    project.assert_table("bronze.users", api.collections["users"])
    assert not project.table_exists("bronze.github_issues")


def test_resource_selection_loads_only_the_selected_resource(project: Project, api: HttpApi):
    cfg = config(project, api, "issues", "users", options={"resource": "users"})
    result = project.run(cfg)
    assert result.success, result.error
    assert result.tables_created == ["bronze.github_issues"]
    project.assert_table("bronze.github_issues", api.collections["users"])
    assert all(path != "/issues" for path, _, _ in api.requests)


def test_unknown_resource_selection_is_source_not_found(project: Project, api: HttpApi):
    cfg = config(project, api, "issues", options={"resource": "pulls"})
    result = project.run_through_runner(cfg)
    assert (result.error.category, result.error.code) == (
        ErrorCategory.PERMANENT,
        ErrorCode.SOURCE_NOT_FOUND,
    )
    assert "pulls" in result.error.message
    assert "issues" in result.error.message


def test_bearer_token_comes_from_secret_refs_and_never_shows(project: Project, api: HttpApi):
    api.token = TOKEN
    project.env["GITHUB_API_TOKEN"] = TOKEN
    cfg = config(project, api, secret_refs={"token": "github-api-token"})
    result = project.run_through_runner(cfg)
    assert result.success, result.error
    assert {headers.get("authorization") for _, _, headers in api.requests} == {f"Bearer {TOKEN}"}
    assert TOKEN not in json.dumps(result.to_dict(), default=repr)
    project.assert_table("bronze.github_issues", api.collections["issues"])


def test_refused_token_is_auth_failed_and_nothing_is_written(project: Project, api: HttpApi):
    api.token = TOKEN
    project.env["GITHUB_API_TOKEN"] = "ghp-revoked-0000"
    result = project.run_through_runner(
        config(project, api, secret_refs={"token": "github-api-token"})
    )
    error = result.error
    assert (error.category, error.code, error.retryable) == (
        ErrorCategory.PERMANENT,
        ErrorCode.AUTH_FAILED,
        False,
    )
    assert error.details["http_status"] == 401
    assert "ghp-revoked-0000" not in json.dumps(result.to_dict(), default=repr)
    assert not project.table_exists("bronze.github_issues")


def test_missing_token_secret_is_secret_missing(project: Project, api: HttpApi):
    result = project.run_through_runner(config(project, api, secret_refs={"token": "gh-token"}))
    assert (result.error.category, result.error.code) == (
        ErrorCategory.CONFIGURATION,
        ErrorCode.SECRET_MISSING,
    )
    assert "gh-token" in result.error.message
    assert "GH_TOKEN" in result.error.message
    assert api.requests == []


def test_a_429_answered_once_is_waited_out_by_dlt(project: Project, api: HttpApi):
    api.fail_next(429, headers={"Retry-After": "1"})
    started = time.monotonic()
    result = project.run(config(project, api, http={"max_attempts": 3}))
    assert result.success, result.error
    assert time.monotonic() - started >= 1.0  # dlt's client honoured Retry-After
    assert result.rows_loaded == 25
    project.assert_table("bronze.github_issues", api.collections["issues"])


def test_a_persistent_429_is_rate_limited_with_its_retry_after(project: Project, api: HttpApi):
    api.fail_always(429, headers={"Retry-After": "120"})
    result = project.run_through_runner(config(project, api))
    error = result.error
    assert (error.category, error.code, error.retry_after_seconds) == (
        ErrorCategory.TRANSIENT,
        ErrorCode.RATE_LIMITED,
        120,
    )
    assert error.retryable


def test_runner_waits_the_retry_after_and_then_loads_every_row_once(project: Project, api: HttpApi):
    api.fail_next(429, headers={"Retry-After": "30"})
    sleeps: list[float] = []
    retry = RetryPolicy(max_attempts=3, initial_delay_seconds=1, max_delay_seconds=600)
    result = project.run_through_runner(config(project, api), retry=retry, sleeps=sleeps)
    assert result.success, result.error
    assert (result.attempts, sleeps) == (2, [30.0])
    project.assert_table("bronze.github_issues", api.collections["issues"])


def test_a_page_failing_midway_is_retried_without_duplicates(project: Project, api: HttpApi):
    api.fail_on_page(2, 503)
    first = project.run_through_runner(config(project, api))
    assert (first.error.category, first.error.code) == (
        ErrorCategory.TRANSIENT,
        ErrorCode.SERVICE_UNAVAILABLE,
    )
    assert first.rows_loaded == 0  # page 1 was extracted, but nothing is committed
    assert not project.table_exists("bronze.github_issues")
    api.recover()
    second = project.run_through_runner(config(project, api))
    assert second.success
    assert second.rows_loaded == 25
    project.assert_table("bronze.github_issues", api.collections["issues"])


@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_service_unavailable(project: Project, api: HttpApi, status: int):
    api.fail_always(status)
    error = project.run_through_runner(config(project, api)).error
    assert (error.category, error.code) == (ErrorCategory.TRANSIENT, ErrorCode.SERVICE_UNAVAILABLE)


def test_missing_endpoint_is_source_not_found(project: Project, api: HttpApi):
    error = project.run_through_runner(config(project, api, "pulls")).error
    assert (error.category, error.code) == (ErrorCategory.PERMANENT, ErrorCode.SOURCE_NOT_FOUND)


def test_refused_connection_is_network_error(project: Project, api: HttpApi):
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api.url = f"http://127.0.0.1:{port}"
    error = project.run_through_runner(config(project, api)).error
    assert (error.category, error.code) == (ErrorCategory.TRANSIENT, ErrorCode.NETWORK_ERROR)


def test_slow_answer_is_timeout(project: Project, api: HttpApi):
    api.delay = 1.0
    error = project.run_through_runner(config(project, api, http={"timeout": 0.2})).error
    assert (error.category, error.code) == (ErrorCategory.TRANSIENT, ErrorCode.TIMEOUT)


def test_incremental_loads_only_new_rows_even_from_a_fresh_working_folder(
    project: Project, api: HttpApi
):
    cfg = config(project, api, incremental={"cursor_column": "updated_at"})
    assert project.run(cfg).rows_loaded == 25
    api.collections["issues"].extend(issues(5, start=26, updated=200))
    second = project.run(cfg)
    assert second.rows_loaded == 5
    project.assert_table("bronze.github_issues", api.collections["issues"])
    # a new pod: no working folder at all
    shutil.rmtree(project.root / ".floe" / "state")
    api.collections["issues"].extend(issues(3, start=31, updated=300))
    third = project.run(cfg, plugin=project.fresh_plugin())
    assert third.success, third.error
    assert third.rows_loaded == 3
    project.assert_table("bronze.github_issues", api.collections["issues"])


def test_merge_updates_rows_in_place(project: Project, api: HttpApi):
    cfg = config(project, api, write_disposition="merge", primary_key="id")
    assert project.run(cfg).rows_loaded == 25
    for item in api.collections["issues"][:5]:
        item["state"] = "closed"
    api.collections["issues"].append({"id": 99, "title": "new", "state": "open", "updated_at": 1})
    result = project.run(cfg)
    assert result.success, result.error
    assert result.tables_created == []
    project.assert_table("bronze.github_issues", api.collections["issues"])
