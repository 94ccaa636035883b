"""Secret references: resolution order, masking, redaction."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path

import pytest

from floe_core.errors import ConfigurationError
from floe_core.secrets import MASK, RedactingFilter, Redactor, Secret, SecretResolver, env_var_name

CANARY = "canary-s3cr3t-value-0042"


def test_env_var_name() -> None:
    assert env_var_name("github-api-token") == "GITHUB_API_TOKEN"
    assert env_var_name("pg/password") == "PG_PASSWORD"


def test_environment_wins_over_secrets_directory(tmp_path: Path) -> None:
    (tmp_path / "api-token").write_text("from-file\n")
    resolver = SecretResolver(environ={"API_TOKEN": "from-env"}, secrets_dir=tmp_path)
    assert resolver.resolve("api-token").reveal() == "from-env"
    assert SecretResolver(environ={}, secrets_dir=tmp_path).resolve("api-token").reveal() == (
        "from-file"
    )


def test_kubernetes_layout_secret_and_key(tmp_path: Path) -> None:
    (tmp_path / "postgres").mkdir()
    (tmp_path / "postgres" / "password").write_text("pw-value")
    resolver = SecretResolver(environ={"FLOE_SECRETS_DIR": str(tmp_path)})
    assert resolver.resolve("postgres/password").reveal() == "pw-value"


@pytest.mark.parametrize("value", [None, "", "  \n"])
def test_missing_or_empty_secret_is_configuration_error_naming_the_reference(
    tmp_path: Path, value: str | None
) -> None:
    environ = {} if value is None else {"GITHUB_API_TOKEN": value}
    resolver = SecretResolver(environ=environ, secrets_dir=tmp_path)
    with pytest.raises(ConfigurationError) as caught:
        resolver.resolve("github-api-token", purpose="access_token")
    error = caught.value.error
    assert error.code == "SECRET_MISSING"
    assert error.category == "CONFIGURATION"
    assert "'github-api-token'" in error.message
    assert "GITHUB_API_TOKEN" in error.message
    assert str(tmp_path / "github-api-token") in error.message


def test_resolve_all_reports_every_missing_reference() -> None:
    resolver = SecretResolver(environ={"A_REF": "value-a"})
    with pytest.raises(ConfigurationError) as caught:
        resolver.resolve_all({"a": "a-ref", "b": "b-ref", "c": "c-ref"})
    assert "'b-ref'" in caught.value.error.message
    assert "'c-ref'" in caught.value.error.message
    assert "value-a" not in caught.value.error.message


def test_secret_never_shows_itself() -> None:
    secret = Secret(CANARY, "canary")
    shown = (repr(secret), str(secret), f"{secret}", f"{secret!r}", "{}".format(secret))  # noqa: UP032
    for text in shown:
        assert CANARY not in text
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(secret)


def test_redactor_masks_resolved_values_in_text_and_data() -> None:
    resolver = SecretResolver(environ={"TOKEN": CANARY})
    resolver.resolve("token")
    redactor = resolver.redactor
    assert redactor.redact(f"auth failed for {CANARY}!") == f"auth failed for {MASK}!"
    data = {"url": f"https://x?t={CANARY}", "nested": [CANARY, ("a", CANARY)]}
    assert CANARY not in repr(redactor.redact_data(data))


def test_redacting_filter_scrubs_messages_args_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("floe.test.redaction")
    redactor = Redactor([CANARY])
    log.addFilter(RedactingFilter(redactor))
    try:
        with caplog.at_level(logging.INFO, logger="floe.test.redaction"):
            log.info("token is %s", CANARY)
            try:
                raise RuntimeError(f"bad token {CANARY}")
            except RuntimeError:
                log.exception("failed")
    finally:
        log.filters.clear()
    assert CANARY not in caplog.text
    assert MASK in caplog.text
