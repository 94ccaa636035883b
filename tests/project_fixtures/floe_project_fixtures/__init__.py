"""Plugins for the project and CLI tests (importable by subprocesses through PYTHONPATH)."""
