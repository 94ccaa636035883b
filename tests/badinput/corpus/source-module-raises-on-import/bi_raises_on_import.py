"""A source module that fails when imported (its settings file is missing)."""

from pathlib import Path

SETTINGS = Path(__file__).with_name("bi_settings.json").read_text()


def rows() -> list[dict[str, int]]:
    return [{"id": 1}]
