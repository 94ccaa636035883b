"""The bad-input corpus: cases read from ``corpus/<case>/``, projects made from them, outputs read.

A case folder holds a broken project (``floe.yaml``, ``platform-manifest.yaml``, source
modules...; ``shared/bi_events.py``, the well-behaved source, is added to every project) and
``expect.yaml``::

    about: what is wrong, in one line
    needs: [postgres, airbyte]        # services the case points at (optional)
    env: {NAME: value}                # environment of the commands (secrets, FLOE_SECRETS_DIR)
    files:                            # files made when the project is copied (optional)
      broken.py: "def rows(:\\n"      #   text, or {text: ..., encoding: latin-1}
    args: [no_such_pipeline]          # extra command-line arguments (pipeline names)
    setup: setup                      # a folder whose files replace the project's for a first,
                                      #   successful `floe run` before the checks
    writes: nothing                   # nothing | catalog-only | unchanged (see below)
    exit: 2                           # expected exit code, category, code and message
    category: CONFIGURATION           #   substrings, for both commands...
    code: INVALID_CONFIG
    messages: ["floe.yaml:4", "ingestion[0].destination", "namespace.table"]
    validate: {exit: 0}               # ...overridden per command; `messages` given here are
    run: {exit: 1, messages: [...]}   #   checked in addition to the shared ones

Some failures only a run can meet (a source that fails while extracting, a resource that is
not there, a schema clash): such a case expects ``validate: {exit: 0}`` and ``floe run`` to
fail. ``floe validate`` must never write anything, whatever the case.

``writes`` (what ``floe run`` may leave): ``nothing`` (default) means no file under the project changes and no ``.floe/``
appears; ``catalog-only`` allows the embedded catalog to be created, but it must hold no table
and the warehouse no file; ``unchanged`` (with ``setup``) means every table keeps the snapshot
and the data files the setup run left.

Placeholders ``{{NAME}}`` in the project's YAML files, ``env``, ``files`` and ``messages`` are
filled in by the test: ``PROJECT`` (the project copy), ``CLOSED_PORT``, ``PG_HOSTPORT``,
``PG_USER``, ``AIRBYTE_URL``, ``AIRBYTE_TOKEN``, ``POSTGRES_CONNECTION_ID``,
``INACTIVE_CONNECTION_ID``, ``ICEBERG_CONNECTION_ID``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import socket
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "CORPUS_DIR",
    "WRITES",
    "Case",
    "Expectation",
    "Finding",
    "closed_port",
    "findings",
    "load_cases",
    "make_project",
    "normalise",
    "tree_state",
]

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
SHARED_DIR = Path(__file__).resolve().parent / "shared"
"""Files every project gets unless its case has its own: ``bi_events.py``, the well-behaved
source most cases name."""
EXPECT_FILE = "expect.yaml"
WRITES = ("nothing", "catalog-only", "unchanged")
COMMANDS = ("validate", "run")
_PLACEHOLDER = re.compile(r"\{\{([A-Z_]+)\}\}")
_CASE_KEYS = {
    "about",
    "needs",
    "env",
    "files",
    "args",
    "setup",
    "writes",
    "exit",
    "category",
    "code",
    "messages",
    *COMMANDS,
}
_EXPECT_KEYS = {"exit", "category", "code", "messages"}


@dataclass(frozen=True)
class Expectation:
    """What one command must do with a case: exit code, error category and code, messages."""

    exit: int
    category: str
    code: str
    messages: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    """One corpus folder, read from its ``expect.yaml`` (see the module docstring)."""

    name: str
    folder: Path
    about: str
    needs: frozenset[str]
    env: Mapping[str, str]
    files: Mapping[str, Any]
    args: tuple[str, ...]
    setup: str | None
    writes: str
    expect: Mapping[str, Expectation] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One error a command reported: category, code and the text that tells it."""

    category: str
    code: str
    text: str


def load_cases(corpus: Path = CORPUS_DIR) -> list[Case]:
    """Every case of the corpus, by folder name; a malformed ``expect.yaml`` raises."""
    return [_load_case(folder) for folder in sorted(corpus.iterdir()) if folder.is_dir()]


def _load_case(folder: Path) -> Case:
    data = yaml.safe_load((folder / EXPECT_FILE).read_text(encoding="utf-8"))
    unknown = set(data) - _CASE_KEYS
    if unknown:
        raise ValueError(f"{folder.name}/{EXPECT_FILE}: unknown keys {sorted(unknown)}")
    writes = data.get("writes", "nothing")
    if writes not in WRITES or (writes == "unchanged") != bool(data.get("setup")):
        raise ValueError(f"{folder.name}: writes must be one of {WRITES}; unchanged iff setup")
    shared = {key: data[key] for key in _EXPECT_KEYS if key in data}
    expect = {}
    for command in COMMANDS:
        own = data.get(command) or {}
        if set(own) - _EXPECT_KEYS:
            raise ValueError(
                f"{folder.name}: {command}: unknown keys {sorted(set(own) - _EXPECT_KEYS)}"
            )
        merged = {**shared, **own}
        messages = [*shared.get("messages", []), *own.get("messages", [])]
        expect[command] = Expectation(
            exit=int(merged.get("exit", 2)),
            category=str(merged.get("category", "")),
            code=str(merged.get("code", "")),
            messages=tuple(messages),
        )
    return Case(
        name=folder.name,
        folder=folder,
        about=str(data["about"]),
        needs=frozenset(data.get("needs", [])),
        env={str(k): str(v) for k, v in (data.get("env") or {}).items()},
        files=dict(data.get("files") or {}),
        args=tuple(str(arg) for arg in data.get("args", [])),
        setup=data.get("setup"),
        writes=writes,
        expect=expect,
    )


def fill(text: str, values: Mapping[str, str]) -> str:
    """``text`` with every ``{{NAME}}`` replaced; an unknown name raises KeyError."""
    return _PLACEHOLDER.sub(lambda match: values[match.group(1)], text)


def make_project(case: Case, root: Path, values: Mapping[str, str]) -> Path:
    """Copy ``case`` into the new folder ``root`` with its placeholders filled in."""
    values = {**values, "PROJECT": str(root)}
    shutil.copytree(
        case.folder,
        root,
        ignore=lambda _dir, names: [
            n for n in names if n in (EXPECT_FILE, case.setup, "__pycache__")
        ],
    )
    for shared in SHARED_DIR.iterdir():
        if shared.is_file() and not (root / shared.name).exists():
            shutil.copyfile(shared, root / shared.name)
    for path in root.rglob("*.yaml"):
        path.write_text(fill(path.read_text(encoding="utf-8"), values), encoding="utf-8")
    for name, spec in case.files.items():
        text, encoding = (
            (spec, "utf-8") if isinstance(spec, str) else (spec["text"], spec["encoding"])
        )
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(fill(text, values).encode(encoding))
    return root


def apply_setup(case: Case, root: Path, values: Mapping[str, str]) -> list[Path]:
    """Put the case's setup files over the project; returns the files replaced."""
    assert case.setup is not None
    replaced = []
    for source in (case.folder / case.setup).rglob("*"):
        if source.is_file():
            target = root / source.relative_to(case.folder / case.setup)
            text = fill(source.read_text(encoding="utf-8"), {**values, "PROJECT": str(root)})
            target.write_text(text, encoding="utf-8")
            replaced.append(target)
    return replaced


def restore(case: Case, root: Path, replaced: list[Path], values: Mapping[str, str]) -> None:
    """Put back the case's own version of files :func:`apply_setup` replaced."""
    for target in replaced:
        source = case.folder / target.relative_to(root)
        if source.exists():
            text = fill(source.read_text(encoding="utf-8"), {**values, "PROJECT": str(root)})
            target.write_text(text, encoding="utf-8")
        else:
            target.unlink()


def tree_state(root: Path, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``root`` (but those under ``skip``)."""
    state = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not relative.startswith(skip) and "__pycache__" not in relative:
            state[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def normalise(text: str) -> str:
    """``text`` on one line: rich wraps long lines, the expectations do not care where."""
    return " ".join(text.split())


def findings(stdout: str) -> list[Finding]:
    """The errors in a ``--json`` document of ``floe validate`` or ``floe run``.

    ``validate``: the report's problems; ``run``: the error of a project that did not load
    (and its problems) or the error of each failed result (prefixed by the pipeline name).
    """
    document = json.loads(stdout)
    found: list[Finding] = []
    if isinstance(document, list):
        for result in document:
            error = result.get("error")
            if error:
                text = f"{result['pipeline']}: {error['message']}"
                found.append(Finding(error["category"], error["code"], text))
        return found
    error = document.get("error")
    if error:
        found.append(Finding(error["category"], error["code"], error["message"]))
    found += [
        Finding(problem["category"], problem["code"], problem["text"])
        for problem in document.get("problems") or []
    ]
    return found


def walk_files(root: Path) -> Iterator[Path]:
    """Every file under ``root`` (none if it does not exist)."""
    if root.exists():
        yield from (path for path in root.rglob("*") if path.is_file())
