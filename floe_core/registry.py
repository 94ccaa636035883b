"""`PluginRegistry`: finds, loads and validates ingestion plugins (ARCHITECTURE decision 2).

The contract, for callers:

* A registry is an ordinary object. There is no global instance: make one where it is needed
  (:func:`default_registry` returns a *new* one on every call).
* Plugins come from the ``floe.ingestion`` entry-point group (name -> plugin class) or from
  :meth:`PluginRegistry.register`. A registered class wins over an entry point of the same name.
* Discovery is lazy. Constructing a registry reads nothing; the first :meth:`~PluginRegistry.names`,
  :meth:`~PluginRegistry.get` or :meth:`~PluginRegistry.list` reads the entry-point metadata
  once (no plugin module is imported by that). :meth:`~PluginRegistry.names` never imports a
  plugin; :meth:`~PluginRegistry.get` imports only the plugin asked for, validates it and caches
  the outcome (success or failure) for the life of the registry.
* Every failure is a :class:`PluginError`, a :class:`~floe_core.errors.ConfigurationError` that
  names the offending plugin (``plugin_name``, and ``plugin`` when an object was loaded) and
  says what to do. Codes: ``PLUGIN_NOT_FOUND`` (unknown name; lists what is installed),
  ``PLUGIN_LOAD_FAILED`` (importing the entry point or constructing the plugin raised) and
  ``PLUGIN_INCOMPATIBLE`` (the object breaks the plugin contract, or two distributions publish
  the same name).
* :meth:`~PluginRegistry.list` never raises for a bad plugin: its row says ``broken`` or
  ``incompatible`` and a :class:`PluginWarning` is issued.

What a valid plugin is: a concrete subclass of :class:`~floe_core.plugin.IngestionPlugin`
whose ``name`` equals its entry-point (or registration) name, with a non-empty string
``version``, a bool ``is_external``, a ``floe_api_version`` that
:func:`~floe_core.plugin.is_api_compatible` accepts, and an ``__init__`` that takes the
optional :class:`~floe_core.plugin.PluginContext` as its one positional argument.
"""

from __future__ import annotations

import difflib
import importlib.metadata
import inspect
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import EntryPoint
from typing import Any, Literal, cast

from floe_core.errors import ConfigurationError, ErrorCode, IngestionException
from floe_core.plugin import FLOE_API_VERSION, IngestionPlugin, PluginContext, is_api_compatible

__all__ = [
    "ENTRY_POINT_GROUP",
    "PluginError",
    "PluginInfo",
    "PluginRegistry",
    "PluginWarning",
    "default_registry",
    "validate_plugin_class",
]

ENTRY_POINT_GROUP = "floe.ingestion"
"""The entry-point group ingestion plugins are published under."""

PluginStatus = Literal["ok", "broken", "incompatible"]
PluginOrigin = Literal["entry point", "registered"]
_EntryPoints = list[EntryPoint]  # aliases at module level: `list` is a method below
_EntryPointsByName = dict[str, _EntryPoints]


@dataclass(frozen=True)
class PluginInfo:
    """One row of ``floe plugins``.

    ``version`` is the plugin class's ``version`` when it loaded, else its distribution's
    version when known. ``is_external`` is known only for a plugin that loaded. ``error`` is
    one line saying why the plugin is ``broken`` (cannot be loaded) or ``incompatible`` (loads
    but breaks the contract); it is None when ``status`` is ``ok``.
    """

    name: str
    version: str | None
    is_external: bool | None
    distribution: str | None
    status: PluginStatus
    error: str | None
    origin: PluginOrigin

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class PluginWarning(UserWarning):
    """Issued by :meth:`PluginRegistry.list` for each plugin that is broken or incompatible."""


class PluginError(ConfigurationError):
    """A configuration error about one plugin, carrying the offender (as pluggy does).

    ``plugin_name`` is the name it was asked for or published under; ``plugin`` is the object
    the entry point resolved to (or the class passed to ``register``) when there was one. The
    record's ``details`` hold ``plugin`` and, where known, ``entry_point`` and ``distribution``.
    """

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        plugin_name: str,
        plugin: object | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code, message, details={"plugin": plugin_name, **(details or {})})
        self.plugin_name = plugin_name
        self.plugin = plugin


def default_registry() -> PluginRegistry:
    """A new registry over the installed ``floe.ingestion`` entry points (never shared)."""
    return PluginRegistry()


@dataclass(frozen=True)
class _Origin:
    """Where a plugin came from, for messages and for :class:`PluginInfo`."""

    kind: PluginOrigin
    where: str  # "entry point 'x = mod:Cls' from distribution d 1.0" or "registered class ..."
    entry_point: str | None = None
    distribution: str | None = None
    distribution_version: str | None = None

    @classmethod
    def of_entry_point(cls, entry_point: EntryPoint) -> _Origin:
        dist = entry_point.dist
        dist_name = dist.name if dist is not None else None
        dist_version = dist.version if dist is not None else None
        where = f"entry point '{entry_point.name} = {entry_point.value}'"
        if dist_name is not None:
            where += f" from distribution {dist_name} {dist_version}"
        return cls("entry point", where, entry_point.value, dist_name, dist_version)

    @classmethod
    def of_class(cls, plugin_class: object) -> _Origin:
        return cls("registered", f"registered class {_qualified_name(plugin_class)}")

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {"origin": self.kind}
        if self.entry_point is not None:
            details["entry_point"] = self.entry_point
        if self.distribution is not None:
            details["distribution"] = self.distribution
            details["distribution_version"] = self.distribution_version
        return details


@dataclass(frozen=True)
class _Failure:
    """A cached failure; a fresh exception is built for every raise (tracebacks stay short)."""

    status: PluginStatus
    code: ErrorCode
    message: str
    plugin_name: str
    details: dict[str, Any]
    plugin: object | None = None
    cause: BaseException | None = None

    def exception(self) -> PluginError:
        return PluginError(
            self.code,
            self.message,
            plugin_name=self.plugin_name,
            plugin=self.plugin,
            details=dict(self.details),
        )


@dataclass(frozen=True)
class _Outcome:
    """What loading one name gave: a valid class, or a failure."""

    origin: _Origin | None
    plugin_class: type[IngestionPlugin] | None = None
    failure: _Failure | None = None


class PluginRegistry:
    """Discovers, validates and instantiates ingestion plugins; see the module docstring.

    ``entry_points`` replaces discovery (tests pass fakes): a callable returning the entry
    points to consider, called at most once. Entry points of another group than ``group`` are
    ignored. The default reads the installed distributions' metadata.
    """

    def __init__(
        self,
        *,
        group: str = ENTRY_POINT_GROUP,
        entry_points: Callable[[], Iterable[EntryPoint]] | None = None,
    ) -> None:
        self._group = group
        self._entry_points_source = entry_points or self._installed_entry_points
        self._discovered: _EntryPointsByName | None = None
        self._registered: dict[str, type[IngestionPlugin]] = {}
        self._outcomes: dict[str, _Outcome] = {}

    @property
    def group(self) -> str:
        return self._group

    def register(self, plugin_class: type[IngestionPlugin], *, name: str | None = None) -> None:
        """Add a plugin class directly, validated at once; it wins over an entry point.

        ``name`` defaults to the class's ``name`` and, when given, must equal it. Registering
        the same class twice is a no-op; another class under a taken name is a
        :class:`ValueError` (a programming error, not a configuration one).
        """
        class_name = getattr(plugin_class, "name", None)
        if name is None:
            name = class_name if isinstance(class_name, str) and class_name else None
        if name is None:
            name = getattr(plugin_class, "__name__", repr(plugin_class))
        checked = _validate(plugin_class, name, _Origin.of_class(plugin_class))
        existing = self._registered.get(name)
        if existing is not None and existing is not checked:
            raise ValueError(
                f"ingestion plugin {name!r} is already registered as "
                f"{_qualified_name(existing)}; a registry holds one class per name"
            )
        self._registered[name] = checked

    def names(self) -> list[str]:
        """All plugin names, registered and discovered, sorted. Imports no plugin."""
        return sorted(set(self._registered) | set(self._discover()))

    def get(self, name: str) -> type[IngestionPlugin]:
        """The validated plugin class for ``name`` (loaded on first use, then cached).

        Raises :class:`PluginError` with ``PLUGIN_NOT_FOUND``, ``PLUGIN_LOAD_FAILED`` or
        ``PLUGIN_INCOMPATIBLE``; the original exception, if any, is chained.
        """
        registered = self._registered.get(name)
        if registered is not None:
            return registered
        outcome = self._load(name)
        if outcome.failure is not None:
            raise outcome.failure.exception() from outcome.failure.cause
        assert outcome.plugin_class is not None
        return outcome.plugin_class

    def create(self, name: str, context: PluginContext | None = None) -> IngestionPlugin:
        """An instance of plugin ``name`` built with ``context`` (None: the plugin's default).

        An :class:`~floe_core.errors.IngestionException` raised by the plugin's ``__init__``
        (e.g. a ConfigurationError about its settings) propagates as is; any other exception
        becomes ``PLUGIN_LOAD_FAILED``, chained.
        """
        plugin_class = self.get(name)
        try:
            return plugin_class(context)
        except IngestionException:
            raise
        except Exception as exc:
            raise PluginError(
                ErrorCode.PLUGIN_LOAD_FAILED,
                f"ingestion plugin {name!r} ({_qualified_name(plugin_class)}) failed to "
                f"initialise: {_one_line(exc)}; check its settings (plugins.ingestion.config "
                "in platform-manifest.yaml) or report the error to the plugin's authors",
                plugin_name=name,
                plugin=plugin_class,
            ) from exc

    def list(self) -> list[PluginInfo]:
        """One :class:`PluginInfo` per name, sorted by name, loading each plugin.

        A plugin that cannot be loaded or breaks the contract is listed with its status and
        error and reported with a :class:`PluginWarning`; this method does not raise for it.
        """
        infos: list[PluginInfo] = []
        for name in self.names():
            registered = self._registered.get(name)
            if registered is not None:
                infos.append(_info(name, registered, None, "registered"))
                continue
            outcome = self._load(name)
            if outcome.failure is not None:
                warnings.warn(outcome.failure.message, PluginWarning, stacklevel=2)
            infos.append(_outcome_info(name, outcome))
        return infos

    def __repr__(self) -> str:
        return f"<PluginRegistry group={self._group!r} registered={sorted(self._registered)}>"

    # -- discovery and loading -------------------------------------------------------------

    def _installed_entry_points(self) -> Iterable[EntryPoint]:
        return importlib.metadata.entry_points(group=self._group)

    def _discover(self) -> _EntryPointsByName:
        if self._discovered is None:
            found: _EntryPointsByName = {}
            seen: set[tuple[str | None, str, str]] = set()
            for entry_point in self._entry_points_source():
                if entry_point.group != self._group:
                    continue
                dist = entry_point.dist
                # The same distribution reachable twice on sys.path is one plugin, not a clash.
                key = (_normalise(dist.name) if dist else None, entry_point.name, entry_point.value)
                if key in seen:
                    continue
                seen.add(key)
                found.setdefault(entry_point.name, []).append(entry_point)
            self._discovered = found
        return self._discovered

    def _load(self, name: str) -> _Outcome:
        candidates = self._discover().get(name)
        if not candidates:  # not cached: a later register() changes the installed names
            return _Outcome(None, failure=self._not_found(name))
        outcome = self._outcomes.get(name)
        if outcome is None:
            outcome = self._load_entry_points(name, candidates)
            self._outcomes[name] = outcome
        return outcome

    def _load_entry_points(self, name: str, candidates: _EntryPoints) -> _Outcome:
        if len(candidates) > 1:
            return _Outcome(None, failure=_duplicate(name, candidates))
        entry_point = candidates[0]
        origin = _Origin.of_entry_point(entry_point)
        try:
            loaded = entry_point.load()
        except Exception as exc:  # anything a plugin's import can raise, SyntaxError included
            message = (
                f"ingestion plugin {name!r} failed to load ({origin.where}): {_one_line(exc)}; "
                f"{_reinstall_advice(origin)}"
            )
            failure = _Failure(
                "broken",
                ErrorCode.PLUGIN_LOAD_FAILED,
                message,
                name,
                origin.details(),
                cause=exc,
            )
            return _Outcome(origin, failure=failure)
        try:
            plugin_class = _validate(loaded, name, origin)
        except PluginError as exc:
            failure = _Failure(
                "incompatible", exc.code, str(exc), name, exc.error.details or {}, plugin=loaded
            )
            return _Outcome(origin, failure=failure)
        return _Outcome(origin, plugin_class=plugin_class)

    def _not_found(self, name: str) -> _Failure:
        installed = self.names()
        message = f"no ingestion plugin named {name!r}."
        suggestions = _close_matches(name, installed)
        if suggestions:
            message += f" Did you mean {' or '.join(repr(s) for s in suggestions)}?"
        listed = ", ".join(installed) if installed else "none"
        message += (
            f" Installed plugins: {listed}. To add one, install the distribution that publishes "
            f"it under the {self._group!r} entry-point group, "
            f"e.g. `pip install floe-ingestion-{name.replace('_', '-')}`."
        )
        return _Failure(
            "broken",
            ErrorCode.PLUGIN_NOT_FOUND,
            message,
            name,
            {"installed": installed, "suggestions": suggestions},
        )


def validate_plugin_class(obj: object, *, name: str) -> type[IngestionPlugin]:
    """``obj`` as a plugin class if it satisfies the contract for the plugin called ``name``.

    Otherwise raises :class:`PluginError` (``PLUGIN_INCOMPATIBLE``) listing every problem found
    and how to fix each; the error's ``plugin`` is ``obj``. Plugin test suites may call it.
    """
    return _validate(obj, name, _Origin.of_class(obj))


def _validate(obj: object, name: str, origin: _Origin) -> type[IngestionPlugin]:
    problems = _contract_problems(obj, name, registered=origin.kind == "registered")
    if problems:
        listed = (
            problems[0]
            if len(problems) == 1
            else "; ".join(f"({i}) {problem}" for i, problem in enumerate(problems, 1))
        )
        raise PluginError(
            ErrorCode.PLUGIN_INCOMPATIBLE,
            f"ingestion plugin {name!r} ({origin.where}) does not satisfy floe's plugin "
            f"contract: {listed}",
            plugin_name=name,
            plugin=obj,
            details={**origin.details(), "problems": problems},
        )
    return cast("type[IngestionPlugin]", obj)  # _contract_problems checked it is one


def _contract_problems(obj: object, name: str, *, registered: bool) -> list[str]:
    """What is wrong with ``obj`` as the plugin called ``name``, each with its fix."""
    if not inspect.isclass(obj):
        return [
            f"it is {type(obj).__name__} {_short_repr(obj)}, not a class: point the entry "
            "point at your IngestionPlugin subclass ('package.module:ClassName')"
        ]
    if not issubclass(obj, IngestionPlugin):
        return [
            f"class {_qualified_name(obj)} does not subclass floe_core.plugin.IngestionPlugin: "
            "derive it from IngestionPlugin"
        ]
    problems: list[str] = []
    abstract = sorted(getattr(obj, "__abstractmethods__", ()))
    if abstract:
        problems.append(
            f"it leaves abstract methods unimplemented: implement {', '.join(abstract)}"
        )
    published_as = "registered as" if registered else "published under the entry-point name"
    declared = getattr(obj, "name", None)
    if declared is None:
        problems.append(f"it sets no `name`: add `name = {name!r}`")
    elif declared != name:
        problems.append(
            f"it declares name = {declared!r} but is {published_as} {name!r}: make the two equal"
        )
    version = getattr(obj, "version", None)
    if not isinstance(version, str) or not version.strip():
        problems.append(
            f"it sets no `version` (got {version!r}): add a non-empty string such as "
            '`version = "1.0.0"`, usually its distribution\'s version'
        )
    if not hasattr(obj, "is_external"):
        problems.append(
            "it sets no `is_external`: add `is_external = False` "
            "(True only when the work runs in a service outside floe)"
        )
    elif not isinstance(obj.is_external, bool):
        problems.append(f"it sets is_external = {obj.is_external!r}: use True or False")
    api_problem = _api_version_problem(getattr(obj, "floe_api_version", None))
    if api_problem:
        problems.append(api_problem)
    init_problem = _init_problem(obj)
    if init_problem:
        problems.append(init_problem)
    return problems


def _api_version_problem(api_version: object) -> str | None:
    if isinstance(api_version, str) and is_api_compatible(api_version):
        return None
    parts = api_version.split(".") if isinstance(api_version, str) else []
    if len(parts) != 2 or not all(part.isdigit() for part in parts):
        return (
            f"floe_api_version = {api_version!r} is not a 'MAJOR.MINOR' string: set "
            f"floe_api_version = {FLOE_API_VERSION!r}, the plugin API this floe offers"
        )
    floe_major = int(FLOE_API_VERSION.split(".")[0])
    if int(parts[0]) < floe_major:
        advice = f"install a release of the plugin built for plugin API {floe_major}.x"
    else:
        advice = "upgrade floe-core, or install an older release of the plugin"
    return (
        f"it needs plugin API {api_version} but this floe offers plugin API "
        f"{FLOE_API_VERSION}: {advice}"
    )


def _init_problem(plugin_class: type[Any]) -> str | None:
    try:
        signature = inspect.signature(plugin_class)
    except (TypeError, ValueError):  # no introspectable signature: let create() find out
        return None
    try:
        signature.bind(None)
    except TypeError:
        return (
            f"its __init__({', '.join(signature.parameters)}) cannot be called as "
            f"{plugin_class.__name__}(context): take the optional PluginContext as the one "
            "positional argument and read settings from context.settings"
        )
    return None


def _duplicate(name: str, candidates: list[EntryPoint]) -> _Failure:
    origins = [_Origin.of_entry_point(entry_point) for entry_point in candidates]
    distributions = [origin.distribution for origin in origins if origin.distribution]
    message = (
        f"ingestion plugin {name!r} is published more than once: "
        f"{' and '.join(origin.where for origin in origins)}; "
    )
    if distributions:
        message += f"uninstall all but one distribution (e.g. `pip uninstall {distributions[-1]}`)"
    else:
        message += "remove all but one of these entry points"
    details: dict[str, Any] = {
        "distributions": distributions,
        "entry_points": [entry_point.value for entry_point in candidates],
    }
    return _Failure("broken", ErrorCode.PLUGIN_INCOMPATIBLE, message, name, details)


def _reinstall_advice(origin: _Origin) -> str:
    if origin.distribution is None:
        return "fix the module it names, or the entry point's value ('package.module:ClassName')"
    dist = origin.distribution
    return (
        f"reinstall it (`pip install --force-reinstall {dist}`) or install a release that "
        f"works with this environment, or remove it (`pip uninstall {dist}`)"
    )


def _info(
    name: str,
    plugin_class: type[IngestionPlugin],
    origin: _Origin | None,
    kind: PluginOrigin,
) -> PluginInfo:
    return PluginInfo(
        name=name,
        version=plugin_class.version,
        is_external=plugin_class.is_external,
        distribution=origin.distribution if origin else None,
        status="ok",
        error=None,
        origin=kind,
    )


def _outcome_info(name: str, outcome: _Outcome) -> PluginInfo:
    if outcome.plugin_class is not None:
        return _info(name, outcome.plugin_class, outcome.origin, "entry point")
    failure = outcome.failure
    assert failure is not None
    distributions = failure.details.get("distributions")
    origin = outcome.origin
    return PluginInfo(
        name=name,
        version=origin.distribution_version if origin else None,
        is_external=None,
        distribution=", ".join(distributions)
        if distributions
        else (origin.distribution if origin else None),
        status=failure.status,
        error=failure.message,
        origin="entry point",
    )


def _close_matches(name: str, candidates: Iterable[str]) -> list[str]:
    """Close names, compared case-insensitively (``DLT`` suggests ``dlt``)."""
    by_lower: dict[str, str] = {}
    for candidate in candidates:
        by_lower.setdefault(candidate.lower(), candidate)
    matches = difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)
    return [by_lower[match] for match in matches]


def _normalise(distribution_name: str) -> str:
    return distribution_name.lower().replace("_", "-").replace(".", "-")


def _qualified_name(obj: object) -> str:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    return f"{module}.{qualname}" if module else qualname


def _short_repr(obj: object, limit: int = 60) -> str:
    text = repr(obj)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
