"""Helpers shared by the Airbyte plugin's tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from floe_core.config import IngestionConfig
from floe_core.plugin import PluginContext
from floe_core.secrets import SecretResolver

from floe_ingestion_airbyte.plugin import AirbyteIngestionPlugin
from floe_ingestion_airbyte.testing import (
    CLIENT_ID,
    CLIENT_SECRET,
    ICEBERG_CONNECTION_ID,
    WORKSPACE_ID,
    AirbyteEmulator,
)

SECRET_REF = "airbyte-client-secret"
SECRET_ENV = "AIRBYTE_CLIENT_SECRET"


def pipeline(connection_id: str = ICEBERG_CONNECTION_ID, **kwargs: Any) -> IngestionConfig:
    """An Airbyte pipeline config for ``connection_id``."""
    values: dict[str, Any] = {
        "name": "orders_sync",
        "source": "airbyte-connection",
        "destination_table": "bronze.orders",
        "plugin": "airbyte",
        "options": {"connection_id": connection_id},
    }
    values.update(kwargs)
    return IngestionConfig(**values)


PluginFactory = Callable[..., AirbyteIngestionPlugin]


def make_plugin_context(
    airbyte: AirbyteEmulator,
    *,
    secret: str = CLIENT_SECRET,
    catalog: Any = None,
    **settings: Any,
) -> PluginContext:
    """A context whose settings point at the emulator (``None`` values drop a setting)."""
    values: dict[str, Any] = {
        "workspace_url": airbyte.url,
        "workspace_id": WORKSPACE_ID,
        "client_id": CLIENT_ID,
        "connection_secret_ref": SECRET_REF,
        "poll_interval_seconds": 10,
    }
    values.update(settings)
    context = PluginContext(
        settings={key: value for key, value in values.items() if value is not None},
        secrets=SecretResolver(environ={SECRET_ENV: secret}),
    )
    if catalog is not None:
        context.catalog_config = catalog
    return context
