"""RetryPolicy: which categories retry and how long to wait."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from floe_core.errors import ErrorCategory, ErrorCode, IngestionError
from floe_core.retry import RetryPolicy

TRANSIENT = IngestionError(ErrorCategory.TRANSIENT, ErrorCode.NETWORK_ERROR, "m", "s")


def test_adr_defaults() -> None:
    policy = RetryPolicy()
    assert policy.max_attempts == 3
    assert policy.initial_delay_seconds == 60
    assert policy.max_delay_seconds == 3600
    assert policy.backoff_multiplier == 2.0
    assert policy.retryable_categories == {ErrorCategory.TRANSIENT}


def test_exponential_backoff_is_capped() -> None:
    policy = RetryPolicy(
        max_attempts=10, initial_delay_seconds=1, max_delay_seconds=5, backoff_multiplier=2
    )
    assert [policy.delay_seconds(TRANSIENT, n) for n in range(1, 6)] == [1, 2, 4, 5, 5]


def test_retry_after_wins_when_larger_and_is_capped() -> None:
    policy = RetryPolicy(initial_delay_seconds=1, max_delay_seconds=100)
    limited = TRANSIENT.replace(code=ErrorCode.RATE_LIMITED, retry_after_seconds=30)
    assert policy.delay_seconds(limited, 1) == 30
    assert policy.delay_seconds(TRANSIENT.replace(retry_after_seconds=500), 1) == 100
    assert policy.delay_seconds(TRANSIENT.replace(retry_after_seconds=0), 3) == 4


def test_only_listed_categories_retry_and_attempts_are_bounded() -> None:
    policy = RetryPolicy(max_attempts=2)
    assert policy.should_retry(TRANSIENT, 1)
    assert not policy.should_retry(TRANSIENT, 2)
    partial = IngestionError(ErrorCategory.PARTIAL, ErrorCode.PARTIAL_LOAD, "m", "s")
    assert not policy.should_retry(partial, 1)
    assert RetryPolicy(retryable_categories={"TRANSIENT", "PARTIAL"}).should_retry(partial, 1)


@pytest.mark.parametrize("category", ["PERMANENT", "CONFIGURATION"])
def test_never_retried_categories_cannot_be_listed(category: str) -> None:
    with pytest.raises(ValidationError, match="never retried"):
        RetryPolicy(retryable_categories={category})


def test_initial_delay_above_max_is_rejected() -> None:
    with pytest.raises(ValidationError, match="initial_delay_seconds"):
        RetryPolicy(initial_delay_seconds=10, max_delay_seconds=5)
