"""Mock sources (floe_core.testing.sources): public API for users' tests and the kit."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
import requests

from floe_core.errors import ErrorCategory, ErrorCode, PermanentError, TransientError
from floe_core.testing import (
    AuthFailureSource,
    FailingAfterSource,
    MockSource,
    RateLimitedSource,
    http_error,
    sample_rows,
)


def drain(source: MockSource) -> tuple[list[object], BaseException | None]:
    """Everything one iteration yields, and what it raised at the end (None if nothing)."""
    items: list[object] = []
    try:
        for item in source:
            items.append(item)
    except Exception as exc:
        return items, exc
    return items, None


def test_yields_copies_of_its_rows() -> None:
    rows = [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
    source = MockSource(rows, name="orders")
    first, raised = drain(source)
    assert raised is None
    assert first == rows
    first[0]["id"] = 99  # type: ignore[index]
    assert list(source) == rows, "a plugin mutating a yielded row must not change the source"
    assert source.iterations == 2
    assert source.rows_yielded == 2
    assert source.name == "orders"


def test_defaults_to_sample_rows() -> None:
    assert list(MockSource()) == sample_rows()
    assert sample_rows(3) == [
        {"id": 1, "name": "row 1", "amount": 1.5, "active": False},
        {"id": 2, "name": "row 2", "amount": 3.0, "active": True},
        {"id": 3, "name": "row 3", "amount": 4.5, "active": False},
    ]


def test_arrow_batches() -> None:
    source = MockSource(sample_rows(5), as_arrow=True, batch_size=2)
    batches, raised = drain(source)
    assert raised is None
    assert [b.num_rows for b in batches] == [2, 2, 1]  # type: ignore[attr-defined]
    assert all(isinstance(b, pa.RecordBatch) for b in batches)
    table = pa.Table.from_batches(batches)  # type: ignore[arg-type]
    assert table.to_pylist() == sample_rows(5)


@pytest.mark.parametrize("as_arrow", [False, True])
def test_fail_after_yields_exactly_n_rows_then_raises_every_time(as_arrow: bool) -> None:
    source = MockSource(sample_rows(6), as_arrow=as_arrow, batch_size=4).fail_after(3)
    for _ in range(2):
        items, raised = drain(source)
        yielded = pa.Table.from_batches(items).to_pylist() if as_arrow else items  # type: ignore[arg-type]
        assert yielded == sample_rows(3)
        assert isinstance(raised, requests.ConnectionError)
        assert "lost after 3 rows" in str(raised)
    assert source.expected_rows == sample_rows(3)
    assert source.rows_yielded == 3


def test_http_auth_failure_is_a_real_requests_error() -> None:
    source = MockSource(name="github").raise_auth_error()
    items, raised = drain(source)
    assert items == []
    assert isinstance(raised, requests.HTTPError)
    assert raised.response is not None
    assert raised.response.status_code == 401
    assert raised.response.json() == {"message": "Bad credentials"}
    assert str(raised) == "401 Client Error: Unauthorized for url: http://127.0.0.1/api/github"


def test_http_403_and_invalid_auth_status() -> None:
    _, raised = drain(AuthFailureSource(status=403))
    assert isinstance(raised, requests.HTTPError)
    assert raised.response is not None
    assert raised.response.status_code == 403
    with pytest.raises(ValueError, match="401 or 403"):
        MockSource().raise_auth_error(status=500)


def test_http_rate_limit_carries_retry_after() -> None:
    _, raised = drain(RateLimitedSource(retry_after=60))
    assert isinstance(raised, requests.HTTPError)
    assert raised.response is not None
    assert raised.response.status_code == 429
    assert raised.response.headers["Retry-After"] == "60"


def test_floe_style_failures_carry_classified_records() -> None:
    _, auth = drain(AuthFailureSource(style="floe", name="crm"))
    assert isinstance(auth, PermanentError)
    assert (auth.error.category, auth.error.code) == (
        ErrorCategory.PERMANENT,
        ErrorCode.AUTH_FAILED,
    )
    assert auth.error.source == "crm"
    _, limited = drain(RateLimitedSource(30, style="floe"))
    assert isinstance(limited, TransientError)
    assert limited.error.code is ErrorCode.RATE_LIMITED
    assert limited.error.retry_after_seconds == 30
    assert limited.error.retryable is True
    rows, lost = drain(FailingAfterSource(sample_rows(4), fail_after=2, style="floe"))
    assert rows == sample_rows(2)
    assert isinstance(lost, TransientError)
    assert lost.error.code is ErrorCode.NETWORK_ERROR


def test_url_with_a_token_shows_in_failure_messages() -> None:
    url = "http://127.0.0.1/api/items?access_token=s3cr3t-value"
    for style in ("http", "floe"):
        _, raised = drain(MockSource().raise_auth_error(style=style, url=url))  # type: ignore[arg-type]
        assert "access_token=s3cr3t-value" in str(raised)


def test_custom_error_and_succeed_again() -> None:
    source = MockSource(sample_rows(3)).raise_error(KeyError("cursor"), after=1)
    items, raised = drain(source)
    assert items == sample_rows(1)
    assert isinstance(raised, KeyError)
    assert "raises KeyError" in repr(source)
    assert drain(source.succeed()) == (sample_rows(3), None)


def test_helpers_are_fluent_and_validate() -> None:
    source = MockSource()
    assert source.raise_rate_limit(5) is source
    assert source.fail_after(1) is source
    with pytest.raises(ValueError, match="failure style"):
        MockSource().raise_auth_error(style="smtp")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="negative"):
        MockSource().fail_after(-1)
    with pytest.raises(ValueError, match="retry_after"):
        MockSource().raise_rate_limit(-1)
    with pytest.raises(ValueError, match="batch_size"):
        MockSource(batch_size=0)


def test_describe_says_what_the_source_does() -> None:
    source = RateLimitedSource(60)
    assert source.failure is not None
    assert source.failure.describe() == (
        "is rate limited (HTTP 429, Retry-After: 60) before the first row "
        "(style 'http': raises HTTPError)"
    )
    assert "fails: loses its connection after 2 rows" in repr(FailingAfterSource(fail_after=2))


def test_http_error_refuses_success_statuses() -> None:
    with pytest.raises(ValueError, match="not an error status"):
        http_error(200)


@pytest.mark.parametrize("as_arrow", [False, True])
def test_a_dlt_pipeline_takes_a_mock_source_as_a_resource(tmp_path: Path, as_arrow: bool) -> None:
    import dlt

    pipeline = dlt.pipeline(
        pipeline_name=f"mock_{int(as_arrow)}",
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=dlt.destinations.duckdb(str(tmp_path / "db.duckdb")),
        dataset_name="bronze",
    )
    pipeline.run(MockSource(sample_rows(4), as_arrow=as_arrow), table_name="events")
    with pipeline.sql_client() as client:
        rows = client.execute_sql("SELECT id, name FROM events ORDER BY id")
    assert [tuple(row) for row in rows] == [(r["id"], r["name"]) for r in sample_rows(4)]


def test_dlt_surfaces_the_mock_failure_as_the_cause(tmp_path: Path) -> None:
    import dlt
    from dlt.pipeline.exceptions import PipelineStepFailed

    pipeline = dlt.pipeline(
        pipeline_name="mock_fail",
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=dlt.destinations.duckdb(str(tmp_path / "db.duckdb")),
        dataset_name="bronze",
    )
    with pytest.raises(PipelineStepFailed) as caught:
        pipeline.run(AuthFailureSource(sample_rows(2)), table_name="events")
    cause = caught.value.exception.__cause__
    assert isinstance(cause, requests.HTTPError)
    assert cause.response is not None
    assert cause.response.status_code == 401
