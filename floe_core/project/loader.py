"""Reading ``platform-manifest.yaml`` and ``floe.yaml`` into models, or every problem found.

Both loaders parse with positions (:mod:`floe_core.project.source`), validate with pydantic
(:mod:`floe_core.project.validation`) and then run the cross-field checks of the models with
the key path of each finding, so that every problem names the file, the line and the key.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from floe_core.config import IngestionConfig
from floe_core.project.manifest import DEFAULT_PLUGIN, PlatformManifest
from floe_core.project.pipelines import (
    DEFAULT_TYPE,
    DEFER_CHECKS,
    FloeFile,
    PipelineSpec,
    duplicate_name_message,
)
from floe_core.project.problems import Problem, ProjectError
from floe_core.project.source import SourceDocument, read_yaml
from floe_core.project.validation import describe_value, validate_document

__all__ = [
    "MANIFEST_FILE",
    "PROJECT_FILE",
    "LoadedFloeFile",
    "LoadedManifest",
    "load_floe_file",
    "load_manifest",
    "load_project_files",
]

MANIFEST_FILE = "platform-manifest.yaml"
PROJECT_FILE = "floe.yaml"

_EXPECTED_TOP = {
    MANIFEST_FILE: "a mapping with some of plugins:, catalog:, observability:, secrets:",
    PROJECT_FILE: "a mapping with an `ingestion:` list of pipelines",
}


@dataclass(frozen=True)
class LoadedManifest:
    """A valid manifest and where it came from (``document`` is None for the defaults)."""

    manifest: PlatformManifest
    document: SourceDocument | None


@dataclass(frozen=True)
class LoadedFloeFile:
    """A valid ``floe.yaml``, its pipelines as IngestionConfig, and its document."""

    floe_file: FloeFile
    configs: tuple[IngestionConfig, ...]
    document: SourceDocument


def load_manifest(path: Path | None, *, display: str | None = None) -> LoadedManifest:
    """The manifest at ``path``; ``None`` or a missing file gives the embedded defaults.

    Raises :class:`~floe_core.project.problems.ProjectError` listing every problem.
    """
    loaded, problems = _manifest(path, display)
    if problems or loaded is None:
        raise ProjectError(problems)
    return loaded


def load_floe_file(
    path: Path, *, display: str | None = None, default_type: str = DEFAULT_PLUGIN
) -> LoadedFloeFile:
    """The project file at ``path``; raises ProjectError listing every problem."""
    loaded, problems = _floe_file(path, display, default_type)
    if problems or loaded is None:
        raise ProjectError(problems)
    return loaded


def load_project_files(root: Path) -> tuple[LoadedManifest, LoadedFloeFile]:
    """Both files of the project folder ``root``; one ProjectError lists the problems of both.

    Files are named in messages as ``root / name`` (``floe.yaml`` when ``root`` is ``.``).
    """
    loaded_manifest, problems, raw = _manifest_and_data(root / MANIFEST_FILE, None)
    default_type = (
        loaded_manifest.manifest.default_plugin if loaded_manifest else default_type_of(raw)
    )
    loaded_floe, floe_problems = _floe_file(root / PROJECT_FILE, None, default_type)
    problems += floe_problems
    if problems or loaded_manifest is None or loaded_floe is None:
        raise ProjectError(problems, summary=f"{len(problems)} problems in the project files")
    return loaded_manifest, loaded_floe


def _manifest(
    path: Path | None, display: str | None
) -> tuple[LoadedManifest | None, list[Problem]]:
    loaded, problems, _ = _manifest_and_data(path, display)
    return loaded, problems


def _manifest_and_data(
    path: Path | None, display: str | None
) -> tuple[LoadedManifest | None, list[Problem], Any]:
    if path is None or not path.exists():
        return LoadedManifest(PlatformManifest(), None), [], None
    document, problems = _read(path, display or str(path), MANIFEST_FILE)
    if document is None:
        return None, problems, None
    manifest, invalid = validate_document(document, PlatformManifest)
    problems += invalid
    if manifest is None or problems:
        return None, problems, document.data
    return LoadedManifest(manifest, document), [], document.data


def _floe_file(
    path: Path, display: str | None, default_type: str
) -> tuple[LoadedFloeFile | None, list[Problem]]:
    shown = display or str(path)
    if not path.is_file():
        where = "is a folder, not a file" if path.exists() else "does not exist"
        return None, [
            Problem(
                f"{where}: a floe project needs a {PROJECT_FILE} listing its pipelines "
                "(`ingestion:`)",
                file=shown,
            )
        ]
    document, problems = _read(path, shown, PROJECT_FILE)
    if document is None:
        return None, problems
    context = {DEFER_CHECKS: True, DEFAULT_TYPE: default_type}
    floe_file, invalid = validate_document(document, FloeFile, context=context)
    problems += invalid
    if floe_file is None:
        problems += _checks_of_valid_pipelines(document, context, default_type)
        return None, _by_line(problems)
    problems += [
        document.problem(path_, message) for path_, message in floe_file.problems(default_type)
    ]
    if problems:
        return None, _by_line(problems)
    configs: list[IngestionConfig] = []
    for index, pipeline in enumerate(floe_file.ingestion):
        try:
            configs.append(pipeline.to_ingestion_config(default_type))
        except ValidationError as exc:  # the checks above should have caught it; say it anyway
            for error in exc.errors(include_url=False):
                problems.append(document.problem(("ingestion", index), error["msg"]))
    if problems:
        return None, problems
    return LoadedFloeFile(floe_file, tuple(configs), document), []


def _checks_of_valid_pipelines(
    document: SourceDocument, context: dict[str, Any], default_type: str
) -> list[Problem]:
    """The cross-field problems of each pipeline that is valid on its own.

    When ``floe.yaml`` as a whole fails validation its models are not built; checking each
    valid pipeline anyway reports everything in one go.
    """
    items = document.data.get("ingestion") if isinstance(document.data, dict) else None
    if not isinstance(items, list):
        return []
    problems: list[Problem] = []
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        name = item.get("name") if isinstance(item, dict) else None
        if isinstance(name, str) and name in first_seen:
            problems.append(
                document.problem(
                    ("ingestion", index, "name"), duplicate_name_message(name, first_seen[name])
                )
            )
        elif isinstance(name, str):
            first_seen[name] = index
        try:
            pipeline = PipelineSpec.model_validate(item, context=context)
        except ValidationError:
            continue  # its errors are reported already
        problems += [
            document.problem(("ingestion", index, *path), message)
            for path, message in pipeline.problems(default_type)
        ]
    return problems


def _by_line(problems: list[Problem]) -> list[Problem]:
    """File problems in reading order (stable: problems of one line keep their order)."""
    return sorted(problems, key=lambda problem: problem.line or 0)


def _read(path: Path, shown: str, kind: str) -> tuple[SourceDocument | None, list[Problem]]:
    try:
        document = read_yaml(path, display=shown)
    except ProjectError as exc:
        return None, list(exc.problems)
    problems = list(document.problems)
    if document.data is None:
        problems.append(
            Problem(f"the file is empty; expected {_EXPECTED_TOP[kind]}", file=shown, line=1)
        )
        return None, problems
    if not isinstance(document.data, dict):
        problems.append(
            Problem(
                f"expected {_EXPECTED_TOP[kind]} at the top level, got "
                f"{describe_value(document.data)}",
                file=shown,
                line=1,
            )
        )
        return None, problems
    return document, problems


def default_type_of(raw_manifest: Any) -> str:
    """The default plugin type written in manifest data, valid or not (for floe.yaml checks)."""
    try:
        value = raw_manifest["plugins"]["ingestion"]["type"]
    except (KeyError, TypeError):
        return DEFAULT_PLUGIN
    return value if isinstance(value, str) and value else DEFAULT_PLUGIN
