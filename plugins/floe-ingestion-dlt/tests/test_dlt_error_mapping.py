"""Every row of the error mapping (README.md, "Error mapping"), one test each.

Exceptions come from the real libraries: raised by dlt itself where a few lines can make dlt
raise them (a missing config field, an unknown resource, an incremental cursor that is not in
the data, a frozen schema), by PostgreSQL for SQLSTATEs it can produce here, and otherwise
constructed exactly as dlt, requests or SQLAlchemy construct them. End-to-end runs that fail
the same ways through the plugin are in the source tests.
"""

from __future__ import annotations

import email.utils
from pathlib import Path
from typing import Any

import dlt
import pytest
import requests
import sqlalchemy
import sqlalchemy.exc as sa_exc
from dlt.common.configuration.exceptions import (
    ConfigFieldMissingException,
    ConfigValueCannotBeCoercedException,
)
from dlt.common.destination.exceptions import DestinationTerminalException
from dlt.common.exceptions import DictValidationException, MissingDependencyException
from dlt.common.schema.exceptions import (
    CannotCoerceColumnException,
    CannotCoerceNullException,
    SchemaCorruptedException,
    SchemaEngineNoUpgradePathException,
    SchemaIdentifierNormalizationCollision,
)
from dlt.extract.exceptions import ResourceNotFoundError, UnknownSourceReference
from dlt.extract.reference import SourceReference
from dlt.load.exceptions import LoadClientJobFailed, LoadClientJobRetry, LoadClientJobTerminalRetry
from dlt.pipeline.exceptions import PipelineStepFailed
from dlt.sources.helpers.rest_client.exceptions import PaginatorNotFound
from dlt.sources.rest_api import rest_api_source

from floe_core.errors import ErrorCategory, ErrorCode, IngestionError, PermanentError
from floe_core.testing.sources import http_error
from floe_ingestion_dlt.destination.failures import CommitConflictError, SchemaMismatchError
from floe_ingestion_dlt.errors import causal_chain, map_exception, parse_retry_after

T, P, X, C = (
    ErrorCategory.TRANSIENT,
    ErrorCategory.PERMANENT,
    ErrorCategory.PARTIAL,
    ErrorCategory.CONFIGURATION,
)
NOW = 1_700_000_000.0


def classify(exc: BaseException, **kwargs: Any) -> IngestionError:
    return map_exception(exc, source="orders", now=lambda: NOW, **kwargs)


def raised(call: Any) -> BaseException:
    """The exception ``call()`` raises (the test fails if it raises none)."""
    try:
        call()
    except BaseException as exc:
        return exc
    raise AssertionError(f"{call} raised nothing")


def extract_failure(resource: Any, pipelines_dir: Path) -> PipelineStepFailed:
    """The PipelineStepFailed dlt raises when extracting ``resource`` fails (no destination)."""
    pipeline = dlt.pipeline(pipeline_name="errors_probe", pipelines_dir=str(pipelines_dir))
    exc = raised(lambda: pipeline.extract(resource))
    assert isinstance(exc, PipelineStepFailed)
    return exc


def extraction_raising(exc: BaseException, pipelines_dir: Path) -> PipelineStepFailed:
    def rows() -> Any:
        yield {"id": 1}
        raise exc

    return extract_failure(dlt.resource(rows(), name="orders"), pipelines_dir)


# -- the causal chain ------------------------------------------------------------------------


def test_chain_unwraps_step_failed_extraction_error_and_cause(dlt_pipelines_dir: Path) -> None:
    cause = requests.ConnectionError("reset")
    exc = extraction_raising(cause, dlt_pipelines_dir)
    chain = causal_chain(exc)
    assert chain[0] is exc
    assert type(chain[1]).__name__ == "ResourceExtractionError"
    assert chain[-1] is cause


def test_chain_unwraps_client_exception_of_load_jobs() -> None:
    inner = OSError("disk full")
    job = LoadClientJobTerminalRetry("123.4", "orders.abc.parquet", "failed", inner)
    assert causal_chain(job) == [job, inner]


# -- floe errors pass through ----------------------------------------------------------------


def test_floe_error_raised_by_a_source_passes_through(dlt_pipelines_dir: Path) -> None:
    floe = PermanentError(ErrorCode.AUTH_FAILED, "token revoked", source="github")
    error = classify(extraction_raising(floe, dlt_pipelines_dir))
    assert error is floe.error


def test_destination_schema_mismatch_passes_through_load_job_wrappers() -> None:
    mismatch = SchemaMismatchError("orders.amount: string -> timestamp", details={"t": "x"})
    job = LoadClientJobTerminalRetry("1.2", "orders.j.parquet", "mismatch", mismatch)
    error = classify(job)
    assert (error.category, error.code) == (P, ErrorCode.SCHEMA_MISMATCH)
    assert error is mismatch.error


def test_destination_commit_conflict_passes_through_as_transient() -> None:
    conflict = CommitConflictError("orders: 5 attempts lost", details={})
    error = classify(LoadClientJobTerminalRetry("1.2", "orders.j", "conflict", conflict))
    assert (error.category, error.code, error.retryable) == (T, ErrorCode.COMMIT_CONFLICT, True)


# -- ADR row ResourceNotFound -> SOURCE_NOT_FOUND ------------------------------------------------


def test_resources_not_found_error_is_source_not_found() -> None:
    @dlt.source
    def shop() -> Any:
        return [dlt.resource([1], name="orders"), dlt.resource([2], name="customers")]

    exc = raised(lambda: shop().with_resources("invoices"))
    error = classify(exc)
    assert (error.category, error.code) == (P, ErrorCode.SOURCE_NOT_FOUND)
    assert "invoices" in error.message
    assert "customers, orders" in error.message


def test_resource_not_found_error_is_source_not_found() -> None:
    error = classify(ResourceNotFoundError("orders", "no pipe"))
    assert (error.category, error.code) == (P, ErrorCode.SOURCE_NOT_FOUND)


def test_unknown_source_reference_is_source_not_found() -> None:
    exc = raised(lambda: SourceReference.find("no_such_package.no_such_source"))
    assert isinstance(exc, UnknownSourceReference)
    assert classify(exc).code is ErrorCode.SOURCE_NOT_FOUND


# -- ADR row CredentialsRequired: missing is SECRET_MISSING, refused is AUTH_FAILED ----------------


def test_missing_credentials_field_is_secret_missing() -> None:
    from dlt.sources.sql_database import sql_database

    exc = raised(sql_database)
    assert isinstance(exc, ConfigFieldMissingException)
    error = classify(exc)
    assert (error.category, error.code) == (C, ErrorCode.SECRET_MISSING)
    assert "credentials" in error.message
    assert "secret_refs" in error.message


def test_missing_plain_config_field_is_invalid_config() -> None:
    @dlt.source
    def api(base_path: str = dlt.config.value) -> Any:
        return dlt.resource([1], name="x")

    error = classify(raised(api))
    assert (error.category, error.code) == (C, ErrorCode.INVALID_CONFIG)
    assert "base_path" in error.message


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_auth_failed(status: int) -> None:
    error = classify(http_error(status, url="http://127.0.0.1:9/api/orders?key=s3cret"))
    assert (error.category, error.code, error.retryable) == (P, ErrorCode.AUTH_FAILED, False)
    assert "s3cret" not in error.message  # the query string is never repeated


def test_refused_credentials_from_inside_a_failed_extraction(dlt_pipelines_dir: Path) -> None:
    exc = extraction_raising(http_error(401), dlt_pipelines_dir)
    assert classify(exc).code is ErrorCode.AUTH_FAILED


# -- ADR row LoadClientError -> DESTINATION_CONFIG_ERROR ----------------------------------------


def test_terminal_load_job_failure_is_destination_config_error() -> None:
    job = LoadClientJobFailed("1.2", "orders.j.parquet", "boom", ValueError("bad warehouse"))
    error = classify(job)
    assert (error.category, error.code) == (C, ErrorCode.DESTINATION_CONFIG_ERROR)
    assert "bad warehouse" in error.message


def test_other_terminal_destination_exception_is_destination_config_error() -> None:
    error = classify(DestinationTerminalException("table format not supported"))
    assert (error.category, error.code) == (C, ErrorCode.DESTINATION_CONFIG_ERROR)


# -- ADR row RetryException -> TRANSIENT ---------------------------------------------------------


def test_transient_load_job_retry_is_transient_service_unavailable() -> None:
    job = LoadClientJobRetry("1.2", "orders.j", 5, 5, "throttled", OSError("slow down"))
    error = classify(job)
    assert (error.category, error.code, error.retryable) == (
        T,
        ErrorCode.SERVICE_UNAVAILABLE,
        True,
    )


def test_rate_limit_with_retry_after_seconds() -> None:
    error = classify(http_error(429, headers={"Retry-After": "120"}))
    assert (error.category, error.code) == (T, ErrorCode.RATE_LIMITED)
    assert error.retry_after_seconds == 120


def test_rate_limit_with_retry_after_http_date() -> None:
    when = email.utils.formatdate(NOW + 90.5, usegmt=True)  # whole seconds: 90
    error = classify(http_error(429, headers={"Retry-After": when}))
    assert error.retry_after_seconds == 90


@pytest.mark.parametrize("header", [None, "soon"])
def test_rate_limit_without_a_readable_retry_after(header: str | None) -> None:
    headers = {"Retry-After": header} if header else {}
    error = classify(http_error(429, headers=headers))
    assert (error.code, error.retry_after_seconds) == (ErrorCode.RATE_LIMITED, None)


def test_parse_retry_after_past_date_is_zero() -> None:
    assert parse_retry_after(email.utils.formatdate(NOW - 30, usegmt=True), now=lambda: NOW) == 0


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_service_unavailable(status: int) -> None:
    error = classify(http_error(status))
    assert (error.category, error.code) == (T, ErrorCode.SERVICE_UNAVAILABLE)


def test_http_408_is_timeout() -> None:
    assert classify(http_error(408)).code is ErrorCode.TIMEOUT


@pytest.mark.parametrize(
    "exc",
    [requests.Timeout("t"), requests.ReadTimeout("t"), requests.ConnectTimeout("t")],
    ids=["Timeout", "ReadTimeout", "ConnectTimeout"],
)
def test_request_timeouts_are_timeout(exc: BaseException) -> None:
    error = classify(exc)
    assert (error.category, error.code) == (T, ErrorCode.TIMEOUT)


@pytest.mark.parametrize(
    "exc",
    [
        requests.ConnectionError("refused"),
        requests.exceptions.ChunkedEncodingError("cut"),
        requests.HTTPError("no response"),
    ],
    ids=["ConnectionError", "ChunkedEncodingError", "HTTPError without response"],
)
def test_connection_failures_are_network_errors(exc: BaseException) -> None:
    error = classify(exc)
    assert (error.category, error.code) == (T, ErrorCode.NETWORK_ERROR)


@pytest.mark.parametrize("status", [404, 410])
def test_missing_endpoint_is_source_not_found(status: int) -> None:
    assert classify(http_error(status)).code is ErrorCode.SOURCE_NOT_FOUND


@pytest.mark.parametrize("status", [400, 422])
def test_other_client_errors_are_source_errors(status: int) -> None:
    error = classify(http_error(status))
    assert (error.category, error.code) == (P, ErrorCode.SOURCE_ERROR)


# -- ADR row SchemaCorruptedException -> SCHEMA_CORRUPTION ---------------------------------------


@pytest.mark.parametrize(
    "exc",
    [
        SchemaCorruptedException("shop", "broken"),
        SchemaIdentifierNormalizationCollision("shop", "t", "column", "A", "a", "snake", "x"),
        SchemaEngineNoUpgradePathException("shop", 1, 2, 11),
    ],
    ids=["SchemaCorruptedException", "NormalizationCollision", "NoUpgradePath"],
)
def test_corrupted_schema_is_schema_corruption(exc: BaseException) -> None:
    error = classify(exc)
    assert (error.category, error.code) == (P, ErrorCode.SCHEMA_CORRUPTION)


def test_schema_contract_violation_is_schema_mismatch(dlt_pipelines_dir: Path) -> None:
    pipeline = dlt.pipeline(pipeline_name="contract_probe", pipelines_dir=str(dlt_pipelines_dir))
    pipeline.extract(dlt.resource([{"id": 1}], name="orders"))
    frozen = dlt.resource([{"id": 2, "extra": "x"}], name="orders", schema_contract="freeze")
    error = classify(raised(lambda: pipeline.extract(frozen)))
    assert (error.category, error.code) == (P, ErrorCode.SCHEMA_MISMATCH)


@pytest.mark.parametrize(
    "exc",
    [
        CannotCoerceColumnException("shop", "orders", "amount", "bigint", "timestamp", "x"),
        CannotCoerceNullException("shop", "orders", "id"),
    ],
    ids=["CannotCoerceColumn", "CannotCoerceNull"],
)
def test_uncoercible_values_are_schema_mismatch(exc: BaseException) -> None:
    assert classify(exc).code is ErrorCode.SCHEMA_MISMATCH


# -- configuration errors of sources ---------------------------------------------------------------


def test_invalid_rest_api_config_is_invalid_config() -> None:
    exc = raised(lambda: rest_api_source({"client": {"base_url": "http://127.0.0.1/"}}))
    assert isinstance(exc, DictValidationException)
    assert (classify(exc).category, classify(exc).code) == (C, ErrorCode.INVALID_CONFIG)


def test_unknown_paginator_is_invalid_config() -> None:
    exc = PaginatorNotFound("no_such_paginator")
    assert (classify(exc).category, classify(exc).code) == (C, ErrorCode.INVALID_CONFIG)


def test_uncoercible_config_value_is_invalid_config() -> None:
    exc = ConfigValueCannotBeCoercedException("chunk_size", "many", int)
    assert (classify(exc).category, classify(exc).code) == (C, ErrorCode.INVALID_CONFIG)


def test_missing_dependency_is_invalid_config() -> None:
    exc = MissingDependencyException("csv reader", ["pandas"])
    assert (classify(exc).category, classify(exc).code) == (C, ErrorCode.INVALID_CONFIG)


def test_cursor_column_missing_from_data_is_invalid_config(dlt_pipelines_dir: Path) -> None:
    resource = dlt.resource([{"id": 1}], name="orders")
    resource.apply_hints(incremental=dlt.sources.incremental("updated_at"))
    error = classify(extract_failure(resource, dlt_pipelines_dir))
    assert (error.category, error.code) == (C, ErrorCode.INVALID_CONFIG)
    assert "cursor_column" in error.message


def test_cursor_value_none_is_invalid_config(dlt_pipelines_dir: Path) -> None:
    resource = dlt.resource([{"id": 1, "updated_at": None}], name="orders")
    resource.apply_hints(incremental=dlt.sources.incremental("updated_at"))
    error = classify(extract_failure(resource, dlt_pipelines_dir))
    assert (error.category, error.code) == (C, ErrorCode.INVALID_CONFIG)


def test_initial_value_of_another_type_is_invalid_config(dlt_pipelines_dir: Path) -> None:
    resource = dlt.resource([{"id": 1, "updated_at": 5}], name="orders")
    resource.apply_hints(incremental=dlt.sources.incremental("updated_at", initial_value="a"))
    error = classify(extract_failure(resource, dlt_pipelines_dir))
    assert (error.category, error.code) == (C, ErrorCode.INVALID_CONFIG)
    assert "initial_value" in error.message


def test_incremental_primary_key_missing_is_invalid_config() -> None:
    from dlt.extract.incremental.exceptions import IncrementalPrimaryKeyMissing

    exc = IncrementalPrimaryKeyMissing("orders", "id", {"x": 1})
    assert classify(exc).code is ErrorCode.INVALID_CONFIG


# -- SQL sources ---------------------------------------------------------------------------------


@pytest.fixture
def database(postgres_url: str) -> sqlalchemy.Engine:
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(sqlalchemy.text("CREATE TABLE orders (id int)"))
    yield engine
    engine.dispose()


def sql_failure(engine: sqlalchemy.Engine, statement: str) -> BaseException:
    def run() -> None:
        with engine.connect() as connection:
            connection.execute(sqlalchemy.text(statement))

    return raised(run)


def test_no_such_table_is_source_not_found() -> None:
    error = classify(sa_exc.NoSuchTableError("orders"))
    assert (error.category, error.code) == (P, ErrorCode.SOURCE_NOT_FOUND)


def test_undefined_table_sqlstate_is_source_not_found(database: sqlalchemy.Engine) -> None:
    error = classify(sql_failure(database, "SELECT * FROM invoices"))
    assert (error.category, error.code) == (P, ErrorCode.SOURCE_NOT_FOUND)
    assert error.details
    assert error.details["sqlstate"] == "42P01"


def test_undefined_column_sqlstate_is_source_not_found(database: sqlalchemy.Engine) -> None:
    assert classify(sql_failure(database, "SELECT nope FROM orders")).code is (
        ErrorCode.SOURCE_NOT_FOUND
    )


def test_insufficient_privilege_is_auth_failed(database: sqlalchemy.Engine) -> None:
    role = f"reader_{id(database) % 100000}"
    with database.begin() as connection:
        connection.execute(sqlalchemy.text(f"CREATE ROLE {role}"))
    try:
        exc = sql_failure(database, f"SET ROLE {role}; SELECT * FROM orders")
        error = classify(exc)
        assert (error.category, error.code) == (P, ErrorCode.AUTH_FAILED)
        assert error.details
        assert error.details["sqlstate"] == "42501"
    finally:
        with database.begin() as connection:
            connection.execute(sqlalchemy.text(f"DROP ROLE {role}"))


def test_statement_timeout_is_timeout(database: sqlalchemy.Engine) -> None:
    exc = sql_failure(database, "SET statement_timeout = 10; SELECT pg_sleep(2)")
    error = classify(exc)
    assert (error.category, error.code) == (T, ErrorCode.TIMEOUT)


def test_failed_connection_without_sqlstate_is_network_error() -> None:
    engine = sqlalchemy.create_engine("postgresql+psycopg2://floe@127.0.0.1:9/none")
    exc = raised(engine.connect)
    assert isinstance(exc, sa_exc.OperationalError)
    error = classify(exc)
    assert (error.category, error.code) == (T, ErrorCode.NETWORK_ERROR)


def test_other_database_errors_are_source_errors(database: sqlalchemy.Engine) -> None:
    error = classify(sql_failure(database, "SELECT 1/0"))
    assert (error.category, error.code) == (P, ErrorCode.SOURCE_ERROR)


class DriverError(Exception):
    """A DB-API driver error that reports its SQLSTATE (as psycopg 3 and others do).

    psycopg2 gives no SQLSTATE for failed connections, so these classes cannot be produced by
    the PostgreSQL here; the attribute is the DB-API convention the mapping reads.
    """

    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"driver error {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "category", "code"),
    [
        ("28P01", P, ErrorCode.AUTH_FAILED),
        ("28000", P, ErrorCode.AUTH_FAILED),
        ("3D000", P, ErrorCode.SOURCE_NOT_FOUND),
        ("3F000", P, ErrorCode.SOURCE_NOT_FOUND),
        ("08006", T, ErrorCode.NETWORK_ERROR),
        ("40P01", T, ErrorCode.SERVICE_UNAVAILABLE),
        ("53300", T, ErrorCode.SERVICE_UNAVAILABLE),
        ("57P03", T, ErrorCode.SERVICE_UNAVAILABLE),
    ],
)
def test_sqlstate_classes(sqlstate: str, category: ErrorCategory, code: ErrorCode) -> None:
    exc = sa_exc.OperationalError("SELECT 1", {}, DriverError(sqlstate))
    error = classify(exc)
    assert (error.category, error.code) == (category, code)


def test_connection_pool_timeout_is_timeout() -> None:
    assert classify(sa_exc.TimeoutError("pool exhausted")).code is ErrorCode.TIMEOUT


def test_bad_connection_string_is_invalid_config() -> None:
    exc = raised(lambda: sqlalchemy.create_engine("nosuchdialect://x"))
    assert isinstance(exc, sa_exc.ArgumentError)
    error = classify(exc)
    assert (error.category, error.code) == (C, ErrorCode.INVALID_CONFIG)


# -- fallbacks -------------------------------------------------------------------------------------


def test_anything_raised_while_extracting_is_source_error(dlt_pipelines_dir: Path) -> None:
    error = classify(extraction_raising(KeyError("customer"), dlt_pipelines_dir))
    assert (error.category, error.code) == (P, ErrorCode.SOURCE_ERROR)
    assert error.details
    assert error.details["dlt_step"] == "extract"


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (TimeoutError("slow"), ErrorCode.TIMEOUT),
        (ConnectionResetError("reset"), ErrorCode.NETWORK_ERROR),
    ],
)
def test_standard_timeouts_and_connection_errors_are_transient(
    exc: BaseException, code: ErrorCode, dlt_pipelines_dir: Path
) -> None:
    assert classify(exc).code is code
    assert classify(extraction_raising(exc, dlt_pipelines_dir)).code is code


def test_anything_else_is_unknown_with_its_type() -> None:
    error = classify(RuntimeError("surprise"))
    assert (error.category, error.code) == (P, ErrorCode.UNKNOWN)
    assert error.details
    assert error.details["exception_type"] == "builtins.RuntimeError"


# -- ADR row PipelineStepFailed (partial) -> PARTIAL_LOAD ------------------------------------------


def load_step_failure(dlt_pipelines_dir: Path, inner: BaseException) -> PipelineStepFailed:
    pipeline = dlt.pipeline(pipeline_name="partial_probe", pipelines_dir=str(dlt_pipelines_dir))
    job = LoadClientJobTerminalRetry("1700.1", "orders.j.parquet", "failed", inner)
    exc = PipelineStepFailed(pipeline, "load", "1700.1", job)
    exc.is_package_partially_loaded = True  # what dlt computes from the package's jobs
    return exc


def test_partially_loaded_package_is_partial_load(dlt_pipelines_dir: Path) -> None:
    exc = load_step_failure(dlt_pipelines_dir, OSError("no space left"))
    error = classify(exc, committed_rows=70, failed_records=30)
    assert (error.category, error.code, error.failed_records) == (X, ErrorCode.PARTIAL_LOAD, 30)
    assert error.details is not None
    assert error.details["cause_code"] == "DESTINATION_CONFIG_ERROR"
    assert error.details["load_id"] == "1700.1"


def test_partial_flag_without_committed_rows_keeps_the_cause(dlt_pipelines_dir: Path) -> None:
    conflict = CommitConflictError("lost the race", details={})
    exc = load_step_failure(dlt_pipelines_dir, conflict)
    error = classify(exc, committed_rows=0)
    assert (error.category, error.code) == (T, ErrorCode.COMMIT_CONFLICT)
