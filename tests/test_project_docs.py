"""The generated reference pages (docs/reference/floe-yaml.md, platform-manifest.md) are current."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "gen_reference_docs.py"


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_reference_docs", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


def test_reference_pages_are_current() -> None:
    stale = _generator().stale_pages()
    assert stale == [], f"{stale} are out of date: run python scripts/gen_reference_docs.py"


def test_pages_document_every_key_of_the_models() -> None:
    from floe_core.project import DltBlock, IngestionPlugins, PipelineSpec, PlatformManifest

    pages = {name: (ROOT / "docs" / "reference" / name).read_text() for name in _generator().PAGES}
    for model, page in (
        (PipelineSpec, "floe-yaml.md"),
        (DltBlock, "floe-yaml.md"),
        (PlatformManifest, "platform-manifest.md"),
        (IngestionPlugins, "platform-manifest.md"),
    ):
        for name, field in model.model_fields.items():
            if not field.exclude:
                assert f"| `{name}` |" in pages[page], (model.__name__, name)
    assert "plugin_block" not in pages["floe-yaml.md"]


def test_check_mode_reports_stale_pages(tmp_path: Path) -> None:
    command = [sys.executable, str(SCRIPT), "--dir", str(tmp_path)]
    assert subprocess.run([*command, "--check"], capture_output=True).returncode == 1
    assert subprocess.run(command, capture_output=True).returncode == 0
    assert subprocess.run([*command, "--check"], capture_output=True).returncode == 0
