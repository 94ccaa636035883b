"""PluginRegistry: discovery, validation, errors, listing, laziness and caching.

Most tests point real ``importlib.metadata.EntryPoint`` objects at the modules in
``tests/registry_fixtures/floe_registry_fixtures``; the last ones build and install real
distributions with uv into a temporary folder and use the registry's default discovery.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from floe_core.errors import ConfigurationError, ErrorCategory, ErrorCode
from floe_core.plugin import FLOE_API_VERSION, PluginContext
from floe_core.registry import (
    ENTRY_POINT_GROUP,
    PluginError,
    PluginInfo,
    PluginRegistry,
    PluginWarning,
    default_registry,
    validate_plugin_class,
)

FIXTURES_DIR = Path(__file__).parent / "registry_fixtures"
PKG = "floe_registry_fixtures"


def _forget_modules(prefix: str) -> None:
    for module in [m for m in sys.modules if m == prefix or m.startswith(prefix + ".")]:
        del sys.modules[module]


@pytest.fixture
def import_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Puts the fixture package on sys.path (fresh) and yields its IMPORT_LOG."""
    _forget_modules(PKG)
    monkeypatch.syspath_prepend(str(FIXTURES_DIR))
    import floe_registry_fixtures

    yield floe_registry_fixtures.IMPORT_LOG
    _forget_modules(PKG)


def ep(name: str, target: str, group: str = ENTRY_POINT_GROUP) -> EntryPoint:
    """An entry point ``name = floe_registry_fixtures.<target>``."""
    return EntryPoint(name, f"{PKG}.{target}", group)


def registry_of(*entry_points: EntryPoint) -> PluginRegistry:
    return PluginRegistry(entry_points=lambda: list(entry_points))


def incompatible(registry: PluginRegistry, name: str) -> PluginError:
    with pytest.raises(PluginError) as caught:
        registry.get(name)
    assert caught.value.code is ErrorCode.PLUGIN_INCOMPATIBLE
    assert caught.value.error.category is ErrorCategory.CONFIGURATION
    return caught.value


# -- loading a valid plugin ------------------------------------------------------------------


def test_get_returns_the_validated_class_and_create_builds_it(
    import_log: list[str], tmp_path: Path
) -> None:
    registry = registry_of(ep("good", "plugins:GoodPlugin"))
    plugin_class = registry.get("good")
    from floe_registry_fixtures.plugins import GoodPlugin

    assert plugin_class is GoodPlugin
    context = PluginContext(project_dir=tmp_path, settings={"k": "v"})
    plugin = registry.create("good", context)
    assert isinstance(plugin, GoodPlugin)
    assert plugin.context is context
    default = registry.create("good")
    assert isinstance(default.context, PluginContext)
    assert default is not plugin


def test_loaded_class_and_discovery_are_cached(import_log: list[str]) -> None:
    discoveries: list[int] = []
    loads: list[str] = []

    class CountingEntryPoint(EntryPoint):
        def load(self) -> object:
            loads.append(self.name)
            return super().load()

    def entry_points() -> list[EntryPoint]:
        discoveries.append(1)
        return [CountingEntryPoint("good", f"{PKG}.plugins:GoodPlugin", ENTRY_POINT_GROUP)]

    registry = PluginRegistry(entry_points=entry_points)
    assert discoveries == []  # constructing reads nothing
    first = registry.get("good")
    assert registry.get("good") is first
    registry.list()
    registry.names()
    assert loads == ["good"]
    assert discoveries == [1]


def test_failures_are_cached_so_a_broken_module_is_imported_once(import_log: list[str]) -> None:
    registry = registry_of(ep("explodes", "explodes:Plugin"))
    with pytest.warns(PluginWarning):
        registry.list()
    for _ in range(2):
        with pytest.raises(PluginError, match="broken on purpose"):
            registry.get("explodes")
    assert import_log.count(f"{PKG}.explodes") == 1


def test_entry_points_of_other_groups_and_repeats_are_ignored(import_log: list[str]) -> None:
    good = ep("good", "plugins:GoodPlugin")
    registry = registry_of(good, good, ep("alien", "explodes:Plugin", group="other.group"))
    assert registry.names() == ["good"]
    assert registry.get("good").name == "good"  # the same entry point twice is no clash


# -- laziness --------------------------------------------------------------------------------


def test_names_imports_no_plugin(import_log: list[str]) -> None:
    registry = registry_of(
        ep("zeta", "plugins:GoodPlugin"),
        ep("explodes", "explodes:Plugin"),
        ep("missing_dependency", "missing_dependency:Plugin"),
    )
    assert registry.names() == ["explodes", "missing_dependency", "zeta"]
    assert import_log == []
    assert f"{PKG}.explodes" not in sys.modules
    assert f"{PKG}.plugins" not in sys.modules


def test_get_imports_only_the_plugin_asked_for(import_log: list[str]) -> None:
    registry = registry_of(ep("good", "plugins:GoodPlugin"), ep("explodes", "explodes:Plugin"))
    registry.get("good")
    assert import_log == [f"{PKG}.plugins"]


def test_importing_the_registry_stays_light() -> None:
    code = (
        "import sys, floe_core.registry\n"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'dlt', 'dagster', 'pyiceberg'})\n"
        "print(','.join(heavy))\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


# -- unknown names -----------------------------------------------------------------------------


def test_unknown_name_lists_installed_plugins_and_how_to_install(import_log: list[str]) -> None:
    registry = registry_of(ep("dlt", "plugins:GoodPlugin"), ep("airbyte", "plugins:GoodPlugin"))
    with pytest.raises(PluginError) as caught:
        registry.get("salesforce_bulk")
    error = caught.value
    assert isinstance(error, ConfigurationError)
    assert error.code is ErrorCode.PLUGIN_NOT_FOUND
    message = str(error)
    assert "no ingestion plugin named 'salesforce_bulk'" in message
    assert "Installed plugins: airbyte, dlt." in message
    assert "pip install floe-ingestion-salesforce-bulk" in message
    assert "'floe.ingestion'" in message
    assert "Did you mean" not in message
    assert error.plugin_name == "salesforce_bulk"
    assert error.error.details is not None
    assert error.error.details["installed"] == ["airbyte", "dlt"]
    assert import_log == []  # nothing is imported to say a name is unknown


@pytest.mark.parametrize(
    ("asked", "suggested"),
    [("dtl", "'dlt'"), ("DLT", "'dlt'"), ("airbite", "'airbyte'")],
)
def test_unknown_name_suggests_close_names(
    import_log: list[str], asked: str, suggested: str
) -> None:
    registry = registry_of(ep("dlt", "plugins:GoodPlugin"), ep("airbyte", "plugins:GoodPlugin"))
    registry.register(_good_class(), name="good")
    with pytest.raises(PluginError, match=f"Did you mean {suggested}\\?"):
        registry.get(asked)


def test_unknown_name_message_follows_later_registrations(import_log: list[str]) -> None:
    registry = registry_of()
    with pytest.raises(PluginError, match="Installed plugins: none"):
        registry.get("goodd")
    registry.register(_good_class())
    with pytest.raises(PluginError, match="Did you mean 'good'\\? Installed plugins: good\\."):
        registry.get("goodd")


def test_unknown_name_with_nothing_installed() -> None:
    registry = registry_of()
    assert registry.names() == []
    assert registry.list() == []
    with pytest.raises(PluginError, match="Installed plugins: none"):
        registry.create("dlt")


# -- plugins that fail to load -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "cause_type", "text"),
    [
        ("explodes:Plugin", RuntimeError, "RuntimeError: this plugin module is broken on purpose"),
        (
            "missing_dependency:Plugin",
            ModuleNotFoundError,
            "ModuleNotFoundError: No module named 'floe_dependency_that_is_not_installed'",
        ),
        ("plugins:NoSuchClass", AttributeError, "AttributeError:"),
        ("no_such_module:Plugin", ModuleNotFoundError, "No module named"),
    ],
)
def test_load_failure_is_a_chained_plugin_load_failed(
    import_log: list[str], target: str, cause_type: type[BaseException], text: str
) -> None:
    registry = registry_of(ep("broken", target))
    with pytest.raises(PluginError) as caught:
        registry.get("broken")
    error = caught.value
    assert error.code is ErrorCode.PLUGIN_LOAD_FAILED
    assert isinstance(error.__cause__, cause_type)
    message = str(error)
    assert message.startswith("ingestion plugin 'broken' failed to load")
    assert f"entry point 'broken = {PKG}.{target}'" in message
    assert text in message
    assert "\n" not in message
    assert error.error.details == {
        "plugin": "broken",
        "origin": "entry point",
        "entry_point": f"{PKG}.{target}",
    }


def test_syntax_error_in_a_plugin_is_a_load_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "floe_registry_syntax_error.py").write_text("def broken(:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = registry_of(EntryPoint("bad", "floe_registry_syntax_error:P", ENTRY_POINT_GROUP))
    try:
        with pytest.raises(PluginError) as caught:
            registry.get("bad")
    finally:
        _forget_modules("floe_registry_syntax_error")
    assert caught.value.code is ErrorCode.PLUGIN_LOAD_FAILED
    assert isinstance(caught.value.__cause__, SyntaxError)
    assert "SyntaxError:" in str(caught.value)
    assert "floe_registry_syntax_error.py" in str(caught.value)


def test_load_failure_names_the_distribution_and_how_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    project = _write_project(
        tmp_path / "broken",
        dist="floe-ingestion-shaky",
        version="2.0.1",
        package="floe_ingestion_shaky",
        entry_points={"shaky": "floe_ingestion_shaky:ShakyPlugin"},
        source="import floe_dependency_that_is_not_installed\n",
    )
    _uv_install(site, project)
    monkeypatch.syspath_prepend(str(site))
    registry = PluginRegistry()
    try:
        with pytest.raises(PluginError) as caught:
            registry.get("shaky")
        with pytest.warns(PluginWarning, match="'shaky' failed to load"):
            infos = {info.name: info for info in registry.list()}
    finally:
        _forget_modules("floe_ingestion_shaky")
    message = str(caught.value)
    assert "from distribution floe-ingestion-shaky 2.0.1" in message
    assert "pip install --force-reinstall floe-ingestion-shaky" in message
    assert "pip uninstall floe-ingestion-shaky" in message
    assert caught.value.error.details is not None
    assert caught.value.error.details["distribution"] == "floe-ingestion-shaky"
    shaky = infos["shaky"]
    assert (shaky.status, shaky.distribution, shaky.version) == (
        "broken",
        "floe-ingestion-shaky",
        "2.0.1",
    )
    assert shaky.is_external is None


# -- contract validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "attr", "fragments"),
    [
        ("not_a_class", "NOT_A_CLASS", ["it is int 42, not a class: point the entry point at"]),
        ("factory", "make_plugin", ["it is function", "not a class", "'package.module:ClassName'"]),
        (
            "not_a_plugin",
            "NotAPlugin",
            [f"class {PKG}.plugins.NotAPlugin does not subclass floe_core.plugin.IngestionPlugin"],
        ),
        (
            "abstract",
            "AbstractPlugin",
            [
                "it leaves abstract methods unimplemented: implement create_dagster_assets, "
                "get_destination_config, run"
            ],
        ),
        ("nameless", "NamelessPlugin", ["it sets no `name`: add `name = 'nameless'`"]),
        (
            "misnamed",
            "MisnamedPlugin",
            [
                "it declares name = 'other_name' but is published under the entry-point name "
                "'misnamed': make the two equal"
            ],
        ),
        ("versionless", "VersionlessPlugin", ["it sets no `version` (got None): add"]),
        ("empty_version", "EmptyVersionPlugin", ["it sets no `version` (got ''): add"]),
        ("undecided", "UndecidedPlugin", ["it sets no `is_external`: add `is_external = False`"]),
        ("stringly", "StringlyExternalPlugin", ["it sets is_external = 'yes': use True or False"]),
        (
            "future_api",
            "FutureApiPlugin",
            [
                f"it needs plugin API 2.0 but this floe offers plugin API {FLOE_API_VERSION}: "
                "upgrade floe-core"
            ],
        ),
        ("newer_minor", "NewerMinorPlugin", ["needs plugin API 1.99", "upgrade floe-core"]),
        (
            "old_api",
            "OldApiPlugin",
            ["needs plugin API 0.9", "install a release of the plugin built for plugin API 1.x"],
        ),
        (
            "garbage_api",
            "GarbageApiPlugin",
            [
                "floe_api_version = 'latest' is not a 'MAJOR.MINOR' string: set "
                f"floe_api_version = {FLOE_API_VERSION!r}"
            ],
        ),
        (
            "needs_arguments",
            "NeedsArgumentsPlugin",
            [
                "its __init__(workspace_url, api_token) cannot be called as "
                "NeedsArgumentsPlugin(context)",
                "read settings from context.settings",
            ],
        ),
    ],
)
def test_each_contract_violation_is_plugin_incompatible(
    import_log: list[str], name: str, attr: str, fragments: list[str]
) -> None:
    registry = registry_of(ep(name, f"plugins:{attr}"))
    error = incompatible(registry, name)
    message = str(error)
    assert message.startswith(
        f"ingestion plugin {name!r} (entry point '{name} = {PKG}.plugins:{attr}') "
        "does not satisfy floe's plugin contract: "
    )
    for fragment in fragments:
        assert fragment in message
    assert "(1)" not in message  # a single problem is not numbered
    from floe_registry_fixtures import plugins

    assert error.plugin is getattr(plugins, attr)  # the offender travels with the error
    assert error.plugin_name == name
    assert error.error.details is not None
    assert error.error.details["entry_point"] == f"{PKG}.plugins:{attr}"


def test_every_problem_of_a_plugin_is_reported_at_once(import_log: list[str]) -> None:
    registry = registry_of(ep("many", "plugins:ManyProblemsPlugin"))
    message = str(incompatible(registry, "many"))
    assert "(1) it leaves abstract methods unimplemented" in message
    assert "; (2) it declares name = 'not_many'" in message
    assert "; (3) it sets no `version`" in message
    assert "; (4) it needs plugin API 3.1" in message
    assert "(5)" not in message


def test_the_current_api_version_and_older_minors_are_accepted(import_log: list[str]) -> None:
    from floe_registry_fixtures.plugins import ExternalPlugin

    assert validate_plugin_class(ExternalPlugin, name="external") is ExternalPlugin
    major = FLOE_API_VERSION.split(".")[0]
    older_minor = type("OlderMinor", (ExternalPlugin,), {"floe_api_version": f"{major}.0"})
    assert validate_plugin_class(older_minor, name="external") is older_minor


# -- create() --------------------------------------------------------------------------------


def test_create_wraps_a_crashing_constructor(import_log: list[str]) -> None:
    registry = registry_of(ep("init_crash", "plugins:InitCrashPlugin"))
    with pytest.raises(PluginError) as caught:
        registry.create("init_crash")
    assert caught.value.code is ErrorCode.PLUGIN_LOAD_FAILED
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert "failed to initialise: RuntimeError: cannot start" in str(caught.value)
    assert "plugins.ingestion.config" in str(caught.value)


def test_create_lets_the_plugins_own_configuration_error_through(
    import_log: list[str], tmp_path: Path
) -> None:
    registry = registry_of(ep("init_refuses", "plugins:InitRefusesSettingsPlugin"))
    with pytest.raises(ConfigurationError) as caught:
        registry.create("init_refuses", PluginContext(project_dir=tmp_path))
    assert not isinstance(caught.value, PluginError)
    assert caught.value.code is ErrorCode.INVALID_CONFIG
    context = PluginContext(project_dir=tmp_path, settings={"workspace_url": "http://127.0.0.1"})
    assert registry.create("init_refuses", context).context is context


# -- list() ----------------------------------------------------------------------------------


def test_list_reports_every_plugin_and_warns_for_bad_ones(import_log: list[str]) -> None:
    registry = registry_of(
        ep("good", "plugins:GoodPlugin"),
        ep("external", "plugins:ExternalPlugin"),
        ep("explodes", "explodes:Plugin"),
        ep("future_api", "plugins:FutureApiPlugin"),
    )
    with pytest.warns(PluginWarning) as caught:
        infos = registry.list()
    assert [info.name for info in infos] == ["explodes", "external", "future_api", "good"]
    by_name = {info.name: info for info in infos}
    assert by_name["good"] == PluginInfo(
        name="good",
        version="1.2.3",
        is_external=False,
        distribution=None,
        status="ok",
        error=None,
        origin="entry point",
    )
    assert by_name["good"].ok
    assert (by_name["external"].is_external, by_name["external"].version) == (True, "0.9.0")
    explodes = by_name["explodes"]
    assert (explodes.status, explodes.version, explodes.is_external) == ("broken", None, None)
    assert explodes.error is not None
    assert "RuntimeError: this plugin module is broken on purpose" in explodes.error
    future = by_name["future_api"]
    assert future.status == "incompatible"
    assert future.error is not None
    assert "needs plugin API 2.0" in future.error
    assert not future.ok
    warned = sorted(str(w.message) for w in caught)
    assert warned == sorted([explodes.error, future.error])


def test_a_bad_plugin_does_not_stop_a_good_one_from_being_used(import_log: list[str]) -> None:
    registry = registry_of(ep("good", "plugins:GoodPlugin"), ep("explodes", "explodes:Plugin"))
    with pytest.warns(PluginWarning):
        registry.list()
    assert registry.create("good").name == "good"


# -- register() ------------------------------------------------------------------------------


def _good_class() -> type:
    from floe_registry_fixtures.plugins import GoodPlugin

    return GoodPlugin


def test_register_adds_a_plugin_without_entry_points(import_log: list[str]) -> None:
    registry = registry_of()
    good = _good_class()
    registry.register(good)
    registry.register(good)  # the same class again is a no-op
    assert registry.names() == ["good"]
    assert registry.get("good") is good
    assert registry.list() == [
        PluginInfo("good", "1.2.3", False, None, "ok", None, "registered"),
    ]


def test_registration_wins_over_an_entry_point_of_the_same_name(import_log: list[str]) -> None:
    registry = registry_of(ep("good", "explodes:Plugin"))
    registry.register(_good_class())
    assert registry.get("good") is _good_class()
    assert [info.origin for info in registry.list()] == ["registered"]
    assert f"{PKG}.explodes" not in import_log  # the shadowed entry point is never imported


def test_register_validates_at_once(import_log: list[str]) -> None:
    from floe_registry_fixtures import plugins

    registry = registry_of()
    with pytest.raises(PluginError) as caught:
        registry.register(plugins.NotAPlugin)  # type: ignore[arg-type]
    assert caught.value.code is ErrorCode.PLUGIN_INCOMPATIBLE
    assert caught.value.plugin is plugins.NotAPlugin
    assert f"(registered class {PKG}.plugins.NotAPlugin)" in str(caught.value)
    with pytest.raises(PluginError, match="declares name = 'good' but is registered as 'alias'"):
        registry.register(plugins.GoodPlugin, name="alias")
    with pytest.raises(PluginError, match=r"'NamelessPlugin'.*sets no `name`"):
        registry.register(plugins.NamelessPlugin)
    assert registry.names() == []


def test_register_refuses_a_second_class_under_a_taken_name(import_log: list[str]) -> None:
    good = _good_class()
    twin = type("TwinPlugin", (good,), {})
    registry = registry_of()
    registry.register(good)
    with pytest.raises(ValueError, match="'good' is already registered"):
        registry.register(twin)
    assert registry.get("good") is good


# -- duplicates and registries -----------------------------------------------------------------


def test_two_entry_points_for_one_name_are_an_error_naming_both(import_log: list[str]) -> None:
    registry = registry_of(ep("good", "plugins:GoodPlugin"), ep("good", "plugins:ExternalPlugin"))
    assert registry.names() == ["good"]
    error = incompatible(registry, "good")
    assert f"'good = {PKG}.plugins:GoodPlugin'" in str(error)
    assert f"'good = {PKG}.plugins:ExternalPlugin'" in str(error)
    assert "remove all but one of these entry points" in str(error)
    assert import_log == []  # neither is imported


def test_default_registry_is_new_each_time() -> None:
    first, second = default_registry(), default_registry()
    assert first is not second
    assert first.group == ENTRY_POINT_GROUP
    first.register(_standalone_plugin())
    assert "standalone" in first.names()
    assert "standalone" not in second.names()


def _standalone_plugin() -> type:
    """A valid plugin defined here, so this test needs no fixture modules."""
    from floe_core.plugin import IngestionPlugin

    class StandalonePlugin(IngestionPlugin):
        name = "standalone"
        version = "0.0.1"
        is_external = False

        def create_pipeline(self, config: object) -> object:
            return config

        def run(self, pipeline: object, **kwargs: object) -> object:
            raise NotImplementedError

        def get_destination_config(self, catalog_config: object) -> dict[str, object]:
            return {}

        def create_dagster_assets(self, configs: object) -> list[object]:
            return []

    return StandalonePlugin


# -- real installed distributions (uv into a temporary target) ---------------------------------

_THROWAWAY_SOURCE = """
from floe_core.plugin import IngestionPlugin
from floe_core.result import IngestionResult


class ThrowawayPlugin(IngestionPlugin):
    name = "{name}"
    version = "{version}"
    is_external = True

    def create_pipeline(self, config):
        return {{"pipeline": config.name}}

    def run(self, pipeline, **kwargs):
        return IngestionResult(
            success=True, rows_loaded=0, tables_created=[], duration_seconds=0.0
        )

    def get_destination_config(self, catalog_config):
        return dict(catalog_config)

    def create_dagster_assets(self, configs):
        return []
"""


def _write_project(
    root: Path,
    *,
    dist: str,
    version: str,
    package: str,
    entry_points: dict[str, str],
    source: str,
) -> Path:
    """A minimal project built by uv's own build backend (no download needed)."""
    (root / "src" / package).mkdir(parents=True)
    (root / "src" / package / "__init__.py").write_text(source)
    lines = "\n".join(f'{name} = "{value}"' for name, value in entry_points.items())
    (root / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""\
            [build-system]
            requires = ["uv_build>=0.8"]
            build-backend = "uv_build"

            [project]
            name = "{dist}"
            version = "{version}"
            requires-python = ">=3.11"

            [project.entry-points."{ENTRY_POINT_GROUP}"]
            """
        )
        + lines
        + "\n"
    )
    return root


def _uv() -> str:
    uv = Path(sys.executable).parent / "uv"
    assert uv.exists(), f"uv is expected next to the interpreter, at {uv}"
    return str(uv)


def _uv_install(site: Path, *projects: Path) -> None:
    done = subprocess.run(
        [
            *(_uv(), "pip", "install", "--python", sys.executable, "--no-deps", "--quiet"),
            *("--target", str(site), *map(str, projects)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture
def install_target(tmp_path: Path) -> Iterator[Path]:
    """A fresh install target; put on sys.path by the test, forgotten afterwards."""
    yield tmp_path / "site"
    _forget_modules("floe_ingestion_throwaway")
    _forget_modules("floe_ingestion_twin_a")
    _forget_modules("floe_ingestion_twin_b")


def test_a_really_installed_distribution_is_discovered_and_created(
    tmp_path: Path, install_target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = _write_project(
        tmp_path / "throwaway",
        dist="floe-ingestion-throwaway",
        version="0.3.1",
        package="floe_ingestion_throwaway",
        entry_points={"throwaway": "floe_ingestion_throwaway:ThrowawayPlugin"},
        source=_THROWAWAY_SOURCE.format(name="throwaway", version="0.3.1"),
    )
    _uv_install(install_target, project)
    monkeypatch.syspath_prepend(str(install_target))

    registry = PluginRegistry()  # default discovery: the installed metadata
    assert "throwaway" in registry.names()
    assert "floe_ingestion_throwaway" not in sys.modules
    info = next(info for info in registry.list() if info.name == "throwaway")
    assert info == PluginInfo(
        name="throwaway",
        version="0.3.1",
        is_external=True,
        distribution="floe-ingestion-throwaway",
        status="ok",
        error=None,
        origin="entry point",
    )
    plugin = registry.create("throwaway", PluginContext(project_dir=tmp_path))
    assert type(plugin).__module__ == "floe_ingestion_throwaway"
    assert plugin.context.project_dir == tmp_path
    assert plugin.get_destination_config({"uri": "sqlite://"}) == {"uri": "sqlite://"}

    with pytest.raises(PluginError, match="Did you mean 'throwaway'"):
        registry.get("throwaway_")


def test_two_real_distributions_publishing_one_name_are_listed_broken(
    tmp_path: Path, install_target: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    projects = [
        _write_project(
            tmp_path / suffix,
            dist=f"floe-ingestion-twin-{suffix}",
            version=f"1.0.{i}",
            package=f"floe_ingestion_twin_{suffix}",
            entry_points={"twin": f"floe_ingestion_twin_{suffix}:ThrowawayPlugin"},
            source=_THROWAWAY_SOURCE.format(name="twin", version="1.0.0"),
        )
        for i, suffix in enumerate(["a", "b"])
    ]
    _uv_install(install_target, *projects)
    monkeypatch.syspath_prepend(str(install_target))

    registry = PluginRegistry()
    assert registry.names().count("twin") == 1
    with pytest.raises(PluginError) as caught:
        registry.get("twin")
    message = str(caught.value)
    assert caught.value.code is ErrorCode.PLUGIN_INCOMPATIBLE
    assert "is published more than once" in message
    assert "floe-ingestion-twin-a 1.0.0" in message
    assert "floe-ingestion-twin-b 1.0.1" in message
    assert "pip uninstall floe-ingestion-twin-" in message
    with pytest.warns(PluginWarning, match="published more than once"):
        twin = next(info for info in registry.list() if info.name == "twin")
    assert twin.status == "broken"
    assert twin.distribution is not None
    assert sorted(twin.distribution.split(", ")) == [
        "floe-ingestion-twin-a",
        "floe-ingestion-twin-b",
    ]
    assert "floe_ingestion_twin_a" not in sys.modules
    assert "floe_ingestion_twin_b" not in sys.modules
