"""The plugin's settings: the manifest's ``plugins.ingestion.config`` block and the pipeline's
``airbyte:`` block of ``floe.yaml``.

Platform manifest (values are plain settings or secret *references*, never secrets)::

    plugins:
      ingestion:
        type: airbyte
        config:
          workspace_url: https://airbyte.example.com   # self-managed host (or api_url)
          workspace_id: 5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6
          client_id: 1b0a4e0c-...                        # client credentials (or username)
          connection_secret_ref: airbyte-client-secret  # secret reference
          poll_interval_seconds: 10
          timeout_seconds: 21600

* ``api_url`` is the public API's base URL as is (Cloud: ``https://api.airbyte.com/v1``;
  self-managed: ``https://host/api/public/v1``). ``workspace_url`` may be the host only:
  ``/api/public/v1`` is then appended. Give one of them.
* ``auth`` is ``client_credentials`` (needs ``client_id``), ``bearer`` (a static token) or
  ``basic`` (needs ``username``); left out, it follows from which of ``client_id`` /
  ``username`` is set, else ``bearer``. ``connection_secret_ref`` names the secret: the client
  secret, the token or the password.
* ``destination`` describes the Iceberg destination floe expects Airbyte to write to, where
  it cannot be derived from the manifest's ``catalog:`` block (see
  :mod:`floe_ingestion_airbyte.destination`).

Pipeline (``floe.yaml``)::

    ingestion:
      - name: salesforce_sync
        plugin: airbyte
        source: airbyte-connection          # or the connection id itself
        destination_table: bronze.salesforce_accounts
        airbyte:
          connection_id: 9924bcd0-99be-453d-ba47-c2c9766f7da5
          timeout_seconds: 7200             # optional per-pipeline overrides

A pipeline's ``secret_refs`` may hold ``connection_secret``: the reference of another Airbyte
credential for that pipeline (same ``auth`` method). Unknown keys are errors that name the key
and where it was found.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from floe_core.errors import ConfigurationError, ErrorCode
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from floe_ingestion_airbyte.client import public_api_url

__all__ = [
    "AirbyteSettings",
    "DestinationSettings",
    "PipelineOptions",
    "parse_options",
    "parse_settings",
]

SETTINGS_LOCATION = (
    "the airbyte plugin's settings in platform-manifest.yaml (plugins.ingestion.config, or "
    "plugins.ingestion.additional.airbyte.config)"
)


class DestinationSettings(BaseModel):
    """What floe expects of the Airbyte S3 Data Lake destination, beyond the catalog block."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    catalog_type: Literal["REST", "GLUE", "NESSIE", "POLARIS"] | None = Field(
        default=None, description="Default: REST for a rest catalog, GLUE for glue."
    )
    warehouse_location: str | None = None
    s3_bucket_name: str | None = None
    s3_bucket_region: str | None = None
    s3_endpoint: str | None = None
    main_branch_name: str = "main"
    namespace: str | None = Field(default=None, description="Default namespace / database.")
    glue_id: str | None = None
    role_arn: str | None = None
    catalog_name: str | None = Field(default=None, description="Polaris catalog name.")
    access_key_id_ref: str | None = None
    secret_access_key_ref: str | None = None
    client_id_ref: str | None = Field(default=None, description="Polaris OAuth client id.")
    client_secret_ref: str | None = Field(default=None, description="Polaris client secret.")
    access_token_ref: str | None = Field(default=None, description="Nessie access token.")


class AirbyteSettings(BaseModel):
    """The validated ``plugins.ingestion.config`` block."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    api_url: str | None = None
    workspace_url: str | None = None
    workspace_id: str | None = None
    auth: Literal["client_credentials", "bearer", "basic"] | None = None
    client_id: str | None = None
    username: str | None = None
    connection_secret_ref: str | None = None
    config_api_url: str | None = None
    fetch_job_details: bool = True
    poll_interval_seconds: float = Field(default=10.0, gt=0)
    timeout_seconds: float = Field(default=24 * 3600.0, gt=0)
    connect_timeout_seconds: float = Field(default=10.0, gt=0)
    request_timeout_seconds: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=4, ge=0, le=20)
    max_retry_after_seconds: float = Field(default=60.0, ge=0)
    destination: DestinationSettings = Field(default_factory=DestinationSettings)

    @model_validator(mode="after")
    def _check(self) -> AirbyteSettings:
        if self.api_url and self.workspace_url:
            raise ValueError("give api_url or workspace_url, not both")
        if not (self.api_url or self.workspace_url):
            raise ValueError(
                "workspace_url (the Airbyte host) or api_url (the public API base URL, "
                "e.g. https://api.airbyte.com/v1) is required"
            )
        public_api_url(self.base_url)  # raises ValueError for a malformed URL
        auth = self.auth_method
        if auth == "client_credentials" and not self.client_id:
            raise ValueError("auth client_credentials needs client_id")
        if auth == "basic" and not self.username:
            raise ValueError("auth basic needs username")
        if not self.connection_secret_ref:
            raise ValueError(
                "connection_secret_ref is required: the secret reference of the client "
                "secret, API token or password"
            )
        return self

    @property
    def base_url(self) -> str:
        return str(self.api_url or self.workspace_url)

    @property
    def public_url(self) -> str:
        return public_api_url(self.base_url)

    @property
    def auth_method(self) -> Literal["client_credentials", "bearer", "basic"]:
        if self.auth is not None:
            return self.auth
        if self.client_id:
            return "client_credentials"
        if self.username:
            return "basic"
        return "bearer"


class PipelineOptions(BaseModel):
    """The pipeline's ``airbyte:`` block in ``floe.yaml`` (``IngestionConfig.options``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    connection_id: str | None = None
    poll_interval_seconds: float | None = Field(default=None, gt=0)
    timeout_seconds: float | None = Field(default=None, gt=0)


def parse_settings(raw: Mapping[str, Any]) -> AirbyteSettings:
    """Validate the manifest block; ConfigurationError(INVALID_CONFIG) says which key is wrong."""
    try:
        return AirbyteSettings.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigurationError(
            ErrorCode.INVALID_CONFIG,
            f"{SETTINGS_LOCATION} is invalid for the airbyte plugin: {_explain(exc)}",
            source="airbyte",
            details={"location": SETTINGS_LOCATION},
        ) from None


def parse_options(raw: Mapping[str, Any], *, pipeline: str) -> PipelineOptions:
    """Validate a pipeline's ``airbyte:`` block."""
    where = f"floe.yaml ingestion pipeline {pipeline!r}, airbyte block"
    try:
        return PipelineOptions.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigurationError(
            ErrorCode.INVALID_CONFIG,
            f"{where} is invalid: {_explain(exc)}",
            source="airbyte",
            details={"pipeline": pipeline},
        ) from None


def _explain(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"]) or "(block)"
        if error["type"] == "extra_forbidden":
            problems.append(f"unknown key {key!r}")
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            problems.append(f"{key}: {message}")
    return "; ".join(problems)
