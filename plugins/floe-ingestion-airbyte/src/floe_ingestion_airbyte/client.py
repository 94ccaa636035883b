"""A small Airbyte API client on ``requests``: the endpoints floe needs, retried only when safe.

Base URLs (:func:`public_api_url`): Airbyte Cloud serves the public API at
``https://api.airbyte.com/v1``; a self-managed deployment at ``<host>/api/public/v1``. Failure
details come from the config API's ``POST /v1/jobs/get``, at ``<host>/api/v1`` self-managed
(:func:`config_api_url`).

Contract of every request:

* a ``(connect, read)`` timeout;
* authentication by :mod:`floe_ingestion_airbyte.auth`: client-credentials tokens are fetched
  on first use, refreshed before ``expires_in`` runs out, and refreshed once more when a
  request answers 401 (a second 401 is final);
* retries only where they cannot do harm, with exponential backoff and an injected ``sleep``:
  429 (waiting ``Retry-After`` when it is at most ``max_retry_after_seconds``), 502/503/504
  and connection errors; any other 4xx is never retried;
* ``POST /jobs`` (start a sync) is never repeated blindly: only a 429 (refused, so nothing
  started) or a connection that never opened is retried. A timeout or 5xx there raises, and
  :mod:`floe_ingestion_airbyte.sync` looks for the job before trying again;
* errors are :class:`~floe_ingestion_airbyte.errors.AirbyteApiError` /
  :class:`~floe_ingestion_airbyte.errors.AirbyteTransportError`, whose messages carry the
  endpoint template, never a credential. Response bodies are never logged.

``request_count`` counts HTTP requests sent (retries and token requests included).
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import requests

from floe_ingestion_airbyte.auth import AuthMethod, BasicAuth, BearerToken, ClientCredentials
from floe_ingestion_airbyte.errors import AirbyteApiError, AirbyteTransportError
from floe_ingestion_airbyte.version import __version__

__all__ = [
    "CLOUD_API_URL",
    "CLOUD_CONFIG_API_URL",
    "IN_PROGRESS_STATUSES",
    "AirbyteClient",
    "config_api_url",
    "public_api_url",
]

logger = logging.getLogger("floe_ingestion_airbyte.client")

CLOUD_API_URL = "https://api.airbyte.com/v1"
"""Airbyte Cloud's public API."""
CLOUD_CONFIG_API_URL = "https://cloud.airbyte.com/api/v1"
"""Airbyte Cloud's config API."""
SELF_MANAGED_PATH = "/api/public/v1"
IN_PROGRESS_STATUSES = frozenset({"pending", "queued", "running", "incomplete"})
"""Job statuses of a sync that is still going (``incomplete``: an attempt failed, Airbyte
retries); ``succeeded``, ``failed`` and ``cancelled`` are final."""

_RETRIED_SERVER_ERRORS = frozenset({502, 503, 504})
_DEFAULT_TOKEN_LIFETIME = 180.0


def public_api_url(url: str) -> str:
    """The public API base URL for ``url``: kept when it already ends in ``/v1``, else the
    self-managed path ``/api/public/v1`` is appended to the host URL."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{url!r} is not an http(s) URL")
    if parts.path.endswith("/v1"):
        return url
    return url + SELF_MANAGED_PATH


def config_api_url(public_url: str) -> str:
    """The config API base URL that goes with a public API base URL."""
    url = public_url.rstrip("/")
    parts = urlsplit(url)
    if parts.netloc == urlsplit(CLOUD_API_URL).netloc:
        return CLOUD_CONFIG_API_URL
    if url.endswith(SELF_MANAGED_PATH):
        return url[: -len(SELF_MANAGED_PATH)] + "/api/v1"
    if url.endswith("/v1"):
        return url[: -len("/v1")] + "/api/v1"
    return url + "/api/v1"


class AirbyteClient:
    """Client of Airbyte's public API (and the config API's job details).

    ``sleep`` and ``clock`` (monotonic seconds) are injectable so tests never wait;
    ``on_token`` is called with every access token obtained (floe registers it with the
    secret redactor). ``workspace_id`` scopes listings.
    """

    def __init__(
        self,
        api_url: str,
        auth: AuthMethod,
        *,
        workspace_id: str | None = None,
        config_url: str | None = None,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_retries: int = 4,
        backoff_seconds: float = 1.0,
        max_backoff_seconds: float = 30.0,
        max_retry_after_seconds: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        session: requests.Session | None = None,
        on_token: Callable[[str], None] | None = None,
    ) -> None:
        self.api_url = public_api_url(api_url)
        self.config_url = (config_url or config_api_url(self.api_url)).rstrip("/")
        self.auth = auth
        self.workspace_id = workspace_id
        self.timeout = (connect_timeout, read_timeout)
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_retry_after_seconds = max_retry_after_seconds
        self._sleep = sleep
        self._clock = clock
        self._session = session or requests.Session()
        self._session.headers.update(
            {"Accept": "application/json", "User-Agent": f"floe-ingestion-airbyte/{__version__}"}
        )
        self._on_token = on_token
        self._token: str | None = None
        self._token_refresh_at = 0.0
        self.request_count = 0
        self.requests_by_route: Counter[str] = Counter()
        self.token_requests = 0

    def __repr__(self) -> str:
        return f"<AirbyteClient {self.api_url} auth={type(self.auth).__name__}>"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> AirbyteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- endpoints --------------------------------------------------------------------------

    def get_workspace(self, workspace_id: str) -> dict[str, Any]:
        """``GET /workspaces/{workspaceId}`` (``WorkspaceResponse``)."""
        return self._json(
            "GET", f"/workspaces/{workspace_id}", "/workspaces/{workspaceId}", resource="workspace"
        )

    def get_connection(self, connection_id: str) -> dict[str, Any]:
        """``GET /connections/{connectionId}`` (``ConnectionResponse``)."""
        return self._json(
            "GET",
            f"/connections/{connection_id}",
            "/connections/{connectionId}",
            resource="connection",
        )

    def list_connections(self, *, page_size: int = 100) -> list[dict[str, Any]]:
        """Every connection of the workspace (``GET /connections``, all pages)."""
        params: dict[str, Any] = {"limit": page_size}
        if self.workspace_id:
            params["workspaceIds"] = self.workspace_id
        return self._all_pages("/connections", params)

    def get_destination(self, destination_id: str) -> dict[str, Any]:
        """``GET /destinations/{destinationId}`` (``DestinationResponse``; secrets masked)."""
        return self._json(
            "GET",
            f"/destinations/{destination_id}",
            "/destinations/{destinationId}",
            resource="destination",
        )

    def list_jobs(
        self,
        *,
        connection_id: str | None = None,
        status: str | None = None,
        job_type: str | None = "sync",
        limit: int = 20,
        order_by: str | None = "createdAt|DESC",
    ) -> list[dict[str, Any]]:
        """``GET /jobs`` filtered as given, newest first by default (first page only)."""
        params: dict[str, Any] = {"limit": limit}
        if connection_id:
            params["connectionId"] = connection_id
        if status:
            params["status"] = status
        if job_type:
            params["jobType"] = job_type
        if order_by:
            params["orderBy"] = order_by
        body = self._json("GET", "/jobs", "/jobs", params=params, resource="job")
        return [job for job in body.get("data") or [] if isinstance(job, dict)]

    def get_job(self, job_id: int) -> dict[str, Any]:
        """``GET /jobs/{jobId}`` (``JobResponse``)."""
        return self._json("GET", f"/jobs/{job_id}", "/jobs/{jobId}", resource="job")

    def create_job(self, connection_id: str, job_type: str = "sync") -> dict[str, Any]:
        """``POST /jobs``: start a sync. Not idempotent, so never retried blindly."""
        return self._json(
            "POST",
            "/jobs",
            "/jobs",
            json={"connectionId": connection_id, "jobType": job_type},
            idempotent=False,
            resource="connection",
        )

    def cancel_job(self, job_id: int) -> dict[str, Any]:
        """``DELETE /jobs/{jobId}``: cancel a running job (409 if it already finished)."""
        return self._json("DELETE", f"/jobs/{job_id}", "/jobs/{jobId}", resource="job")

    def get_job_info(self, job_id: int) -> dict[str, Any]:
        """Config API ``POST /v1/jobs/get`` (``JobInfoRead``: attempts, failure summaries,
        per-stream stats)."""
        response = self._send(
            "POST",
            f"{self.config_url}/jobs/get",
            "/v1/jobs/get (config API)",
            json={"id": job_id},
            resource="job",
        )
        return _decode(response, "POST", "/v1/jobs/get (config API)")

    def health(self) -> bool:
        """``GET /health`` answered 2xx."""
        response = self._send("GET", f"{self.api_url}/health", "/health", auth=False)
        return response.ok

    # --- transport --------------------------------------------------------------------------

    def _json(
        self,
        method: str,
        path: str,
        route: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool = True,
        resource: str | None = None,
    ) -> dict[str, Any]:
        response = self._send(
            method,
            f"{self.api_url}{path}",
            route,
            params=params,
            json=json,
            idempotent=idempotent,
            resource=resource,
        )
        return _decode(response, method, route)

    def _all_pages(self, path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = self._json("GET", path, path, params={**params, "offset": offset})
            page = [item for item in body.get("data") or [] if isinstance(item, dict)]
            items.extend(page)
            if not body.get("next") or not page:
                return items
            offset += len(page)

    def _send(
        self,
        method: str,
        url: str,
        route: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        auth: bool = True,
        idempotent: bool = True,
        resource: str | None = None,
    ) -> requests.Response:
        retries = 0
        refreshed = False
        while True:
            headers = {"Authorization": self._authorization()} if auth else {}
            self.request_count += 1
            self.requests_by_route[f"{method} {route}"] += 1
            try:
                response = self._session.request(
                    method, url, params=params, json=json, headers=headers, timeout=self.timeout
                )
            except requests.exceptions.SSLError as exc:
                raise AirbyteTransportError(
                    "tls", method, route, sent=False, cause=type(exc).__name__
                ) from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                sent = _may_have_been_sent(exc)
                kind: Literal["timeout", "connection"] = (
                    "timeout" if isinstance(exc, requests.exceptions.Timeout) else "connection"
                )
                if (idempotent or not sent) and retries < self.max_retries:
                    retries += 1
                    delay = self._backoff(retries)
                    logger.warning(
                        "Airbyte API %s %s: %s; retry %d/%d in %.1f s",
                        method,
                        route,
                        type(exc).__name__,
                        retries,
                        self.max_retries,
                        delay,
                    )
                    self._sleep(delay)
                    continue
                raise AirbyteTransportError(
                    kind, method, route, sent=sent, cause=type(exc).__name__
                ) from None
            status = response.status_code
            if (
                status == 401
                and auth
                and isinstance(self.auth, ClientCredentials)
                and not refreshed
            ):
                # The token may have expired early (revoked, clock skew): refresh once.
                refreshed = True
                self._token = None
                logger.info("Airbyte API %s %s answered 401; refreshing the token", method, route)
                continue
            if status < 400:
                return response
            retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
            if (
                status == 429
                and retries < self.max_retries
                and (retry_after is None or retry_after <= self.max_retry_after_seconds)
            ):
                retries += 1
                delay = retry_after if retry_after is not None else self._backoff(retries)
                logger.warning(
                    "Airbyte API %s %s rate-limited (429); retry %d/%d in %.1f s",
                    method,
                    route,
                    retries,
                    self.max_retries,
                    delay,
                )
                self._sleep(delay)
                continue
            if status in _RETRIED_SERVER_ERRORS and idempotent and retries < self.max_retries:
                retries += 1
                delay = max(
                    self._backoff(retries), min(retry_after or 0.0, self.max_retry_after_seconds)
                )
                logger.warning(
                    "Airbyte API %s %s answered %d; retry %d/%d in %.1f s",
                    method,
                    route,
                    status,
                    retries,
                    self.max_retries,
                    delay,
                )
                self._sleep(delay)
                continue
            raise AirbyteApiError(
                status,
                method,
                route,
                problem=_problem(response),
                retry_after=retry_after,
                resource=resource,
            )

    def _backoff(self, retry: int) -> float:
        return float(min(self.max_backoff_seconds, self.backoff_seconds * 2 ** (retry - 1)))

    def _authorization(self) -> str:
        if isinstance(self.auth, BearerToken | BasicAuth):
            return self.auth.header()
        if self._token is None or self._clock() >= self._token_refresh_at:
            self._refresh_token()
        assert self._token is not None
        return f"Bearer {self._token}"

    def _refresh_token(self) -> None:
        """``POST /applications/token`` with the client credentials."""
        assert isinstance(self.auth, ClientCredentials)
        route = "/applications/token"
        self.token_requests += 1
        requested_at = self._clock()
        # The spec requires `grant_type` but names the property `grant-type`: send both.
        body = {
            "client_id": self.auth.client_id,
            "client_secret": self.auth.client_secret.reveal(),
            "grant_type": "client_credentials",
            "grant-type": "client_credentials",
        }
        response = self._send(
            "POST", f"{self.api_url}{route}", route, json=body, auth=False, resource="token"
        )
        payload = _decode(response, "POST", route)
        token = payload.get("access_token")
        if not isinstance(token, str) or not token:
            raise AirbyteApiError(
                response.status_code,
                "POST",
                route,
                problem={"detail": "the answer carries no access_token"},
                resource="token",
            )
        if self._on_token is not None:
            self._on_token(token)
        lifetime = payload.get("expires_in")
        seconds = (
            float(lifetime)
            if isinstance(lifetime, int | float) and lifetime > 0
            else (_DEFAULT_TOKEN_LIFETIME)
        )
        # Refresh early: a fifth of the lifetime, at most a minute, before it runs out.
        self._token = token
        self._token_refresh_at = requested_at + seconds - min(60.0, seconds / 5)
        logger.debug("obtained an Airbyte access token valid for %.0f s", seconds)


def _decode(response: requests.Response, method: str, route: str) -> dict[str, Any]:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        body = response.json()
    except ValueError:
        raise AirbyteApiError(
            response.status_code,
            method,
            route,
            problem={"detail": "the answer is not JSON; is the URL an Airbyte API?"},
        ) from None
    if not isinstance(body, dict):
        raise AirbyteApiError(
            response.status_code,
            method,
            route,
            problem={"detail": "the answer is not a JSON object; is the URL an Airbyte API?"},
        )
    return body


def _problem(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"detail": response.reason or ""}
    return body if isinstance(body, dict) else {}


def _retry_after_seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110)."""
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _may_have_been_sent(exc: requests.exceptions.RequestException) -> bool:
    """False only when the connection never opened, so Airbyte cannot have seen the request."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return True
    from urllib3.exceptions import NewConnectionError

    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", inner)
    return not isinstance(reason, NewConnectionError)
