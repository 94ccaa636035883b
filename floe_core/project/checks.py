"""What ``floe validate`` checks in a loaded project, reported as located problems.

:func:`validate_project` runs every check and collects *all* problems (it never stops at the
first), each at the key it is about:

1. every selected pipeline's plugin is installed and loads (``ingestion[i].type``), and accepts
   its settings from the manifest (``plugins.ingestion.config``);
2. every secret reference resolves to a non-empty value: the pipelines' ``secret_refs``, the
   plugin settings' ``*secret_ref`` keys, the catalog's and the lineage transport's
   ``secret_refs`` (messages name the reference and where it was looked for, never a value);
3. the lineage transport is one the OpenLineage client accepts;
4. optionally, the catalog answers (loaded and asked for its namespaces). The embedded SQLite
   catalog is not created by a check: before the first run it is reported as to be created;
5. optionally, each plugin's ``create_pipeline`` accepts its pipeline.

Every message passes through the project's redactor, so a plugin that puts a secret in an
exception does not leak it through ``floe validate``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_core.errors import ErrorCode, IngestionException, classify_exception
from floe_core.project.problems import KeyPath, Problem, ProjectError

if TYPE_CHECKING:
    from floe_core.catalog import CatalogConfig
    from floe_core.config import IngestionConfig
    from floe_core.plugin import IngestionPlugin
    from floe_core.project.project import Project

__all__ = ["ValidationReport", "validate_project"]


@dataclass
class ValidationReport:
    """The outcome of validating a project: the problems found and what passed."""

    project: str
    pipelines: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``valid``, ``project``, ``pipelines``, ``problems``, ``checked``."""
        return {
            "valid": self.ok,
            "project": self.project,
            "pipelines": list(self.pipelines),
            "problems": [problem.to_dict() for problem in self.problems],
            "checked": list(self.checked),
        }


def validate_project(
    project: Project,
    names: Iterable[str] | None = None,
    *,
    check_catalog: bool = True,
    create_pipelines: bool = True,
) -> ValidationReport:
    """Run the checks of the module docstring; see :class:`ValidationReport`."""
    report = ValidationReport(project=str(project.root))
    try:
        configs = project.select(names)
    except ProjectError as exc:
        report.problems = list(exc.problems)
        return report
    report.pipelines = [config.name for config in configs]
    plugins = _check_plugins(project, configs, report)
    resolved = _check_pipeline_secrets(project, configs, report)
    _check_platform_secrets(project, sorted({c.plugin for c in configs}), report)
    _check_lineage(project, report)
    if check_catalog and not _has_problem_under(report, ("catalog",)):
        _check_catalog(project, report)
    if create_pipelines:
        for config in configs:
            plugin = plugins.get(config.plugin)
            if plugin is not None and config.name in resolved:
                _check_create_pipeline(project, plugin, config, report)
    report.problems = [
        dataclasses.replace(problem, message=project.redactor.redact(problem.message))
        for problem in report.problems
    ]
    return report


def _check_plugins(
    project: Project, configs: list[IngestionConfig], report: ValidationReport
) -> dict[str, IngestionPlugin]:
    usable: dict[str, IngestionPlugin] = {}
    for plugin_type in dict.fromkeys(config.plugin for config in configs):
        users = [config for config in configs if config.plugin == plugin_type]
        try:
            project.registry.get(plugin_type)
        except IngestionException as exc:
            for config in users:
                explicit = project.spec_has(config, "type")
                path: KeyPath = ("type",) if explicit else ()
                suffix = "" if explicit else f" (the manifest's default plugin{_set_at(project)})"
                report.problems.append(
                    project.pipeline_problem(config, path, f"{exc}{suffix}", exc.code)
                )
            continue
        try:
            plugin = project.plugin(plugin_type)
        except IngestionException as exc:
            report.problems.append(
                project.manifest_problem(
                    _settings_path(project, plugin_type),
                    f"plugin {plugin_type!r} rejected its settings: {exc}",
                    exc.code,
                )
            )
            continue
        usable[plugin_type] = plugin
        report.checked.append(
            f"plugin {plugin_type} {plugin.version} loads "
            f"({len(users)} pipeline{'s' if len(users) != 1 else ''})"
        )
    return usable


def _check_pipeline_secrets(
    project: Project, configs: list[IngestionConfig], report: ValidationReport
) -> set[str]:
    """Resolve every pipeline's secret_refs; the names of pipelines whose secrets all resolve."""
    resolved: set[str] = set()
    count = 0
    for config in configs:
        complete = True
        for argument, reference in (config.secret_refs or {}).items():
            count += 1
            try:
                project.secrets.resolve(reference, purpose=f"{config.name}.{argument}")
            except IngestionException as exc:
                complete = False
                report.problems.append(
                    project.pipeline_problem(
                        config, ("secret_refs", argument), exc.error.message, exc.code
                    )
                )
        if complete:
            resolved.add(config.name)
    if count and len(resolved) == len(configs):
        report.checked.append(f"{count} pipeline secret reference(s) resolve")
    return resolved


def _check_platform_secrets(
    project: Project, plugin_types: list[str], report: ValidationReport
) -> None:
    references: list[tuple[KeyPath, str]] = []
    for plugin_type in plugin_types:
        base = _settings_path(project, plugin_type)
        references += _secret_ref_settings(project.settings_for(plugin_type), base)
    catalog = project.manifest.catalog
    if catalog is not None:
        references += [
            (("catalog", "secret_refs", prop), ref) for prop, ref in catalog.secret_refs.items()
        ]
    lineage = project.manifest.observability.lineage
    if lineage is not None:
        references += [
            (("observability", "lineage", "secret_refs", key), ref)
            for key, ref in lineage.secret_refs.items()
        ]
    for path, reference in references:
        try:
            project.secrets.resolve(reference, purpose=_purpose(path))
        except IngestionException as exc:
            report.problems.append(project.manifest_problem(path, exc.error.message, exc.code))


def _secret_ref_settings(settings: Mapping[str, Any], base: KeyPath) -> list[tuple[KeyPath, str]]:
    """``(path, reference)`` of every ``*secret_ref`` string in plugin settings (nested too)."""
    found: list[tuple[KeyPath, str]] = []
    for key, value in settings.items():
        if isinstance(value, Mapping):
            found += _secret_ref_settings(value, (*base, key))
        elif key.endswith("secret_ref") and isinstance(value, str):
            found.append(((*base, key), value))
    return found


def _check_lineage(project: Project, report: ValidationReport) -> None:
    settings = project.manifest.observability.lineage
    if settings is None or _has_problem_under(report, ("observability", "lineage")):
        return
    try:
        project.build_lineage(catalog=None)
    except IngestionException as exc:
        path: KeyPath = ("observability", "lineage")
        if settings.transport is not None:
            path = (*path, "transport")
        report.problems.append(project.manifest_problem(path, str(exc), exc.code))
        return
    kind = settings.transport.get("type") if settings.transport else "from the environment"
    report.checked.append(f"lineage transport {kind} is valid")


def _check_catalog(project: Project, report: ValidationReport) -> None:
    from floe_core.catalog import load_catalog

    config = project.catalog_config
    label = f"catalog {config.name!r} ({config.type})"
    sqlite_file = _sqlite_file(config, project.project_dir)
    if sqlite_file is not None and not sqlite_file.exists():
        report.checked.append(f"{label}: SQLite file {sqlite_file} will be created on first run")
        return
    try:
        catalog = load_catalog(config, project_dir=project.project_dir, secrets=project.secrets)
        namespaces = catalog.list_namespaces()
    except IngestionException as exc:
        report.problems.append(
            _with_category(project.manifest_problem(("catalog",), str(exc), exc.code), exc)
        )
        return
    except Exception as exc:
        error = classify_exception(exc, source="catalog")
        report.problems.append(
            project.manifest_problem(
                ("catalog",),
                f"{label} did not list its namespaces: {error.message}",
                ErrorCode.DESTINATION_CONFIG_ERROR,
            )
        )
        return
    report.checked.append(f"{label} answers ({len(namespaces)} namespace(s))")


def _check_create_pipeline(
    project: Project, plugin: IngestionPlugin, config: IngestionConfig, report: ValidationReport
) -> None:
    try:
        plugin.create_pipeline(config)
    except Exception as exc:
        error = classify_exception(exc, source=config.name)
        problem = project.pipeline_problem(
            config, (), f"plugin {plugin.name!r} rejected the pipeline: {error.message}", error.code
        )
        report.problems.append(dataclasses.replace(problem, category=error.category))
        return
    try:
        findings = plugin.validate_pipeline(config)
    except Exception as exc:
        findings = [classify_exception(exc, source=config.name).message]
    for finding in findings:
        report.problems.append(
            project.pipeline_problem(config, (), finding, ErrorCode.DESTINATION_CONFIG_ERROR)
        )
    if not findings:
        report.checked.append(f"pipeline {config.name} accepted by plugin {plugin.name}")


def _set_at(project: Project) -> str:
    """Where the manifest sets the default plugin (``: plugins.ingestion.type in FILE:LINE``)."""
    if "type" not in project.manifest.plugins.ingestion.model_fields_set:
        return ""  # not written: floe's own default
    key = ("plugins", "ingestion", "type")
    return (
        f": {'.'.join(key)} in {project.manifest_problem(key, '', ErrorCode.INVALID_CONFIG).where}"
    )


def _settings_path(project: Project, plugin_type: str) -> KeyPath:
    ingestion = project.manifest.plugins.ingestion
    if plugin_type == ingestion.type:
        return ("plugins", "ingestion", "config")
    if plugin_type in ingestion.additional:
        return ("plugins", "ingestion", "additional", plugin_type, "config")
    return ("plugins", "ingestion")


def _sqlite_file(config: CatalogConfig, project_dir: Path) -> Path | None:
    """The SQLite database file of a sql catalog, or None (another database, or in memory)."""
    from floe_core.catalog import CatalogConfig

    if config.type != "sql" or "uri" in config.secret_refs:
        return None
    uri = config.uri or CatalogConfig.embedded().uri or ""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or ":memory:" in uri:
        return None
    path = Path(uri[len(prefix) :])
    return path if path.is_absolute() else project_dir / path


def _has_problem_under(report: ValidationReport, prefix: KeyPath) -> bool:
    return any(problem.path[: len(prefix)] == prefix for problem in report.problems)


def _with_category(problem: Problem, exc: IngestionException) -> Problem:
    return dataclasses.replace(problem, category=exc.error.category)


def _purpose(path: KeyPath) -> str:
    return ".".join(str(part) for part in path)
