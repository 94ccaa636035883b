"""The ingestion contract at the import path the ADR gives (``floe_core.interfaces.ingestion``).

Everything here is defined in its own module and re-exported for plugin authors::

    from floe_core.interfaces.ingestion import IngestionPlugin, IngestionConfig, IngestionResult
"""

from __future__ import annotations

from floe_core.config import IncrementalConfig, IngestionConfig, WriteDisposition
from floe_core.errors import (
    ConfigurationError,
    ErrorCategory,
    ErrorCode,
    IngestionError,
    IngestionException,
    PartialError,
    PermanentError,
    TransientError,
)
from floe_core.plugin import FLOE_API_VERSION, IngestionPlugin, PluginContext
from floe_core.result import IngestionResult, SchemaField, TableOutput

__all__ = [
    "FLOE_API_VERSION",
    "ConfigurationError",
    "ErrorCategory",
    "ErrorCode",
    "IncrementalConfig",
    "IngestionConfig",
    "IngestionError",
    "IngestionException",
    "IngestionPlugin",
    "IngestionResult",
    "PartialError",
    "PermanentError",
    "PluginContext",
    "SchemaField",
    "TableOutput",
    "TransientError",
    "WriteDisposition",
]
