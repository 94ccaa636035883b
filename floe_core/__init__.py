"""floe ingestion core: get data from external sources into Apache Iceberg tables, through plugins.

The public API, importable from ``floe_core`` (loaded on first use, so ``import floe_core``
stays light and never imports dlt, dagster or pyiceberg):

Contract (``floe_core.interfaces.ingestion``)
    IngestionPlugin, IngestionConfig, IncrementalConfig, WriteDisposition, IngestionResult,
    TableOutput, SchemaField, PluginContext, FLOE_API_VERSION
Error taxonomy
    IngestionError, ErrorCategory, ErrorCode, IngestionException, TransientError,
    PermanentError, PartialError, ConfigurationError, classify_exception
Running
    PluginRegistry, IngestionRunner, RetryPolicy, LineageEmitter, IngestionMetrics
Catalog and secrets
    CatalogConfig, load_catalog, Secret, SecretResolver
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from floe_core._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    "IngestionPlugin": "floe_core.plugin",
    "PluginContext": "floe_core.plugin",
    "FLOE_API_VERSION": "floe_core.plugin",
    "IngestionConfig": "floe_core.config",
    "IncrementalConfig": "floe_core.config",
    "WriteDisposition": "floe_core.config",
    "IngestionResult": "floe_core.result",
    "TableOutput": "floe_core.result",
    "SchemaField": "floe_core.result",
    "IngestionError": "floe_core.errors",
    "ErrorCategory": "floe_core.errors",
    "ErrorCode": "floe_core.errors",
    "IngestionException": "floe_core.errors",
    "TransientError": "floe_core.errors",
    "PermanentError": "floe_core.errors",
    "PartialError": "floe_core.errors",
    "ConfigurationError": "floe_core.errors",
    "classify_exception": "floe_core.errors",
    "PluginRegistry": "floe_core.registry",
    "IngestionRunner": "floe_core.runner",
    "RetryPolicy": "floe_core.retry",
    "LineageEmitter": "floe_core.lineage",
    "IngestionMetrics": "floe_core.metrics",
    "CatalogConfig": "floe_core.catalog",
    "load_catalog": "floe_core.catalog",
    "Secret": "floe_core.secrets",
    "SecretResolver": "floe_core.secrets",
}

__all__ = [
    "FLOE_API_VERSION",
    "CatalogConfig",
    "ConfigurationError",
    "ErrorCategory",
    "ErrorCode",
    "IncrementalConfig",
    "IngestionConfig",
    "IngestionError",
    "IngestionException",
    "IngestionMetrics",
    "IngestionPlugin",
    "IngestionResult",
    "IngestionRunner",
    "LineageEmitter",
    "PartialError",
    "PermanentError",
    "PluginContext",
    "PluginRegistry",
    "RetryPolicy",
    "SchemaField",
    "Secret",
    "SecretResolver",
    "TableOutput",
    "TransientError",
    "WriteDisposition",
    "__version__",
    "classify_exception",
    "load_catalog",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)


if TYPE_CHECKING:
    from floe_core.catalog import CatalogConfig, load_catalog
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
        classify_exception,
    )
    from floe_core.lineage import LineageEmitter
    from floe_core.metrics import IngestionMetrics
    from floe_core.plugin import FLOE_API_VERSION, IngestionPlugin, PluginContext
    from floe_core.registry import PluginRegistry
    from floe_core.result import IngestionResult, SchemaField, TableOutput
    from floe_core.retry import RetryPolicy
    from floe_core.runner import IngestionRunner
    from floe_core.secrets import Secret, SecretResolver
