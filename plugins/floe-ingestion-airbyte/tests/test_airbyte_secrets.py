"""No credential ever leaves the plugin: results, errors, handles, logs, the emulator's log."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from airbyte_helpers import make_plugin_context, pipeline
from floe_core.errors import IngestionException
from floe_core.runner import IngestionRunner
from floe_core.secrets import MASK

from floe_ingestion_airbyte.plugin import AirbyteIngestionPlugin
from floe_ingestion_airbyte.testing import (
    ICEBERG_CONNECTION_ID,
    INACTIVE_CONNECTION_ID,
    POSTGRES_CONNECTION_ID,
    AirbyteEmulator,
    FailureSpec,
    Fault,
    JobPlan,
    ManualClock,
)

CANARY_SECRET = "canary-7f3c9d2e-client-secret"
CANARY_TOKEN = "canary-51b0aa7c-static-token"
CANARY_PASSWORD = "canary-e2d94b18-password"
CANARY_CLIENT = "canary-app"


@pytest.fixture
def canary_airbyte(manual_clock: ManualClock) -> Iterator[AirbyteEmulator]:
    with AirbyteEmulator(clock=manual_clock) as airbyte:
        airbyte.add_application(CANARY_CLIENT, CANARY_SECRET)
        airbyte.add_api_token(CANARY_TOKEN)
        airbyte.add_basic_user("canary-user", CANARY_PASSWORD)
        yield airbyte


def _everything(airbyte: AirbyteEmulator, outputs: list[Any], caplog: Any) -> str:
    text = [json.dumps(output, default=repr) for output in outputs]
    text.append(caplog.text)
    text.extend(json.dumps(item.to_dict()) for item in airbyte.requests)
    return "\n".join(text)


def _assert_clean(airbyte: AirbyteEmulator, blob: str) -> None:
    for canary in (CANARY_SECRET, CANARY_TOKEN, CANARY_PASSWORD):
        assert canary not in blob
    for token in airbyte.state.tokens:  # every access token the plugin was given
        assert token not in blob


@pytest.mark.parametrize(
    "auth",
    [
        {"client_id": CANARY_CLIENT, "secret": CANARY_SECRET},
        {"auth": "bearer", "client_id": None, "secret": CANARY_TOKEN},
        {"username": "canary-user", "client_id": None, "secret": CANARY_PASSWORD},
    ],
    ids=["client-credentials", "bearer", "basic"],
)
def test_no_secret_in_any_output(
    canary_airbyte: AirbyteEmulator,
    manual_clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    auth: dict[str, Any],
) -> None:
    caplog.set_level(logging.DEBUG)
    airbyte = canary_airbyte
    settings = dict(auth)
    secret = settings.pop("secret")
    context = make_plugin_context(airbyte, secret=secret, **settings)
    plugin = AirbyteIngestionPlugin(context, sleep=manual_clock.sleep, clock=manual_clock)
    outputs: list[Any] = []

    airbyte.plan_jobs(
        ICEBERG_CONNECTION_ID,
        JobPlan.succeeded(),
        JobPlan.failed(FailureSpec.auth()),
        JobPlan.partial(),
        JobPlan.failed(FailureSpec.rate_limit()),
    )
    config = pipeline()
    handle = plugin.create_pipeline(config)
    outputs.append(handle.to_dict())
    outputs.append(repr(plugin))
    outputs.append(repr(plugin.client))
    for _ in range(4):
        outputs.append(plugin.run(handle).to_dict())
    airbyte.add_fault(Fault.token_expiry("GET /jobs/{jobId}", skip=1))
    airbyte.add_fault(Fault.rate_limit("GET /jobs/{jobId}", retry_after=900, skip=3))
    outputs.append(plugin.run(handle).to_dict())
    runner = IngestionRunner(plugin, sleep=manual_clock.sleep, clock=manual_clock)
    outputs.append(runner.run(config).to_dict())
    for connection in (INACTIVE_CONNECTION_ID, POSTGRES_CONNECTION_ID, "bad"):
        with pytest.raises(IngestionException) as raised:
            plugin.create_pipeline(pipeline(connection))
        outputs.extend([str(raised.value), repr(raised.value), raised.value.error.to_dict()])
    outputs.append(plugin.validate_pipeline(pipeline(POSTGRES_CONNECTION_ID)))
    outputs.append(runner.run(pipeline(POSTGRES_CONNECTION_ID)).to_dict())
    catalog = {"type": "rest", "uri": "http://cat", "warehouse": "s3://lake/wh"}
    outputs.append(plugin.get_destination_config(catalog))

    blob = _everything(airbyte, outputs, caplog)
    assert "job 1" in blob  # the outputs are really there
    _assert_clean(airbyte, blob)


def test_refused_credentials_do_not_leak(
    canary_airbyte: AirbyteEmulator, manual_clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    context = make_plugin_context(
        canary_airbyte, secret=CANARY_SECRET + "-wrong", client_id=CANARY_CLIENT
    )
    plugin = AirbyteIngestionPlugin(context, sleep=manual_clock.sleep, clock=manual_clock)
    result = IngestionRunner(plugin, sleep=manual_clock.sleep, clock=manual_clock).run(pipeline())
    assert result.error is not None
    assert result.error.code.value == "AUTH_FAILED"
    _assert_clean(canary_airbyte, _everything(canary_airbyte, [result.to_dict()], caplog))


def test_access_tokens_are_registered_with_the_redactor(
    canary_airbyte: AirbyteEmulator, manual_clock: ManualClock
) -> None:
    context = make_plugin_context(canary_airbyte, secret=CANARY_SECRET, client_id=CANARY_CLIENT)
    plugin = AirbyteIngestionPlugin(context, sleep=manual_clock.sleep, clock=manual_clock)
    plugin.create_pipeline(pipeline())
    (token,) = canary_airbyte.state.tokens
    redactor = context.secrets.redactor
    assert redactor.redact(f"Bearer {token}") == f"Bearer {MASK}"
    assert redactor.redact(CANARY_SECRET) == MASK


def test_an_echoed_credential_is_redacted_from_the_result(
    canary_airbyte: AirbyteEmulator, manual_clock: ManualClock
) -> None:
    """Even if Airbyte quoted a credential in a failure message, the result masks it."""
    context = make_plugin_context(canary_airbyte, secret=CANARY_SECRET, client_id=CANARY_CLIENT)
    plugin = AirbyteIngestionPlugin(context, sleep=manual_clock.sleep, clock=manual_clock)
    failure = FailureSpec("config_error", "source", f"bad secret {CANARY_SECRET} given", False)
    canary_airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.failed(failure))
    result = plugin.run(plugin.create_pipeline(pipeline()))
    assert result.error is not None
    assert MASK in result.error.message
    assert CANARY_SECRET not in json.dumps(result.to_dict())
