"""Fixtures of the Dagster integration tests: a plugin whose source fails on purpose."""
