"""A plugin module that cannot be imported (a missing dependency), for `floe plugins` tests."""

import floe_missing_dependency_for_tests  # noqa: F401
