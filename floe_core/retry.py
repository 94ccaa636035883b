"""`RetryPolicy`: the ``retry:`` block of the platform manifest (ADR-0020, "Retry Configuration").

The delay before attempt ``n + 1`` (after ``n`` failed attempts) is
``initial_delay_seconds * backoff_multiplier ** (n - 1)``, raised to the error's
``retry_after_seconds`` when that is larger, and capped by ``max_delay_seconds`` in both cases.
Only errors whose category is in ``retryable_categories`` are retried, and a category that is
never safe to retry (``PERMANENT``, ``CONFIGURATION``) cannot be listed.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from floe_core.errors import ErrorCategory, IngestionError

__all__ = ["RetryPolicy"]

_NEVER_RETRIED = {ErrorCategory.PERMANENT, ErrorCategory.CONFIGURATION}


class RetryPolicy(BaseModel):
    """How the runner retries a failed run. The defaults are the ADR's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_attempts: int = Field(
        default=3, ge=1, le=100, description="Attempts in all, first included."
    )
    initial_delay_seconds: float = Field(default=60.0, ge=0)
    max_delay_seconds: float = Field(default=3600.0, ge=0)
    backoff_multiplier: float = Field(default=2.0, ge=1.0)
    retryable_categories: frozenset[ErrorCategory] = Field(
        default=frozenset({ErrorCategory.TRANSIENT}),
        description="Categories retried: TRANSIENT and, if wanted, PARTIAL.",
    )

    @field_validator("retryable_categories")
    @classmethod
    def _only_safe_categories(cls, value: frozenset[ErrorCategory]) -> frozenset[ErrorCategory]:
        unsafe = sorted(category.value for category in value & _NEVER_RETRIED)
        if unsafe:
            raise ValueError(
                f"{', '.join(unsafe)} errors are never retried; retryable_categories may list "
                "TRANSIENT and PARTIAL"
            )
        return value

    @model_validator(mode="after")
    def _initial_within_max(self) -> RetryPolicy:
        if self.initial_delay_seconds > self.max_delay_seconds:
            raise ValueError("initial_delay_seconds must not exceed max_delay_seconds")
        return self

    @classmethod
    def no_retry(cls) -> RetryPolicy:
        """One attempt only."""
        return cls(max_attempts=1)

    def should_retry(self, error: IngestionError, attempts_made: int) -> bool:
        """Whether to try again after ``attempts_made`` attempts ended with ``error``."""
        return attempts_made < self.max_attempts and error.category in self.retryable_categories

    def delay_seconds(self, error: IngestionError, attempts_made: int) -> float:
        """Seconds to wait after ``attempts_made`` (>= 1) failed attempts ended with ``error``."""
        computed = self.initial_delay_seconds * self.backoff_multiplier ** (attempts_made - 1)
        wanted = max(computed, float(error.retry_after_seconds or 0))
        return min(wanted, self.max_delay_seconds)
