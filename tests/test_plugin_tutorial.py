"""docs/plugin-authors/tutorial.md stays true: its code is the example plugin's, verbatim."""

from __future__ import annotations

import re
from pathlib import Path

from test_kit_dogfood import KIT_TESTS

from floe_core.testing import IngestionPluginConformance

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs/plugin-authors/tutorial.md"
EXAMPLE = ROOT / "examples/third-party-plugin"
TITLED_BLOCK = re.compile(r'^```\w+ title="([^"]+)"\n(.*?)^```$', re.S | re.M)


def titled_blocks() -> dict[str, str]:
    return {path: code for path, code in TITLED_BLOCK.findall(TUTORIAL.read_text())}


def test_every_titled_code_block_is_the_example_file_verbatim() -> None:
    blocks = titled_blocks()
    assert blocks, "the tutorial shows no file"
    for path, code in blocks.items():
        actual = (EXAMPLE / path).read_text()
        assert code == actual, (
            f"the tutorial's {path} differs from examples/third-party-plugin/{path}; "
            "paste the file into the tutorial again"
        )


def test_the_tutorial_shows_every_file_of_the_plugin() -> None:
    files = {"pyproject.toml", "tests/test_csv_conformance.py"} | {
        str(path.relative_to(EXAMPLE)) for path in (EXAMPLE / "src").rglob("*.py")
    }
    assert set(titled_blocks()) == files


def test_the_tutorial_lists_every_kit_test_and_the_count() -> None:
    text = TUTORIAL.read_text()
    kit_tests = [name for name in vars(IngestionPluginConformance) if name.startswith("test_")]
    assert len(kit_tests) == 11
    for name in kit_tests:
        assert f"| `{name}" in text, f"the tutorial's table of checks lacks {name}"
    assert f"{KIT_TESTS} passed" in text


def test_relative_links_resolve() -> None:
    for document in (TUTORIAL, ROOT / "docs/testing-with-mock-sources.md"):
        for target in re.findall(r"\]\((?!https?:)([^)#]+)", document.read_text()):
            assert (document.parent / target).exists(), f"{document.name}: broken link {target}"


def test_repository_paths_named_in_the_docs_exist() -> None:
    for document in (TUTORIAL, ROOT / "docs/testing-with-mock-sources.md"):
        named = re.findall(
            r"`((?:plugins|tests|examples|docs)/[\w./-]+\.(?:py|md))`", document.read_text()
        )
        assert named, document.name
        for path in named:
            assert (ROOT / path).is_file(), f"{document.name} names {path}, which does not exist"
