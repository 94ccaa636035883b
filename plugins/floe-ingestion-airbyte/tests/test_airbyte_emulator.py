"""The emulator answers as Airbyte's published contract says, field for field."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from airbyte_spec import assert_problem, assert_public, config_api

from floe_ingestion_airbyte.testing import (
    API_TOKEN,
    BASIC_PASSWORD,
    BASIC_USERNAME,
    CLIENT_ID,
    CLIENT_SECRET,
    ICEBERG_CONNECTION_ID,
    ICEBERG_DESTINATION_ID,
    INACTIVE_CONNECTION_ID,
    POSTGRES_DESTINATION_ID,
    WORKSPACE_ID,
    AirbyteEmulator,
    FailureSpec,
    Fault,
    JobPlan,
    ManualClock,
)

BASES = ("/api/public/v1", "/v1")


def token(base_url: str) -> str:
    response = requests.post(
        f"{base_url}/applications/token",
        json={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET},
        timeout=5,
    )
    assert response.status_code == 200
    return str(response.json()["access_token"])


class Api:
    """Authenticated calls to one base path of the emulator."""

    def __init__(self, emulator: AirbyteEmulator, base: str = "/api/public/v1") -> None:
        self.base_url = emulator.url + base
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token(self.base_url)}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.base_url + path, timeout=5, **kwargs)


@pytest.fixture
def api(airbyte: AirbyteEmulator) -> Api:
    return Api(airbyte)


# --- authentication ---------------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_token_endpoint_answers_a_public_access_token(airbyte: AirbyteEmulator, base: str) -> None:
    response = requests.post(
        f"{airbyte.url}{base}/applications/token",
        json={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant-type": "client_credentials",
        },
        timeout=5,
    )
    assert response.status_code == 200
    body = response.json()
    assert_public(body, "PublicAccessTokenResponse")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 180


def test_token_endpoint_takes_form_encoding(airbyte: AirbyteEmulator) -> None:
    response = requests.post(
        f"{airbyte.public_url}/applications/token",
        data={
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "grant_type": "client_credentials",
        },
        timeout=5,
    )
    assert response.status_code == 200
    assert_public(response.json(), "PublicAccessTokenResponse")


def test_token_endpoint_refuses_wrong_credentials(airbyte: AirbyteEmulator) -> None:
    wrong = requests.post(
        f"{airbyte.public_url}/applications/token",
        json={"client_id": CLIENT_ID, "client_secret": "not-it"},
        timeout=5,
    )
    assert wrong.status_code == 403
    assert_problem(wrong.json(), "ForbiddenProblemResponse", 403)
    missing = requests.post(
        f"{airbyte.public_url}/applications/token", json={"client_id": CLIENT_ID}, timeout=5
    )
    assert missing.status_code == 400
    assert_problem(missing.json(), "BadRequestProblemResponse", 400)


def test_requests_without_valid_credentials_answer_invalid_api_key(
    airbyte: AirbyteEmulator,
) -> None:
    url = f"{airbyte.public_url}/connections/{ICEBERG_CONNECTION_ID}"
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic eDp5"}):
        response = requests.get(url, headers=headers, timeout=5)
        assert response.status_code == 401
        assert response.headers["Content-Type"] == "application/problem+json"
        assert_problem(response.json(), "InvalidApiKeyProblemResponse", 401)


def test_static_token_and_basic_auth_are_accepted(airbyte: AirbyteEmulator) -> None:
    url = f"{airbyte.public_url}/connections/{ICEBERG_CONNECTION_ID}"
    bearer = requests.get(url, headers={"Authorization": f"Bearer {API_TOKEN}"}, timeout=5)
    assert bearer.status_code == 200
    basic = base64.b64encode(f"{BASIC_USERNAME}:{BASIC_PASSWORD}".encode()).decode()
    assert requests.get(url, headers={"Authorization": f"Basic {basic}"}, timeout=5).ok


def test_tokens_expire_on_the_emulator_clock(
    airbyte: AirbyteEmulator, manual_clock: ManualClock
) -> None:
    api = Api(airbyte)
    assert api.call("GET", f"/connections/{ICEBERG_CONNECTION_ID}").status_code == 200
    manual_clock.advance(179)
    assert api.call("GET", f"/connections/{ICEBERG_CONNECTION_ID}").status_code == 200
    manual_clock.advance(1)
    expired = api.call("GET", f"/connections/{ICEBERG_CONNECTION_ID}")
    assert expired.status_code == 401
    assert_problem(expired.json(), "InvalidApiKeyProblemResponse", 401)


def test_credentials_limited_to_a_workspace_get_forbidden_elsewhere(
    airbyte: AirbyteEmulator,
) -> None:
    other = airbyte.add_workspace(name="elsewhere")
    client_id, secret = airbyte.add_application(workspace_ids=[other])
    reply = requests.post(
        f"{airbyte.public_url}/applications/token",
        json={"client_id": client_id, "client_secret": secret},
        timeout=5,
    ).json()
    response = requests.get(
        f"{airbyte.public_url}/connections/{ICEBERG_CONNECTION_ID}",
        headers={"Authorization": f"Bearer {reply['access_token']}"},
        timeout=5,
    )
    assert response.status_code == 403
    assert_problem(response.json(), "ForbiddenProblemResponse", 403)


def test_health_needs_no_credentials(airbyte: AirbyteEmulator) -> None:
    for base in BASES:
        assert requests.get(f"{airbyte.url}{base}/health", timeout=5).status_code == 200


# --- resources --------------------------------------------------------------------------------


@pytest.mark.parametrize("base", BASES)
def test_connections_follow_the_spec(airbyte: AirbyteEmulator, base: str) -> None:
    api = Api(airbyte, base)
    listing = api.call("GET", "/connections", params={"workspaceIds": WORKSPACE_ID}).json()
    assert_public(listing, "ConnectionsResponse")
    assert {c["connectionId"] for c in listing["data"]} >= {ICEBERG_CONNECTION_ID}
    one = api.call("GET", f"/connections/{ICEBERG_CONNECTION_ID}").json()
    assert_public(one, "ConnectionResponse")
    assert one["status"] == "active"
    assert [s["name"] for s in one["configurations"]["streams"]] == ["users", "orders"]
    inactive = api.call("GET", f"/connections/{INACTIVE_CONNECTION_ID}").json()
    assert inactive["status"] == "inactive"


def test_listings_page_with_next_and_previous(airbyte: AirbyteEmulator, api: Api) -> None:
    first = api.call("GET", "/connections", params={"limit": 2}).json()
    assert_public(first, "ConnectionsResponse")
    assert len(first["data"]) == 2
    assert "previous" not in first
    second = requests.get(first["next"], headers=api.session.headers, timeout=5).json()
    assert_public(second, "ConnectionsResponse")
    assert len(second["data"]) == 1
    assert "next" not in second
    assert "limit=2&offset=0" in second["previous"]
    bad = api.call("GET", "/connections", params={"limit": 0})
    assert bad.status_code == 400
    assert_problem(bad.json(), "BadRequestProblemResponse", 400)


def test_destinations_follow_the_spec_and_mask_secrets(api: Api) -> None:
    iceberg = api.call("GET", f"/destinations/{ICEBERG_DESTINATION_ID}").json()
    assert_public(iceberg, "DestinationResponse")
    assert iceberg["destinationType"] == "s3-data-lake"
    config = iceberg["configuration"]
    assert config["access_key_id"] == "**********"
    assert config["secret_access_key"] == "**********"
    assert config["catalog_type"]["catalog_type"] == "REST"
    postgres = api.call("GET", f"/destinations/{POSTGRES_DESTINATION_ID}").json()
    assert postgres["configuration"]["password"] == "**********"
    listing = api.call("GET", "/destinations").json()
    assert_public(listing, "DestinationsResponse")
    assert "emulator-secret-key" not in json.dumps(listing)


def test_workspaces_follow_the_spec(api: Api) -> None:
    one = api.call("GET", f"/workspaces/{WORKSPACE_ID}").json()
    assert_public(one, "WorkspaceResponse")
    assert_public(api.call("GET", "/workspaces").json(), "WorkspacesResponse")


def test_unknown_and_malformed_ids(api: Api) -> None:
    missing = api.call("GET", "/connections/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert_problem(missing.json(), "ResourceNotFoundProblemResponse", 404)
    assert missing.json()["data"]["resourceId"] == "00000000-0000-4000-8000-000000000000"
    malformed = api.call("GET", "/destinations/not-a-uuid")
    assert malformed.status_code == 400
    assert_problem(malformed.json(), "BadRequestProblemResponse", 400)
    job = api.call("GET", "/jobs/999")
    assert job.status_code == 404
    assert_problem(job.json(), "ResourceNotFoundProblemResponse", 404)


# --- jobs -------------------------------------------------------------------------------------


def test_job_walks_the_real_status_sequence(airbyte: AirbyteEmulator, api: Api) -> None:
    created = api.call(
        "POST", "/jobs", json={"connectionId": ICEBERG_CONNECTION_ID, "jobType": "sync"}
    )
    assert created.status_code == 200
    job = created.json()
    assert_public(job, "JobResponse")
    assert job["status"] == "pending"
    assert "lastUpdatedAt" not in job
    seen = [job["status"]]
    while seen[-1] not in ("succeeded", "failed", "cancelled"):
        body = api.call("GET", f"/jobs/{job['jobId']}").json()
        assert_public(body, "JobResponse")
        if body["status"] in ("pending", "queued", "running", "incomplete"):
            assert "lastUpdatedAt" not in body
            assert "rowsSynced" not in body
        seen.append(body["status"])
    assert seen == ["pending", "queued", "running", "incomplete", "running", "succeeded"]
    assert body["rowsSynced"] == 1000
    assert body["bytesSynced"] == 128000
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["lastUpdatedAt"])
    assert re.fullmatch(r"PT(\d+H)?(\d+M)?(\d+S)?", body["duration"])


def test_second_sync_and_cancelling_a_finished_job_answer_409(
    airbyte: AirbyteEmulator, api: Api
) -> None:
    body = {"connectionId": ICEBERG_CONNECTION_ID, "jobType": "sync"}
    job = api.call("POST", "/jobs", json=body).json()
    conflict = api.call("POST", "/jobs", json=body)
    assert conflict.status_code == 409
    assert_problem(conflict.json(), "StateConflictProblemResponse", 409)
    assert ICEBERG_CONNECTION_ID in conflict.json()["detail"]
    cancelled = api.call("DELETE", f"/jobs/{job['jobId']}")
    assert cancelled.status_code == 200
    assert_public(cancelled.json(), "JobResponse")
    assert cancelled.json()["status"] == "cancelled"
    assert "lastUpdatedAt" in cancelled.json()
    again = api.call("DELETE", f"/jobs/{job['jobId']}")
    assert again.status_code == 409
    assert_problem(again.json(), "StateConflictProblemResponse", 409)
    assert api.call("POST", "/jobs", json=body).status_code == 200  # nothing runs any more


def test_job_creation_is_validated(airbyte: AirbyteEmulator, api: Api) -> None:
    bad_type = api.call(
        "POST", "/jobs", json={"connectionId": ICEBERG_CONNECTION_ID, "jobType": "x"}
    )
    assert bad_type.status_code == 400
    assert_problem(bad_type.json(), "UnknownValueProblemResponse", 400)
    missing = api.call("POST", "/jobs", json={"jobType": "sync"})
    assert_problem(missing.json(), "BadRequestProblemResponse", 400)
    unknown = api.call(
        "POST",
        "/jobs",
        json={"connectionId": "00000000-0000-4000-8000-000000000000", "jobType": "sync"},
    )
    assert_problem(unknown.json(), "ResourceNotFoundProblemResponse", 404)
    airbyte.set_connection_status(ICEBERG_CONNECTION_ID, "locked", "billing")
    locked = api.call(
        "POST", "/jobs", json={"connectionId": ICEBERG_CONNECTION_ID, "jobType": "sync"}
    )
    assert_problem(locked.json(), "ConnectionLockedProblemResponse", 409)
    assert locked.json()["data"] == {
        "connectionId": ICEBERG_CONNECTION_ID,
        "statusReason": "billing",
    }


def test_jobs_listing_filters_and_orders(airbyte: AirbyteEmulator, api: Api) -> None:
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan(statuses=()), JobPlan(statuses=()))
    first = airbyte.start_job(ICEBERG_CONNECTION_ID)
    second = airbyte.start_job(ICEBERG_CONNECTION_ID)
    running = airbyte.start_job(ICEBERG_CONNECTION_ID)
    listing = api.call(
        "GET",
        "/jobs",
        params={
            "connectionId": ICEBERG_CONNECTION_ID,
            "orderBy": "createdAt|DESC",
            "jobType": "sync",
        },
    ).json()
    assert_public(listing, "JobsResponse")
    assert [job["jobId"] for job in listing["data"]] == [running, second, first]
    pending = api.call("GET", "/jobs", params={"status": "pending"}).json()["data"]
    assert [job["jobId"] for job in pending] == [running]
    succeeded = api.call("GET", "/jobs", params={"status": "succeeded", "orderBy": "createdAt|ASC"})
    assert [job["jobId"] for job in succeeded.json()["data"]] == [first, second]
    bad = api.call("GET", "/jobs", params={"status": "done"})
    assert_problem(bad.json(), "UnknownValueProblemResponse", 400)


def test_config_api_job_info_follows_config_api_yaml(airbyte: AirbyteEmulator, api: Api) -> None:
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.partial(rows=600, rows_rejected=400))
    job = api.call(
        "POST", "/jobs", json={"connectionId": ICEBERG_CONNECTION_ID, "jobType": "sync"}
    ).json()
    headers = api.session.headers
    info_url = f"{airbyte.config_url}/jobs/get"
    early = requests.post(info_url, json={"id": job["jobId"]}, headers=headers, timeout=5).json()
    config_api().validate(early, "JobInfoRead")
    assert early["attempts"] == []
    while api.call("GET", f"/jobs/{job['jobId']}").json()["status"] != "failed":
        pass
    info = requests.post(info_url, json={"id": job["jobId"]}, headers=headers, timeout=5).json()
    config_api().validate(info, "JobInfoRead")
    assert not config_api().extra_fields(info, "JobInfoRead")
    attempts = [item["attempt"] for item in info["attempts"]]
    assert [a["status"] for a in attempts] == ["failed", "failed"]  # incomplete, then the end
    assert attempts[0]["failureSummary"]["failures"][0]["failureType"] == "transient_error"
    last = attempts[-1]["failureSummary"]
    assert last["partialSuccess"] is True
    assert last["failures"][0]["failureOrigin"] == "destination"
    assert info["job"]["aggregatedStats"]["recordsCommitted"] == 200
    assert info["job"]["aggregatedStats"]["recordsRejected"] == 400
    assert {s["streamName"] for s in info["job"]["streamAggregatedStats"]} == {"users", "orders"}
    missing = requests.post(info_url, json={"id": 4242}, headers=headers, timeout=5)
    assert missing.status_code == 404
    config_api().validate(missing.json(), "NotFoundKnownExceptionInfo")
    invalid = requests.post(info_url, json={"id": "x"}, headers=headers, timeout=5)
    assert invalid.status_code == 422
    config_api().validate(invalid.json(), "InvalidInputExceptionInfo")
    assert requests.post(info_url, json={"id": job["jobId"]}, timeout=5).status_code == 401


@pytest.mark.parametrize(
    ("failure", "failure_type", "origin"),
    [
        (FailureSpec.auth(), "config_error", "source"),
        (FailureSpec.rate_limit(), "transient_error", "source"),
        (FailureSpec.config("destination"), "config_error", "destination"),
        (FailureSpec.destination_timeout(), "destination_timeout", "destination"),
    ],
)
def test_failed_jobs_carry_their_failure_reason(
    airbyte: AirbyteEmulator, api: Api, failure: FailureSpec, failure_type: str, origin: str
) -> None:
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.failed(failure, statuses=("running",)))
    job = api.call(
        "POST", "/jobs", json={"connectionId": ICEBERG_CONNECTION_ID, "jobType": "sync"}
    ).json()
    final = api.call("GET", f"/jobs/{job['jobId']}").json()
    assert final["status"] == "failed"
    assert final["rowsSynced"] == 0
    info = requests.post(
        f"{airbyte.config_url}/jobs/get",
        json={"id": job["jobId"]},
        headers=api.session.headers,
        timeout=5,
    ).json()
    config_api().validate(info, "JobInfoRead")
    reason = info["attempts"][-1]["attempt"]["failureSummary"]["failures"][0]
    assert (reason["failureType"], reason["failureOrigin"]) == (failure_type, origin)


def test_clock_mode_moves_jobs_with_time(manual_clock: ManualClock) -> None:
    with AirbyteEmulator(clock=manual_clock, step_seconds=30) as airbyte:
        api = Api(airbyte)
        job = api.call(
            "POST", "/jobs", json={"connectionId": ICEBERG_CONNECTION_ID, "jobType": "sync"}
        ).json()
        statuses = []
        for _ in range(6):
            statuses.append(api.call("GET", f"/jobs/{job['jobId']}").json()["status"])
            statuses.append(api.call("GET", f"/jobs/{job['jobId']}").json()["status"])
            manual_clock.advance(30)
        assert statuses == [
            "pending",
            "pending",
            "queued",
            "queued",
            "running",
            "running",
            "incomplete",
            "incomplete",
            "running",
            "running",
            "succeeded",
            "succeeded",
        ]
        final = airbyte.job(job["jobId"])
        assert final["duration"] == "PT2M30S"


# --- faults -----------------------------------------------------------------------------------


def test_rate_limit_fault_sends_retry_after(airbyte: AirbyteEmulator, api: Api) -> None:
    airbyte.add_fault(Fault.rate_limit("GET /connections/{connectionId}", retry_after=7, times=2))
    path = f"/connections/{ICEBERG_CONNECTION_ID}"
    for _ in range(2):
        limited = api.call("GET", path)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "7"
        assert limited.json()["type"] == "about:blank"
    assert api.call("GET", path).status_code == 200


def test_server_error_burst_and_disconnect(airbyte: AirbyteEmulator, api: Api) -> None:
    airbyte.add_fault(Fault.server_errors("GET /jobs", status=503, times=2))
    assert api.call("GET", "/jobs").status_code == 503
    unavailable = api.call("GET", "/jobs")
    assert_problem(unavailable.json(), "ServiceUnavailableProblemResponse", 503)
    assert api.call("GET", "/jobs").status_code == 200
    airbyte.add_fault(Fault.disconnects("GET /jobs"))
    with pytest.raises(requests.ConnectionError):
        api.call("GET", "/jobs")


def test_slow_post_still_creates_the_job(airbyte: AirbyteEmulator, api: Api) -> None:
    airbyte.add_fault(Fault.slow("POST /jobs", delay=0.5))
    with pytest.raises(requests.ReadTimeout):
        api.session.post(
            f"{api.base_url}/jobs",
            json={"connectionId": ICEBERG_CONNECTION_ID, "jobType": "sync"},
            timeout=0.1,
        )
    assert [job["status"] for job in airbyte.jobs(ICEBERG_CONNECTION_ID)] == ["pending"]


def test_token_expiry_fault(airbyte: AirbyteEmulator, api: Api) -> None:
    airbyte.add_fault(Fault.token_expiry("GET /jobs", skip=1))
    assert api.call("GET", "/jobs").status_code == 200
    assert api.call("GET", "/jobs").status_code == 401


def test_control_api_and_request_log(airbyte: AirbyteEmulator, api: Api) -> None:
    control = f"{airbyte.url}/_emulator"
    plan = {"final": "failed", "statuses": [], "failure": {"preset": "rate_limit"}}
    assert requests.post(f"{control}/plans/{ICEBERG_CONNECTION_ID}", json=plan, timeout=5).ok
    fault = {"route": "GET /jobs", "status": 502, "times": 1}
    assert requests.post(f"{control}/faults", json=fault, timeout=5).json()["status"] == 502
    assert api.call("GET", "/jobs").status_code == 502
    job = api.call(
        "POST", "/jobs", json={"connectionId": ICEBERG_CONNECTION_ID, "jobType": "sync"}
    ).json()
    assert job["status"] == "failed"
    log = requests.get(f"{control}/requests", timeout=5).json()["requests"]
    assert [item["route"] for item in log][-2:] == ["GET /jobs", "POST /jobs"]
    assert all("Bearer" not in json.dumps(item) for item in log)
    bad = requests.post(f"{control}/faults", json={"route": "jobs"}, timeout=5)
    assert bad.status_code == 400


def test_unknown_routes_and_methods(airbyte: AirbyteEmulator, api: Api) -> None:
    assert api.call("GET", "/sources").status_code == 404
    not_allowed = api.call("PUT", "/jobs")
    assert not_allowed.status_code == 405
    assert requests.get(f"{airbyte.url}/elsewhere", timeout=5).status_code == 404


def test_concurrent_clients_start_one_job(airbyte: AirbyteEmulator) -> None:
    apis = [Api(airbyte) for _ in range(6)]
    statuses: list[int] = []
    lock = threading.Lock()

    def start(api: Api) -> None:
        status = api.call(
            "POST", "/jobs", json={"connectionId": ICEBERG_CONNECTION_ID, "jobType": "sync"}
        ).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=start, args=(api,)) for api in apis]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200, 409, 409, 409, 409, 409]
    assert len(airbyte.jobs(ICEBERG_CONNECTION_ID)) == 1


# --- seeds and the command --------------------------------------------------------------------


def test_seed_file_and_command(tmp_path: Any) -> None:
    seed = tmp_path / "seed.yaml"
    seed.write_text(
        """
applications: [{client_id: my-app, client_secret: my-secret}]
workspaces: [{workspaceId: 11111111-1111-4111-8111-111111111111, name: team}]
destinations:
  - destinationId: 22222222-2222-4222-8222-222222222222
    name: lake
    destinationType: s3-data-lake
    configuration: {catalog_type: {catalog_type: GLUE, glue_id: "123", database_name: raw}}
connections:
  - connectionId: 33333333-3333-4333-8333-333333333333
    name: crm
    destinationId: 22222222-2222-4222-8222-222222222222
    streams: [contacts]
plans:
  33333333-3333-4333-8333-333333333333: [{statuses: [], rows: 5}]
""",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "floe_ingestion_airbyte.testing",
            "--port",
            "0",
            "--seed",
            str(seed),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:(\d+)", first)
        assert match, first
        base = f"{match.group(0)}/api/public/v1"
        access = requests.post(
            f"{base}/applications/token",
            json={"client_id": "my-app", "client_secret": "my-secret"},
            timeout=5,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {access}"}
        connection = requests.get(
            f"{base}/connections/33333333-3333-4333-8333-333333333333", headers=headers, timeout=5
        ).json()
        assert_public(connection, "ConnectionResponse")
        job = requests.post(
            f"{base}/jobs",
            json={"connectionId": connection["connectionId"], "jobType": "sync"},
            headers=headers,
            timeout=5,
        ).json()
        assert (job["status"], job["rowsSynced"]) == ("succeeded", 5)
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert process.returncode == 0


def test_empty_seed_and_bad_seed() -> None:
    with AirbyteEmulator({}) as airbyte:
        assert airbyte.state.connections == {}
    with pytest.raises(ValueError, match="unknown seed keys"):
        AirbyteEmulator({"connectionz": []})


def test_jobs_listing_date_filters(airbyte: AirbyteEmulator, manual_clock: ManualClock) -> None:
    airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan(statuses=()))
    early = airbyte.start_job(ICEBERG_CONNECTION_ID)
    manual_clock.advance(3600)
    late = airbyte.start_job(ICEBERG_CONNECTION_ID)
    api = Api(airbyte)  # a fresh token: an hour went by
    middle = int((manual_clock() - 1800) * 1000)
    after = api.call("GET", "/jobs", params={"createdAtStart": str(middle)}).json()["data"]
    assert [job["jobId"] for job in after] == [late]
    iso = datetime.fromtimestamp(middle / 1000, UTC).isoformat().replace("+00:00", "Z")
    before = api.call("GET", "/jobs", params={"createdAtEnd": iso}).json()["data"]
    assert [job["jobId"] for job in before] == [early]
    bad = api.call("GET", "/jobs", params={"updatedAtStart": "yesterday"})
    assert_problem(bad.json(), "BadRequestProblemResponse", 400)
