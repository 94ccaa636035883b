"""The interfaces plugins implement (ADR-0020 names this package)."""
