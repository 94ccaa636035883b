"""`Project`: a folder with ``floe.yaml`` (and optionally ``platform-manifest.yaml``), ready to run.

A project wires what the two files describe into the runtime objects of floe_core::

    project = Project.load("examples/github")        # ProjectError lists every problem
    project.pipelines                                 # [IngestionConfig, ...]
    project.validate()                                # what `floe validate` checks
    results = project.run(["github_events"])          # [IngestionResult, ...]

* **Plugins** come from :attr:`registry` (a :class:`~floe_core.registry.PluginRegistry`; pass
  one to :meth:`load` to register plugins in-process). Each plugin type is instantiated once,
  with a :class:`~floe_core.plugin.PluginContext` holding its settings from the manifest
  (``plugins.ingestion.config`` for the default type, ``plugins.ingestion.additional.<type>
  .config`` for others, empty otherwise), the catalog config and the secret resolver.
* **Secrets** resolve at run time, from environment variables and then the secrets directory:
  ``FLOE_SECRETS_DIR`` when set, else the manifest's ``secrets.directory`` (relative to the
  project). All plugins share one resolver, whose redactor masks every resolved value in the
  runner's results, logs and lineage events.
* **Runs** go through :class:`~floe_core.runner.IngestionRunner` with the manifest's retry policy,
  one shared LineageEmitter (``observability.lineage``) and one shared IngestionMetrics
  (``observability.metrics``).

:meth:`run` first checks, for the selected pipelines, that every plugin loads and every secret
resolves; if not it raises ProjectError and runs nothing (so nothing is written). Failures of
the runs themselves are in the returned results, never raised.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from floe_core.catalog import CatalogConfig
from floe_core.config import IngestionConfig
from floe_core.errors import ErrorCode
from floe_core.plugin import IngestionPlugin, PluginContext
from floe_core.project.loader import (
    MANIFEST_FILE,
    PROJECT_FILE,
    LoadedFloeFile,
    LoadedManifest,
    load_project_files,
)
from floe_core.project.manifest import PlatformManifest
from floe_core.project.pipelines import FloeFile
from floe_core.project.problems import KeyPath, Problem, ProjectError
from floe_core.retry import RetryPolicy
from floe_core.secrets import SECRETS_DIR_ENV, Redactor, SecretResolver

if TYPE_CHECKING:
    from floe_core.lineage import LineageEmitter
    from floe_core.metrics import IngestionMetrics
    from floe_core.project.checks import ValidationReport
    from floe_core.registry import PluginRegistry
    from floe_core.result import IngestionResult
    from floe_core.runner import IngestionRunner

__all__ = ["Project"]


class Project:
    """A loaded floe project; see the module docstring. Build it with :meth:`load`."""

    def __init__(
        self,
        root: Path,
        manifest: LoadedManifest,
        floe_file: LoadedFloeFile,
        *,
        registry: PluginRegistry | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.root = root
        self.project_dir = root.resolve()
        self._manifest = manifest
        self._floe_file = floe_file
        self._registry = registry
        self._environ: Mapping[str, str] = os.environ if environ is None else environ
        self._contexts: dict[str, PluginContext] = {}
        self._plugins: dict[str, IngestionPlugin] = {}

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] = ".",
        *,
        registry: PluginRegistry | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Project:
        """Load the project in folder ``path`` (or the folder of the ``floe.yaml`` given).

        ``registry``: where plugins come from (default: a new registry of the installed
        ``floe.ingestion`` entry points). ``environ``: the environment secrets are read from
        (default ``os.environ``). Raises :class:`~floe_core.project.problems.ProjectError`
        (a ConfigurationError) listing every problem of both files.
        """
        root = Path(path)
        if root.is_file() and root.name == PROJECT_FILE:
            root = root.parent
        if not root.is_dir():
            what = "is a file, not a project folder" if root.exists() else "does not exist"
            raise ProjectError(
                [
                    Problem(
                        f"the project folder {what}; pass the folder that holds {PROJECT_FILE}",
                        file=str(root),
                    )
                ]
            )
        manifest, floe_file = load_project_files(root)
        return cls(root, manifest, floe_file, registry=registry, environ=environ)

    # -- what the files say ------------------------------------------------------------------

    @property
    def manifest(self) -> PlatformManifest:
        """The platform manifest (the embedded defaults when the project has none)."""
        return self._manifest.manifest

    @property
    def floe_file(self) -> FloeFile:
        """The validated ``floe.yaml``."""
        return self._floe_file.floe_file

    @property
    def manifest_file(self) -> str | None:
        """How messages name the manifest file; None when the project has none."""
        document = self._manifest.document
        return document.file if document is not None else None

    @property
    def pipelines(self) -> list[IngestionConfig]:
        """Every pipeline, as the IngestionConfig its plugin receives, in file order."""
        return list(self._floe_file.configs)

    def pipeline(self, name: str) -> IngestionConfig:
        """The pipeline called ``name``; ProjectError when there is none."""
        return self.select([name])[0]

    def select(self, names: Iterable[str] | None = None) -> list[IngestionConfig]:
        """The pipelines called ``names`` (all when None or empty), in the order given.

        Unknown names are all reported in one ProjectError, with suggestions.
        """
        wanted = list(dict.fromkeys(names or []))
        if not wanted:
            return self.pipelines
        by_name = {config.name: config for config in self.pipelines}
        unknown = [name for name in wanted if name not in by_name]
        if unknown:
            problems = []
            for name in unknown:
                close = difflib.get_close_matches(name, list(by_name), n=1, cutoff=0.6)
                hint = f"; did you mean {close[0]!r}?" if close else "."
                problems.append(
                    Problem(
                        f"no pipeline named {name!r} in {self._floe_file.document.file}{hint} "
                        f"Pipelines: {', '.join(by_name)}"
                    )
                )
            raise ProjectError(problems)
        return [by_name[name] for name in wanted]

    # -- runtime objects ---------------------------------------------------------------------

    @property
    def registry(self) -> PluginRegistry:
        """The plugin registry (created on first use unless one was passed to :meth:`load`)."""
        if self._registry is None:
            from floe_core.registry import PluginRegistry

            self._registry = PluginRegistry()
        return self._registry

    @property
    def redactor(self) -> Redactor:
        """Knows every secret value resolved for this project, to mask it in any output."""
        return self.secrets.redactor

    @property
    def secrets_dir(self) -> Path | None:
        """``FLOE_SECRETS_DIR`` when set, else the manifest's ``secrets.directory``, or None."""
        from_env = self._environ.get(SECRETS_DIR_ENV)
        if from_env:
            return Path(from_env)
        directory = self.manifest.secrets.directory
        if not directory:
            return None
        path = Path(directory)
        return path if path.is_absolute() else self.project_dir / path

    @cached_property
    def secrets(self) -> SecretResolver:
        """The one secret resolver of the project (environment, then :attr:`secrets_dir`)."""
        return SecretResolver(
            environ=self._environ, secrets_dir=self.secrets_dir, redactor=Redactor()
        )

    @property
    def catalog_config(self) -> CatalogConfig:
        """The manifest's catalog, else the embedded default."""
        return self.manifest.catalog or CatalogConfig.embedded()

    def settings_for(self, plugin_type: str) -> dict[str, Any]:
        """The manifest's settings for ``plugin_type`` (empty when it lists none)."""
        return self.manifest.plugins.ingestion.settings_for(plugin_type)

    def retry_policy(self, plugin_type: str | None = None) -> RetryPolicy:
        """The retry policy of ``plugin_type``'s pipelines (default: the default plugin's)."""
        ingestion = self.manifest.plugins.ingestion
        return ingestion.retry_for(plugin_type or ingestion.type)

    def context(self, plugin_type: str | None = None) -> PluginContext:
        """The PluginContext of ``plugin_type`` (default: the manifest's), made once."""
        plugin_type = plugin_type or self.manifest.default_plugin
        context = self._contexts.get(plugin_type)
        if context is None:
            context = PluginContext(
                project_dir=self.project_dir,
                settings=self.settings_for(plugin_type),
                catalog_config=self.catalog_config,
                secrets=self.secrets,
            )
            self._contexts[plugin_type] = context
        return context

    def plugin(self, plugin_type: str) -> IngestionPlugin:
        """The instance of ``plugin_type`` (one per project); PluginError when it cannot load."""
        plugin = self._plugins.get(plugin_type)
        if plugin is None:
            plugin = self.registry.create(plugin_type, self.context(plugin_type))
            self._plugins[plugin_type] = plugin
        return plugin

    @cached_property
    def lineage(self) -> LineageEmitter | None:
        """The emitter of ``observability.lineage`` (None when the manifest has no such block).

        Raises ConfigurationError for a transport the OpenLineage client rejects or a missing
        secret of ``secret_refs``.
        """
        return self.build_lineage(
            catalog=self.catalog_config.describe(self.project_dir, self.secrets)
        )

    def build_lineage(self, *, catalog: Mapping[str, str] | None) -> LineageEmitter | None:
        """A new emitter from ``observability.lineage``; ``catalog`` describes the catalog."""
        settings = self.manifest.observability.lineage
        if settings is None:
            return None
        from floe_core.lineage import LineageEmitter

        if settings.transport is None:
            return LineageEmitter(
                namespace=settings.namespace, catalog=catalog, redactor=self.redactor
            )
        transport = _with_project_paths(settings.transport, self.project_dir)
        for dotted, reference in settings.secret_refs.items():
            secret = self.secrets.resolve(reference, purpose=f"lineage transport {dotted}")
            _set_dotted(transport, dotted, secret.reveal())
        return LineageEmitter.from_transport_config(
            transport, namespace=settings.namespace, catalog=catalog, redactor=self.redactor
        )

    @cached_property
    def metrics(self) -> IngestionMetrics | None:
        """The metrics of ``observability.metrics`` (None when the manifest has no such block)."""
        settings = self.manifest.observability.metrics
        if settings is None:
            return None
        from floe_core.metrics import IngestionMetrics

        return IngestionMetrics(
            pushgateway_url=settings.pushgateway_url,
            job=settings.job,
            push_timeout_seconds=settings.push_timeout_seconds,
        )

    def runner(self, pipeline_name: str, **overrides: Any) -> IngestionRunner:
        """The runner of one pipeline: its plugin, the manifest's retry, lineage and metrics.

        ``overrides`` replace any IngestionRunner argument (``retry``, ``lineage``,
        ``metrics``, ``sleep``, ``clock``, ``redactor``, ``parent``) or the ``plugin``.
        """
        from floe_core.runner import IngestionRunner

        config = self.pipeline(pipeline_name)
        plugin = overrides.pop("plugin", None) or self.plugin(config.plugin)
        arguments: dict[str, Any] = {
            "retry": self.retry_policy(config.plugin),
            "redactor": self.redactor,
        }
        if "lineage" not in overrides:
            arguments["lineage"] = self.lineage
        if "metrics" not in overrides:
            arguments["metrics"] = self.metrics
        arguments.update(overrides)
        return IngestionRunner(plugin, **arguments)

    # -- checking and running ----------------------------------------------------------------

    def validate(
        self,
        names: Iterable[str] | None = None,
        *,
        catalog: bool = True,
        create_pipelines: bool = True,
    ) -> ValidationReport:
        """Everything ``floe validate`` checks, for the pipelines ``names`` (default: all).

        Plugins load, plugin settings are accepted, secrets resolve, lineage is configurable
        and, optionally, the catalog answers and every ``create_pipeline`` accepts its
        pipeline. Never raises for what it finds: the report lists every problem.
        """
        from floe_core.project.checks import validate_project

        return validate_project(
            self, names, check_catalog=catalog, create_pipelines=create_pipelines
        )

    def check(
        self,
        names: Iterable[str] | None = None,
        *,
        catalog: bool = False,
        create_pipelines: bool = False,
    ) -> None:
        """:meth:`validate`, raising ProjectError when anything is wrong."""
        report = self.validate(names, catalog=catalog, create_pipelines=create_pipelines)
        if report.problems:
            raise ProjectError(
                report.problems, summary=f"{len(report.problems)} problems in the project"
            )

    def run(
        self,
        names: Iterable[str] | None = None,
        *,
        on_start: Callable[[IngestionConfig], None] | None = None,
        on_result: Callable[[IngestionConfig, IngestionResult], None] | None = None,
        **run_kwargs: Any,
    ) -> list[IngestionResult]:
        """Run the pipelines ``names`` (default: all) one after the other.

        Checks first (plugins load, secrets resolve) and raises ProjectError without running
        anything if that fails. Each run's outcome, failure included, is in the returned list;
        ``on_start``/``on_result`` are called around each pipeline (progress displays).
        ``run_kwargs`` go to every plugin's ``run``.
        """
        configs = self.select(names)
        self.check([config.name for config in configs])
        results = []
        for config in configs:
            if on_start is not None:
                on_start(config)
            result = self.runner(config.name).run(config, **run_kwargs)
            results.append(result)
            if on_result is not None:
                on_result(config, result)
        return results

    # -- locating problems -------------------------------------------------------------------

    def pipeline_problem(
        self, config: IngestionConfig, path: KeyPath, message: str, code: ErrorCode
    ) -> Problem:
        """A problem at ``ingestion[i].<path>`` of ``floe.yaml`` for pipeline ``config``."""
        index = next(
            i for i, spec in enumerate(self.floe_file.ingestion) if spec.name == config.name
        )
        return self._floe_file.document.problem(("ingestion", index, *path), message, code=code)

    def manifest_problem(self, path: KeyPath, message: str, code: ErrorCode) -> Problem:
        """A problem at ``path`` of the manifest (or naming the defaults when there is none)."""
        document = self._manifest.document
        if document is None:
            return Problem(
                f"{message} (no {MANIFEST_FILE}: the embedded defaults apply)",
                file=str(self.root / MANIFEST_FILE),
                path=path,
                code=code,
            )
        return document.problem(path, message, code=code)

    def spec_has(self, config: IngestionConfig, key: str) -> bool:
        """Whether pipeline ``config`` writes ``key`` in ``floe.yaml`` (e.g. ``type``)."""
        spec = next(spec for spec in self.floe_file.ingestion if spec.name == config.name)
        return key in spec.model_fields_set

    def __repr__(self) -> str:
        return f"<Project {str(self.root)!r} pipelines={[c.name for c in self.pipelines]}>"


def _with_project_paths(transport: Mapping[str, Any], project_dir: Path) -> dict[str, Any]:
    """A copy of a transport block whose relative file paths are relative to the project.

    Applies to ``file`` transports, also inside a ``composite`` transport's ``transports``.
    """
    copied = dict(transport)
    path = copied.get("log_file_path")
    is_local = isinstance(path, str) and "://" not in path and not Path(path).is_absolute()
    if copied.get("type") == "file" and is_local:
        copied["log_file_path"] = str(project_dir / str(path))
    children = copied.get("transports")
    if isinstance(children, Mapping):
        copied["transports"] = {
            name: _with_project_paths(child, project_dir) if isinstance(child, Mapping) else child
            for name, child in children.items()
        }
    elif isinstance(children, list):
        copied["transports"] = [
            _with_project_paths(child, project_dir) if isinstance(child, Mapping) else child
            for child in children
        ]
    return copied


def _set_dotted(target: dict[str, Any], dotted: str, value: str) -> None:
    keys = dotted.split(".")
    for key in keys[:-1]:
        found = target.get(key)
        nested: dict[str, Any] = dict(found) if isinstance(found, dict) else {}
        target[key] = nested
        target = nested
    target[keys[-1]] = value
