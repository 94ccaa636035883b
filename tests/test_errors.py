"""The error taxonomy: records, codes, exceptions and classification."""

from __future__ import annotations

import pytest

from floe_core.errors import (
    CODE_CATEGORIES,
    ConfigurationError,
    ErrorCategory,
    ErrorCode,
    IngestionError,
    IngestionException,
    PartialError,
    PermanentError,
    TransientError,
    classify_exception,
)

ADR_CODES = {
    "RATE_LIMITED", "AUTH_FAILED", "SCHEMA_MISMATCH", "SOURCE_NOT_FOUND",
    "DESTINATION_CONFIG_ERROR", "SCHEMA_CORRUPTION", "PARTIAL_LOAD", "PARTIAL_SYNC",
    "SYNC_CANCELLED", "NETWORK_ERROR", "TIMEOUT", "COMMIT_CONFLICT", "UNKNOWN",
}  # fmt: skip


def test_every_adr_code_is_in_the_closed_list_and_documented() -> None:
    assert {code.value for code in ErrorCode} >= ADR_CODES
    assert set(CODE_CATEGORIES) == set(ErrorCode)
    assert all(description for _, description in CODE_CATEGORIES.values())


@pytest.mark.parametrize(
    ("category", "retryable"),
    [("TRANSIENT", True), ("PERMANENT", False), ("PARTIAL", False), ("CONFIGURATION", False)],
)
def test_retryable_follows_from_category(category: str, retryable: bool) -> None:
    error = IngestionError(category=category, code="UNKNOWN", message="m", source="s")  # type: ignore[arg-type]
    assert error.retryable is retryable
    assert error.category == category
    assert isinstance(error.category, ErrorCategory)


def test_contradicting_retryable_is_rejected() -> None:
    with pytest.raises(ValueError, match="contradicts category PERMANENT"):
        IngestionError(ErrorCategory.PERMANENT, ErrorCode.AUTH_FAILED, "m", "s", retryable=True)


def test_unknown_code_is_rejected_with_the_list() -> None:
    with pytest.raises(ValueError, match=r"unknown ingestion error code 'OOPS'.*RATE_LIMITED"):
        IngestionError(ErrorCategory.PERMANENT, "OOPS", "m", "s")  # type: ignore[arg-type]


def test_record_serialises_with_adr_field_names() -> None:
    error = IngestionError(
        ErrorCategory.TRANSIENT,
        ErrorCode.RATE_LIMITED,
        "slow down",
        "github",
        retry_after_seconds=60,
    )
    assert error.to_dict() == {
        "category": "TRANSIENT",
        "code": "RATE_LIMITED",
        "message": "slow down",
        "source": "github",
        "retryable": True,
        "retry_after_seconds": 60,
        "failed_records": None,
        "details": None,
    }


@pytest.mark.parametrize(
    ("exc_type", "category"),
    [
        (TransientError, ErrorCategory.TRANSIENT),
        (PermanentError, ErrorCategory.PERMANENT),
        (PartialError, ErrorCategory.PARTIAL),
        (ConfigurationError, ErrorCategory.CONFIGURATION),
    ],
)
def test_exception_class_decides_the_category(
    exc_type: type[IngestionException], category: ErrorCategory
) -> None:
    exc = exc_type(ErrorCode.UNKNOWN, "boom", source="src", failed_records=3)
    assert exc.error.category is category
    assert exc.error.retryable is category.retryable
    assert str(exc) == "boom"
    assert classify_exception(exc) is exc.error
    assert type(IngestionException.from_error(exc.error)) is exc_type


def test_base_exception_cannot_be_raised_directly() -> None:
    with pytest.raises(TypeError, match="TransientError"):
        IngestionException(ErrorCode.UNKNOWN, "x")


def test_unclassified_exception_becomes_permanent_unknown_keeping_type_and_message() -> None:
    error = classify_exception(KeyError("missing column"), source="orders")
    assert (error.category, error.code, error.retryable) == ("PERMANENT", "UNKNOWN", False)
    assert error.source == "orders"
    assert "KeyError" in error.message and "missing column" in error.message
    assert error.details == {
        "exception_type": "builtins.KeyError",
        "exception_message": "'missing column'",
    }


@pytest.mark.parametrize(
    ("exc", "code"),
    [(TimeoutError("read"), "TIMEOUT"), (ConnectionResetError("reset"), "NETWORK_ERROR")],
)
def test_network_exceptions_are_transient_by_type(exc: Exception, code: str) -> None:
    error = classify_exception(exc)
    assert (error.category, error.code, error.retryable) == ("TRANSIENT", code, True)


def test_error_reference_doc_lists_every_code_with_its_category() -> None:
    from pathlib import Path

    doc = (Path(__file__).parents[1] / "docs" / "reference" / "errors.md").read_text()
    for code, (category, _) in CODE_CATEGORIES.items():
        assert f"| `{code.value}` | `{category.value}` |" in doc, (
            f"docs/reference/errors.md: {code}"
        )
