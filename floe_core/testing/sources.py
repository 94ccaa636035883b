"""Mock sources: in-memory stand-ins for a real source, for unit tests and the conformance kit.

A mock source is a plain iterable: iterating it yields its rows (dicts, or pyarrow record
batches with ``as_arrow=True``), so a dlt pipeline takes it as a resource and any other plugin
can loop over it. Hand one to a plugin through the runner, which passes ``source=`` on to
``plugin.run``::

    result = IngestionRunner(plugin).run(config, source=MockSource(rows))

Accepting ``source=`` in ``run`` (an object that replaces the source the configuration names)
is part of the plugin contract for every plugin that runs in-process.

A mock source can be told to fail, the way a real source fails, with the fluent helpers
:meth:`MockSource.raise_auth_error`, :meth:`MockSource.raise_rate_limit` and
:meth:`MockSource.fail_after`, or built failing (:class:`AuthFailureSource`,
:class:`RateLimitedSource`, :class:`FailingAfterSource`). A failure is raised on every
iteration, as a revoked token or a throttled API would. Each helper takes a ``style``:

``"http"`` (the default)
    What an HTTP API client raises: :class:`requests.HTTPError` carrying a real
    :class:`requests.Response` (``401``; ``429`` with a ``Retry-After`` header) or, midway
    through the rows, :class:`requests.ConnectionError`. This checks that the plugin maps its
    source's own failures onto floe's taxonomy.
``"floe"``
    The floe exception a source that already speaks floe's taxonomy raises:
    ``PermanentError(AUTH_FAILED)``, ``TransientError(RATE_LIMITED, retry_after_seconds=...)``,
    ``TransientError(NETWORK_ERROR)``. This checks that the plugin lets such errors through.

Every failure message names the source's ``url`` (a loopback address by default); put a token
in it to check that a plugin never lets a secret reach a result or a log.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, get_args

from floe_core.errors import ErrorCode, PermanentError, TransientError

if TYPE_CHECKING:
    import requests

__all__ = [
    "FAILURE_STYLES",
    "AuthFailureSource",
    "FailingAfterSource",
    "FailureStyle",
    "MockSource",
    "RateLimitedSource",
    "SourceFailure",
    "http_error",
    "sample_rows",
]

FailureStyle = Literal["http", "floe"]
FAILURE_STYLES: tuple[FailureStyle, ...] = get_args(FailureStyle)
"""The ways a mock source can fail, see the module docstring."""

FailureKind = Literal["auth", "rate_limit", "connection_lost", "custom"]

_REASONS = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests"}


def sample_rows(count: int = 5) -> list[dict[str, Any]]:
    """``count`` rows: ``id`` (int from 1), ``name`` (str), ``amount`` (float), ``active``."""
    return [
        {"id": i, "name": f"row {i}", "amount": i * 1.5, "active": i % 2 == 0}
        for i in range(1, count + 1)
    ]


def http_error(
    status: int,
    *,
    url: str = "http://127.0.0.1/",
    headers: Mapping[str, str] | None = None,
    body: str = "",
) -> requests.HTTPError:
    """The :class:`requests.HTTPError` that ``raise_for_status()`` gives for this response.

    The error carries a real :class:`requests.Response` (``exc.response.status_code``,
    ``exc.response.headers``), exactly as a requests-based client sees it.
    """
    import requests

    response = requests.Response()
    response.status_code = status
    response.reason = _REASONS.get(status, "Error")
    response.url = url
    response.headers.update(headers or {})
    response._content = body.encode()
    response.encoding = "utf-8"
    try:
        response.raise_for_status()
    except requests.HTTPError as exc:
        return exc
    raise ValueError(f"HTTP status {status} is not an error status")


@dataclass(frozen=True)
class SourceFailure:
    """How a mock source fails: what it raises (:meth:`exception`) after ``after_rows`` rows."""

    kind: FailureKind
    style: FailureStyle
    after_rows: int
    url: str
    status: int | None = None
    retry_after: int | None = None
    custom: BaseException | None = None

    def __post_init__(self) -> None:
        if self.style not in FAILURE_STYLES:
            raise ValueError(f"failure style {self.style!r} is not one of {FAILURE_STYLES}")
        if self.after_rows < 0:
            raise ValueError("a source cannot fail after a negative number of rows")

    def exception(self, source: str) -> BaseException:
        """A fresh exception to raise (a raised exception keeps its traceback: never reuse)."""
        if self.kind == "custom":
            assert self.custom is not None
            return self.custom
        if self.kind == "auth":
            status = self.status or 401
            if self.style == "http":
                return http_error(
                    status,
                    url=self.url,
                    headers={"WWW-Authenticate": 'Bearer realm="api"'},
                    body='{"message": "Bad credentials"}',
                )
            return PermanentError(
                ErrorCode.AUTH_FAILED,
                f"{source}: credentials refused ({status}) by {self.url}",
                source=source,
            )
        if self.kind == "rate_limit":
            if self.style == "http":
                return http_error(
                    429,
                    url=self.url,
                    headers={"Retry-After": str(self.retry_after)},
                    body='{"message": "API rate limit exceeded"}',
                )
            return TransientError(
                ErrorCode.RATE_LIMITED,
                f"{source}: rate limited by {self.url}; retry after {self.retry_after} s",
                source=source,
                retry_after_seconds=self.retry_after,
            )
        message = f"connection to {self.url} lost after {self.after_rows} rows"
        if self.style == "http":
            import requests

            return requests.ConnectionError(f"{message}: [Errno 104] Connection reset by peer")
        return TransientError(ErrorCode.NETWORK_ERROR, f"{source}: {message}", source=source)

    def describe(self) -> str:
        """Words for failure messages: what the source does."""
        what = {
            "auth": f"is refused its credentials (HTTP {self.status or 401})",
            "rate_limit": f"is rate limited (HTTP 429, Retry-After: {self.retry_after})",
            "connection_lost": "loses its connection",
            "custom": f"raises {type(self.custom).__name__}",
        }[self.kind]
        when = "before the first row" if self.after_rows == 0 else f"after {self.after_rows} rows"
        raised = (
            type(self.custom).__name__
            if self.custom is not None
            else type(self.exception("source")).__name__
        )
        return f"{what} {when} (style {self.style!r}: raises {raised})"


class MockSource:
    """An in-memory source: iterating yields ``rows``, then raises its failure if it has one.

    ``rows`` defaults to :func:`sample_rows`. With ``as_arrow=True`` the rows come as pyarrow
    ``RecordBatch`` objects of ``batch_size`` rows (default: one batch; a batch is cut where
    the source fails, so exactly the promised rows come out). ``name`` names the source in
    messages; ``url`` is the address failure messages name (a loopback address by default).

    Introspection: ``rows`` (copies are yielded, so a plugin cannot change them),
    ``failure`` (None or a :class:`SourceFailure`), ``expected_rows`` (what one iteration
    yields before it fails), ``iterations`` and ``rows_yielded`` (of the last iteration).
    """

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]] | None = None,
        *,
        name: str = "mock_source",
        as_arrow: bool = False,
        batch_size: int | None = None,
        url: str | None = None,
    ) -> None:
        if batch_size is not None and batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.rows: list[dict[str, Any]] = [
            dict(row) for row in (sample_rows() if rows is None else rows)
        ]
        self.name = name
        self.as_arrow = as_arrow
        self.batch_size = batch_size
        self.url = url or f"http://127.0.0.1/api/{name}"
        self.failure: SourceFailure | None = None
        self.iterations = 0
        self.rows_yielded = 0

    # -- fluent failure helpers -----------------------------------------------------------

    def raise_auth_error(
        self, *, style: FailureStyle = "http", status: int = 401, url: str | None = None
    ) -> MockSource:
        """Fail before the first row as when credentials are refused (401, or 403)."""
        if status not in (401, 403):
            raise ValueError("an authentication failure is HTTP 401 or 403")
        return self._fail("auth", style, 0, url, status=status)

    def raise_rate_limit(
        self, retry_after: int = 60, *, style: FailureStyle = "http", url: str | None = None
    ) -> MockSource:
        """Fail before the first row, rate limited, saying to retry after ``retry_after`` s."""
        if retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        return self._fail("rate_limit", style, 0, url, retry_after=retry_after)

    def fail_after(
        self, n: int, *, style: FailureStyle = "http", url: str | None = None
    ) -> MockSource:
        """Yield ``n`` rows, then fail as when the connection drops."""
        return self._fail("connection_lost", style, n, url)

    def raise_error(self, exception: BaseException, *, after: int = 0) -> MockSource:
        """Yield ``after`` rows, then raise ``exception`` (any exception, for your own cases)."""
        self.failure = SourceFailure("custom", "floe", after, self.url, custom=exception)
        return self

    def succeed(self) -> MockSource:
        """Forget any failure: yield every row."""
        self.failure = None
        return self

    def _fail(
        self,
        kind: FailureKind,
        style: FailureStyle,
        after: int,
        url: str | None,
        **extra: Any,
    ) -> MockSource:
        self.failure = SourceFailure(kind, style, after, url or self.url, **extra)
        return self

    # -- iteration ----------------------------------------------------------------------------

    @property
    def expected_rows(self) -> list[dict[str, Any]]:
        """The rows one iteration yields before it fails (all of them without a failure)."""
        if self.failure is None:
            return [dict(row) for row in self.rows]
        return [dict(row) for row in self.rows[: self.failure.after_rows]]

    def __iter__(self) -> Iterator[Any]:
        self.iterations += 1
        self.rows_yielded = 0
        return self._arrow_batches() if self.as_arrow else self._dicts()

    def _dicts(self) -> Iterator[dict[str, Any]]:
        for row in self.expected_rows:
            self.rows_yielded += 1
            yield row
        self._raise_failure()

    def _arrow_batches(self) -> Iterator[Any]:
        import pyarrow as pa

        rows = self.expected_rows
        size = self.batch_size or max(len(rows), 1)
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            self.rows_yielded += len(chunk)
            yield pa.RecordBatch.from_pylist(chunk)
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self.failure is not None:
            raise self.failure.exception(self.name)

    def __repr__(self) -> str:
        failing = f", fails: {self.failure.describe()}" if self.failure else ""
        shape = "arrow batches" if self.as_arrow else "dicts"
        return f"<{type(self).__name__} {self.name!r}: {len(self.rows)} rows as {shape}{failing}>"


class AuthFailureSource(MockSource):
    """A source whose credentials are refused before the first row (401, or 403)."""

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]] | None = None,
        *,
        style: FailureStyle = "http",
        status: int = 401,
        **kwargs: Any,
    ) -> None:
        super().__init__(rows, **kwargs)
        self.raise_auth_error(style=style, status=status)


class RateLimitedSource(MockSource):
    """A source that is rate limited before the first row, saying to retry after ``retry_after``."""

    def __init__(
        self,
        retry_after: int = 60,
        rows: Iterable[Mapping[str, Any]] | None = None,
        *,
        style: FailureStyle = "http",
        **kwargs: Any,
    ) -> None:
        super().__init__(rows, **kwargs)
        self.raise_rate_limit(retry_after, style=style)


class FailingAfterSource(MockSource):
    """A source that yields ``fail_after`` of its rows, then loses its connection."""

    def __init__(
        self,
        rows: Iterable[Mapping[str, Any]] | None = None,
        fail_after: int = 1,
        *,
        style: FailureStyle = "http",
        **kwargs: Any,
    ) -> None:
        super().__init__(rows, **kwargs)
        self.fail_after(fail_after, style=style)
