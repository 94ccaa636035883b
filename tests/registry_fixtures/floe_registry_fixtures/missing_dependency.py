"""A plugin module whose dependency is not installed."""

from __future__ import annotations

from floe_registry_fixtures import IMPORT_LOG

IMPORT_LOG.append(__name__)

import floe_dependency_that_is_not_installed  # noqa: E402, F401
