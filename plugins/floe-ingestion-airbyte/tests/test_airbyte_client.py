"""The API client against the emulator: authentication, timeouts and only-safe retries."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
import requests

from floe_ingestion_airbyte.auth import BasicAuth, BearerToken, ClientCredentials
from floe_ingestion_airbyte.client import AirbyteClient, config_api_url, public_api_url
from floe_ingestion_airbyte.errors import AirbyteApiError, AirbyteTransportError
from floe_ingestion_airbyte.testing import (
    API_TOKEN,
    BASIC_PASSWORD,
    BASIC_USERNAME,
    CLIENT_ID,
    CLIENT_SECRET,
    ICEBERG_CONNECTION_ID,
    AirbyteEmulator,
    Fault,
    ManualClock,
)

CONNECTION_ROUTE = "GET /connections/{connectionId}"


class RecordingSession(requests.Session):
    """A real session that remembers the timeout of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[Any] = []

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:
        self.timeouts.append(kwargs.get("timeout"))
        return super().request(method, url, *args, **kwargs)


@pytest.fixture
def make_client(airbyte: AirbyteEmulator, manual_clock: ManualClock) -> Any:
    def make(auth: Any = None, **kwargs: Any) -> AirbyteClient:
        kwargs.setdefault("sleep", manual_clock.sleep)
        kwargs.setdefault("clock", manual_clock)
        return AirbyteClient(
            kwargs.pop("url", airbyte.url),
            auth or ClientCredentials(CLIENT_ID, CLIENT_SECRET),
            **kwargs,
        )

    return make


def routes(airbyte: AirbyteEmulator) -> list[tuple[str, int]]:
    return [(item.route, item.status) for item in airbyte.requests]


def test_base_urls() -> None:
    assert public_api_url("https://airbyte.example.com/") == (
        "https://airbyte.example.com/api/public/v1"
    )
    assert public_api_url("https://api.airbyte.com/v1") == "https://api.airbyte.com/v1"
    assert public_api_url("http://host:8000/api/public/v1") == "http://host:8000/api/public/v1"
    with pytest.raises(ValueError, match="not an http"):
        public_api_url("airbyte.example.com")
    assert config_api_url("https://api.airbyte.com/v1") == "https://cloud.airbyte.com/api/v1"
    assert config_api_url("http://host:8000/api/public/v1") == "http://host:8000/api/v1"
    assert config_api_url("http://127.0.0.1:9/v1") == "http://127.0.0.1:9/api/v1"


@pytest.mark.parametrize("path", ["/api/public/v1", "/v1"])
def test_client_credentials_fetch_one_token_and_reuse_it(
    airbyte: AirbyteEmulator, make_client: Any, path: str
) -> None:
    tokens: list[str] = []
    client = make_client(url=airbyte.url + path, on_token=tokens.append)
    assert client.get_connection(ICEBERG_CONNECTION_ID)["connectionId"] == ICEBERG_CONNECTION_ID
    client.list_jobs(connection_id=ICEBERG_CONNECTION_ID)
    assert routes(airbyte) == [
        ("POST /applications/token", 200),
        (CONNECTION_ROUTE, 200),
        ("GET /jobs", 200),
    ]
    assert len(tokens) == 1
    assert tokens[0] in airbyte.state.tokens
    assert client.request_count == 3


def test_token_is_refreshed_before_it_expires(
    airbyte: AirbyteEmulator, make_client: Any, manual_clock: ManualClock
) -> None:
    client = make_client()
    client.get_connection(ICEBERG_CONNECTION_ID)
    manual_clock.advance(143)  # 180 s tokens are renewed 36 s early
    client.get_connection(ICEBERG_CONNECTION_ID)
    assert airbyte.tokens_issued == 1
    manual_clock.advance(2)
    client.get_connection(ICEBERG_CONNECTION_ID)
    assert airbyte.tokens_issued == 2
    assert all(status == 200 for _, status in routes(airbyte))


def test_a_401_refreshes_the_token_once(airbyte: AirbyteEmulator, make_client: Any) -> None:
    client = make_client()
    client.get_connection(ICEBERG_CONNECTION_ID)
    airbyte.expire_tokens()
    client.get_connection(ICEBERG_CONNECTION_ID)
    assert routes(airbyte)[2:] == [
        (CONNECTION_ROUTE, 401),
        ("POST /applications/token", 200),
        (CONNECTION_ROUTE, 200),
    ]


def test_a_second_401_is_final(airbyte: AirbyteEmulator, make_client: Any) -> None:
    client = make_client()
    airbyte.add_fault(Fault.auth_failure(401, route=CONNECTION_ROUTE))
    with pytest.raises(AirbyteApiError) as raised:
        client.get_connection(ICEBERG_CONNECTION_ID)
    assert raised.value.status == 401
    assert routes(airbyte) == [
        ("POST /applications/token", 200),
        (CONNECTION_ROUTE, 401),
        ("POST /applications/token", 200),
        (CONNECTION_ROUTE, 401),
    ]


def test_wrong_client_secret_is_refused(airbyte: AirbyteEmulator, make_client: Any) -> None:
    client = make_client(ClientCredentials(CLIENT_ID, "wrong-secret"))
    with pytest.raises(AirbyteApiError) as raised:
        client.get_connection(ICEBERG_CONNECTION_ID)
    assert (raised.value.status, raised.value.resource) == (403, "token")
    assert "wrong-secret" not in str(raised.value)
    assert len(airbyte.requests) == 1


@pytest.mark.parametrize(
    "auth",
    [BearerToken(API_TOKEN), BasicAuth(BASIC_USERNAME, BASIC_PASSWORD)],
    ids=["bearer", "basic"],
)
def test_static_credentials(airbyte: AirbyteEmulator, make_client: Any, auth: Any) -> None:
    client = make_client(auth)
    assert client.get_connection(ICEBERG_CONNECTION_ID)["status"] == "active"
    assert airbyte.tokens_issued == 0
    airbyte.add_fault(Fault.auth_failure(401, route=CONNECTION_ROUTE, times=1))
    with pytest.raises(AirbyteApiError):  # no token to refresh: the 401 is final
        client.get_connection(ICEBERG_CONNECTION_ID)
    assert airbyte.request_count("POST /applications/token") == 0


def test_every_request_has_a_timeout(airbyte: AirbyteEmulator, make_client: Any) -> None:
    session = RecordingSession()
    client = make_client(session=session, connect_timeout=3, read_timeout=7)
    client.get_connection(ICEBERG_CONNECTION_ID)
    job = client.create_job(ICEBERG_CONNECTION_ID)
    client.get_job(job["jobId"])
    client.get_job_info(job["jobId"])
    client.cancel_job(job["jobId"])
    assert client.health()
    assert len(session.timeouts) == 7
    assert set(session.timeouts) == {(3, 7)}


def test_429_waits_for_retry_after(
    airbyte: AirbyteEmulator, make_client: Any, manual_clock: ManualClock
) -> None:
    client = make_client()
    client.get_connection(ICEBERG_CONNECTION_ID)
    airbyte.add_fault(Fault.rate_limit(CONNECTION_ROUTE, retry_after=3, times=2))
    client.get_connection(ICEBERG_CONNECTION_ID)
    assert manual_clock.sleeps == [3, 3]
    assert [status for _, status in routes(airbyte)][2:] == [429, 429, 200]


def test_429_with_an_http_date(airbyte: AirbyteEmulator, make_client: Any) -> None:
    waits: list[float] = []
    client = make_client(sleep=waits.append)
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True)
    airbyte.add_fault(Fault.rate_limit(CONNECTION_ROUTE, retry_after=when))
    client.get_connection(ICEBERG_CONNECTION_ID)
    assert len(waits) == 1
    assert 15 < waits[0] <= 20


def test_429_beyond_the_longest_wait_is_raised_with_retry_after(
    airbyte: AirbyteEmulator, make_client: Any, manual_clock: ManualClock
) -> None:
    client = make_client(max_retry_after_seconds=60)
    airbyte.add_fault(Fault.rate_limit(CONNECTION_ROUTE, retry_after=600))
    with pytest.raises(AirbyteApiError) as raised:
        client.get_connection(ICEBERG_CONNECTION_ID)
    assert (raised.value.status, raised.value.retry_after) == (429, 600)
    assert manual_clock.sleeps == []


def test_5xx_bursts_are_retried_with_backoff(
    airbyte: AirbyteEmulator, make_client: Any, manual_clock: ManualClock
) -> None:
    client = make_client(backoff_seconds=1)
    client.get_connection(ICEBERG_CONNECTION_ID)
    for status in (502, 503, 504):
        airbyte.add_fault(Fault.server_errors(CONNECTION_ROUTE, status=status, times=1))
    client.get_connection(ICEBERG_CONNECTION_ID)
    assert manual_clock.sleeps == [1, 2, 4]
    airbyte.add_fault(Fault.server_errors(CONNECTION_ROUTE, status=503, times=None))
    with pytest.raises(AirbyteApiError) as raised:
        client.get_connection(ICEBERG_CONNECTION_ID)
    assert raised.value.status == 503
    assert airbyte.request_count(CONNECTION_ROUTE) == 1 + 4 + 5  # 4 retries, then final


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422, 500])
def test_other_errors_are_never_retried(
    airbyte: AirbyteEmulator, make_client: Any, manual_clock: ManualClock, status: int
) -> None:
    client = make_client()
    client.get_connection(ICEBERG_CONNECTION_ID)
    airbyte.add_fault(Fault(route=CONNECTION_ROUTE, status=status, times=None))
    with pytest.raises(AirbyteApiError) as raised:
        client.get_connection(ICEBERG_CONNECTION_ID)
    assert raised.value.status == status
    assert airbyte.request_count(CONNECTION_ROUTE) == 2
    assert manual_clock.sleeps == []


@pytest.mark.parametrize("status", [502, 503, 504])
def test_post_jobs_is_not_retried_on_5xx(
    airbyte: AirbyteEmulator, make_client: Any, status: int
) -> None:
    client = make_client()
    airbyte.add_fault(Fault.server_errors("POST /jobs", status=status, times=1))
    with pytest.raises(AirbyteApiError):
        client.create_job(ICEBERG_CONNECTION_ID)
    assert airbyte.request_count("POST /jobs") == 1


def test_post_jobs_is_retried_after_429(
    airbyte: AirbyteEmulator, make_client: Any, manual_clock: ManualClock
) -> None:
    client = make_client()
    airbyte.add_fault(Fault.rate_limit("POST /jobs", retry_after=2))
    assert client.create_job(ICEBERG_CONNECTION_ID)["status"] == "pending"
    assert airbyte.request_count("POST /jobs") == 2
    assert manual_clock.sleeps == [2]


def test_post_jobs_read_timeout_is_not_retried(airbyte: AirbyteEmulator, make_client: Any) -> None:
    client = make_client(read_timeout=0.15)
    airbyte.add_fault(Fault.slow("POST /jobs", delay=0.5))
    with pytest.raises(AirbyteTransportError) as raised:
        client.create_job(ICEBERG_CONNECTION_ID)
    assert (raised.value.kind, raised.value.sent) == ("timeout", True)
    assert airbyte.request_count("POST /jobs") == 1
    assert len(airbyte.jobs(ICEBERG_CONNECTION_ID)) == 1  # it was created all the same


def test_dropped_connections(airbyte: AirbyteEmulator, make_client: Any) -> None:
    client = make_client()
    airbyte.add_fault(Fault.disconnects(CONNECTION_ROUTE, times=2))
    assert client.get_connection(ICEBERG_CONNECTION_ID)["status"] == "active"
    assert airbyte.request_count(CONNECTION_ROUTE) == 3
    airbyte.add_fault(Fault.disconnects("POST /jobs", handle=True))
    with pytest.raises(AirbyteTransportError) as raised:
        client.create_job(ICEBERG_CONNECTION_ID)
    assert (raised.value.kind, raised.value.sent) == ("connection", True)
    assert airbyte.request_count("POST /jobs") == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_retried_even_for_post_jobs(manual_clock: ManualClock) -> None:
    client = AirbyteClient(
        f"http://127.0.0.1:{_closed_port()}",
        BearerToken(API_TOKEN),
        sleep=manual_clock.sleep,
        clock=manual_clock,
        max_retries=2,
    )
    with pytest.raises(AirbyteTransportError) as raised:
        client.create_job(ICEBERG_CONNECTION_ID)
    assert (raised.value.kind, raised.value.sent) == ("connection", False)
    assert manual_clock.sleeps == [1, 2]
    assert client.request_count == 3


def test_credentials_never_print() -> None:
    credentials = ClientCredentials(CLIENT_ID, "very-secret-value")
    basic = BasicAuth("me", "other-secret-value")
    text = f"{credentials!r} {credentials} {basic!r} {BearerToken('token-secret-value')!r}"
    assert "very-secret-value" not in text
    assert "other-secret-value" not in text
    assert "token-secret-value" not in text
    client = AirbyteClient("http://127.0.0.1:1", credentials)
    assert "very-secret-value" not in repr(client)
