"""A plugin module that fails while it is imported."""

from __future__ import annotations

from floe_registry_fixtures import IMPORT_LOG

IMPORT_LOG.append(__name__)

raise RuntimeError("this plugin module is broken on purpose")
