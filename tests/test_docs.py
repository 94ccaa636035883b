"""The documentation stays true to the code.

* every ```yaml block of ``docs/`` that is a ``floe.yaml`` or a ``platform-manifest.yaml``
  (it says so in a first-line comment, or its top-level keys are those of one of the two files)
  loads with floe's own loaders, as ``floe validate`` reads the files;
* every ```python block compiles, and its ``floe...`` imports resolve to real modules and names;
* the site builds with ``mkdocs build --strict`` (no warning: every page in the nav, no broken
  link or anchor), and the nav lists every page;
* the getting-started page shows what ``make demo`` really prints (the demo is run).

A block preceded by ``<!-- docs: not checked -->`` is skipped (an example that is wrong on
purpose); ``<!-- checked: make demo output -->`` marks the demo output blocks.
"""

from __future__ import annotations

import ast
import importlib
import os
import re
import shutil
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from floe_core.project import (
    FloeFile,
    PlatformManifest,
    ProjectError,
    load_floe_file,
    load_manifest,
)

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MKDOCS = Path(sys.executable).parent / "mkdocs"
QUICKSTART = ROOT / "examples" / "quickstart"
SKIP_MARKER = "<!-- docs: not checked -->"
DEMO_MARKER = "<!-- checked: make demo output -->"
_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_FILE_COMMENT = re.compile(r"^#\s*(?P<file>floe\.yaml|platform-manifest\.yaml)\b")


@dataclass(frozen=True)
class Block:
    """A fenced code block of a page: its language, code (dedented) and the line before it."""

    page: Path
    line: int
    language: str
    code: str
    before: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks_of(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page (also those indented in lists or tabs)."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        opening = _FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        fence, indent = opening["fence"], opening["indent"]
        body: list[str] = []
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            body.append(lines[end][len(indent) :] if lines[end].startswith(indent) else lines[end])
            end += 1
        info = opening["info"].strip().lstrip("{").strip()
        language = info.split()[0].lstrip(".").lower() if info else ""
        before = next((lines[i].strip() for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        found.append(Block(page, index + 1, language, textwrap.dedent("\n".join(body)), before))
        index = end + 1
    return found


PAGES = sorted(DOCS.rglob("*.md"))
BLOCKS = [block for page in PAGES for block in blocks_of(page) if block.before != SKIP_MARKER]


def project_file_kind(block: Block) -> str | None:
    """``floe.yaml``, ``platform-manifest.yaml`` or None (another YAML file: Helm, Prometheus)."""
    first = block.code.lstrip().splitlines()[0] if block.code.strip() else ""
    named = _FILE_COMMENT.match(first)
    if named:
        return named["file"]
    data = yaml.safe_load(block.code)
    if not isinstance(data, dict):
        return None
    keys = set(data)
    if keys & set(FloeFile.model_fields):
        return "floe.yaml"
    if keys & set(PlatformManifest.model_fields):
        return "platform-manifest.yaml"
    return None


YAML_BLOCKS = [b for b in BLOCKS if b.language in ("yaml", "yml") and project_file_kind(b)]
PYTHON_BLOCKS = [b for b in BLOCKS if b.language in ("python", "py")]


def test_the_docs_have_project_files_and_python_to_check() -> None:
    kinds = {project_file_kind(block) for block in YAML_BLOCKS}
    assert kinds == {"floe.yaml", "platform-manifest.yaml"}
    assert len(YAML_BLOCKS) >= 15 and len(PYTHON_BLOCKS) >= 10


def load_example(block: Block, folder: Path) -> None:
    """Load the block as the project file it is; ProjectError lists what is wrong."""
    kind = project_file_kind(block)
    path = folder / str(kind)
    path.write_text(block.code, encoding="utf-8")
    if kind == "floe.yaml":
        assert load_floe_file(path, display=str(block)).configs
    else:
        load_manifest(path, display=str(block))


@pytest.mark.parametrize("block", YAML_BLOCKS, ids=str)
def test_project_file_examples_load(block: Block, tmp_path: Path) -> None:
    load_example(block, tmp_path)


@pytest.mark.parametrize(
    ("code", "problem"),
    [
        ("ingestion:\n  - name: orders\n    destination: orders\n    dlt: {source: x.y}\n",
         "must be qualified as namespace.table"),
        ("# platform-manifest.yaml\nplugins:\n  ingestion: {retry: {max_attempt: 3}}\n",
         "max_attempt"),
    ],
)  # fmt: skip
def test_a_wrong_example_is_caught(code: str, problem: str, tmp_path: Path) -> None:
    block = Block(DOCS / "example.md", 1, "yaml", code, "")
    with pytest.raises(ProjectError, match=problem):
        load_example(block, tmp_path)


def _imports_of(tree: ast.AST) -> list[tuple[str, list[str]]]:
    """``(module, names)`` of every ``import floe...`` / ``from floe... import ...``."""
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0].startswith("floe"):
                found.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names if a.name.split(".")[0].startswith("floe")]
    return found


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=str)
def test_python_examples_compile_and_their_floe_imports_resolve(block: Block) -> None:
    tree = compile(block.code, str(block), "exec", flags=ast.PyCF_ONLY_AST)
    compile(tree, str(block), "exec")
    for module_name, names in _imports_of(tree):
        module = importlib.import_module(module_name)
        for name in names:
            if name == "*" or hasattr(module, name):
                continue
            importlib.import_module(f"{module_name}.{name}")  # a submodule


def _nav_pages(nav: object) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for item in nav for page in _nav_pages(item)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return []


def test_the_nav_lists_every_page_once() -> None:
    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
    listed = _nav_pages(config["nav"])
    assert len(listed) == len(set(listed))
    pages = {str(page.relative_to(DOCS)) for page in PAGES}
    assert set(listed) == pages, "add the missing pages to the nav of mkdocs.yml"


def test_the_site_builds_strictly_without_warnings(tmp_path: Path) -> None:
    site = tmp_path / "site"
    completed = subprocess.run(
        [str(MKDOCS), "build", "--strict", "-f", str(ROOT / "mkdocs.yml"), "-d", str(site)],
        capture_output=True, text=True, timeout=300, check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    assert "WARNING" not in output, output
    for page in ("index.html", "getting-started/index.html", "operations/kubernetes/index.html"):
        assert (site / page).is_file(), page


# -- the getting-started page against the real demo ------------------------------------------


def _line_pattern(line: str) -> re.Pattern[str]:
    """A documented output line as a pattern: timings vary, so do the spaces around them."""
    parts = re.split(r"( +|\d+:\d\d:\d\d|\d+\.\d+)", line.rstrip())
    pattern = ""
    for part in parts:
        if not part:
            continue
        if part.isspace():
            pattern += " *"
        elif re.fullmatch(r"\d+:\d\d:\d\d", part):
            pattern += r"\d+:\d\d:\d\d"
        elif re.fullmatch(r"\d+\.\d+", part):
            pattern += r"\d+\.\d+"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


def _documented_demo_output() -> list[str]:
    page = DOCS / "getting-started.md"
    checked = [b for b in blocks_of(page) if b.before == DEMO_MARKER]
    assert checked, f"{page} has no block marked {DEMO_MARKER}"
    return [line for block in checked for line in block.code.splitlines() if line.strip()]


@pytest.mark.slow
def test_getting_started_shows_what_make_demo_prints(tmp_path: Path) -> None:
    project = tmp_path / "quickstart"
    ignored = shutil.ignore_patterns(".floe", "data", "__pycache__")
    shutil.copytree(QUICKSTART, project, ignore=ignored)
    completed = subprocess.run(
        [sys.executable, str(project / "demo.py")],
        capture_output=True, text=True, timeout=600, check=False,
        env={**os.environ, "COLUMNS": "80"},
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    printed = [line.rstrip() for line in completed.stdout.splitlines()]

    position = 0
    for documented in _documented_demo_output():
        pattern = _line_pattern(documented)
        while position < len(printed) and not pattern.fullmatch(printed[position]):
            position += 1
        assert position < len(printed), (
            f"docs/getting-started.md shows {documented!r}, which make demo no longer prints "
            f"(in this order). It printed:\n{completed.stdout}"
        )
        position += 1
