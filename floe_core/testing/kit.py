"""`IngestionPluginConformance`: floe's plugin contract as a pytest test class.

A plugin's test module subclasses it and gets the whole suite::

    from floe_core.testing import IngestionPluginConformance
    from my_package.plugin import MyPlugin

    class TestMyPlugin(IngestionPluginConformance):
        plugin_class = MyPlugin
        entry_point_name = "my_source"

The checks, one test each (failure messages say what the plugin must do):

* ``test_metadata``: ``name``/``version``/``is_external``/``floe_api_version`` have the right
  types, the API version is set explicitly and compatible, ``name`` equals the entry-point name,
  and ``run`` accepts ``source=``;
* ``test_entry_point_resolves_to_plugin_class``: the installed ``floe.ingestion`` entry point
  loads, through :class:`~floe_core.registry.PluginRegistry`, exactly ``plugin_class``;
* ``test_create_pipeline_rejects_invalid_config``: every config of :meth:`invalid_configs`
  raises :class:`~floe_core.errors.ConfigurationError` naming the offending key, writing nothing;
* ``test_successful_run``: ``plugin.run(pipeline, source=...)`` returns a complete
  :class:`~floe_core.result.IngestionResult` and the rows really are in the Iceberg table, read
  back through a fresh catalog (once with dict rows, once with pyarrow batches);
* ``test_auth_failure``, ``test_rate_limit``, ``test_failure_midway``: a failing source,
  run through :class:`~floe_core.runner.IngestionRunner`, ends with the right classified
  :class:`~floe_core.errors.IngestionError` (PERMANENT/AUTH_FAILED; TRANSIENT/RATE_LIMITED
  with ``retry_after_seconds``; PARTIAL with exactly the committed rows, or the source's own
  error when nothing was committed), once per failure style (``http`` and ``floe``);
* ``test_missing_secret``: an unresolvable ``secret_refs`` entry is a CONFIGURATION/
  SECRET_MISSING error naming the reference, and nothing is written;
* ``test_no_secret_in_outputs``: a canary secret (planted through ``secret_refs`` and the
  environment) appears in no result, error, log record or printed output, even when the
  source's own error message contains it;
* ``test_destination_config_targets_iceberg``: ``get_destination_config`` says Iceberg, names
  the catalog, and holds secret references, never values;
* ``test_create_dagster_assets``: returns a list of Dagster asset definitions, one or more per
  config, loadable together with floe's ``floe`` resource, writing nothing. It fails (never
  skips) without dagster.

Class attributes to set: ``plugin_class`` (required), ``entry_point_name`` (default: the
class's ``name``), ``supports_mock_source`` (False for external plugins, which then override the
``failure_scenarios`` fixture, see :mod:`floe_core.testing.scenarios`), ``failure_styles``,
``source_shapes``, ``commits_incrementally`` (True if the plugin commits batches while it reads:
a source failing midway must then give PARTIAL), ``verify_rows_in_catalog`` (False only for an
external service that cannot write to the test's catalog).

Hooks: :meth:`make_config`, :meth:`make_rows`, :meth:`invalid_configs`,
:meth:`canary_secret_refs`, :meth:`dagster_resources`. Fixtures (override with a fixture of
the same name): ``plugin_settings``, ``plugin_context``, ``plugin``, ``catalog``,
``ingestion_config``, ``mock_source``, ``failure_scenarios``, ``floe_canary``.
"""

from __future__ import annotations

import inspect
import json
import logging
import traceback
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

import pytest

from floe_core.catalog import CatalogConfig
from floe_core.config import IngestionConfig
from floe_core.errors import ConfigurationError, ErrorCategory, ErrorCode, IngestionError
from floe_core.plugin import FLOE_API_VERSION, IngestionPlugin, PluginContext
from floe_core.registry import ENTRY_POINT_GROUP, PluginError, PluginRegistry, validate_plugin_class
from floe_core.result import IngestionResult
from floe_core.retry import RetryPolicy
from floe_core.runner import IngestionRunner
from floe_core.secrets import env_var_name
from floe_core.testing.catalogs import compare_rows, fresh_catalog, make_context, read_table_rows
from floe_core.testing.pytest_plugin import CATALOG_URI_OPTION
from floe_core.testing.scenarios import (
    SOURCE_SHAPES,
    MockSourceScenarios,
    Scenario,
    ScenarioDriver,
)
from floe_core.testing.sources import FAILURE_STYLES, MockSource, sample_rows

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

__all__ = ["CATALOG_URI_OPTION", "Canary", "IngestionPluginConformance"]


RETRY_AFTER_SECONDS = 60
_PREFIX = "floe conformance"


@dataclass(frozen=True)
class Canary:
    """A secret planted for one test: ``reference`` resolves (environment) to ``value``."""

    reference: str
    value: str


def _qualified(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _fail(check: str, message: str) -> NoReturn:
    pytest.fail(f"[{_PREFIX}: {check}] {message}", pytrace=False)


def _fail_all(check: str, problems: Sequence[str], *, source: str | None = None) -> None:
    """Fail with every problem listed; ``source`` completes "with a source that ..."."""
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        context = f"with a source that {source}, " if source else ""
        _fail(check, f"{context}{len(problems)} problem(s):\n{listed}")


def _with(config: IngestionConfig, **changes: Any) -> IngestionConfig:
    """A copy of ``config`` with ``changes``, validated again."""
    return IngestionConfig.model_validate({**config.model_dump(), **changes})


class IngestionPluginConformance:
    """Base class of a plugin's conformance tests: see the module docstring."""

    plugin_class: ClassVar[type[IngestionPlugin]]
    entry_point_name: ClassVar[str | None] = None
    supports_mock_source: ClassVar[bool] = True
    failure_styles: ClassVar[tuple[str, ...]] = FAILURE_STYLES
    source_shapes: ClassVar[tuple[str, ...]] = SOURCE_SHAPES
    commits_incrementally: ClassVar[bool] = False
    verify_rows_in_catalog: ClassVar[bool] = True

    namespace: str
    """A fresh Iceberg namespace for each test (``kit_<hex>``); default tables go there."""

    # -- hooks ----------------------------------------------------------------------------------

    def make_config(self, **overrides: Any) -> IngestionConfig:
        """A valid pipeline config for this plugin; ``overrides`` replace fields.

        Override to add the plugin's own ``options`` (keep merging ``overrides`` last)::

            def make_config(self, **overrides):
                return super().make_config(**{"options": {"batch_size": 2}, **overrides})
        """
        values: dict[str, Any] = {
            "name": "kit_pipeline",
            "source": "mock_source",
            "destination_table": f"{self.namespace}.events",
            "plugin": self._expected_name(),
        }
        values.update(overrides)
        return IngestionConfig.model_validate(values)

    def make_rows(self) -> list[dict[str, Any]]:
        """The rows mock sources yield: ``id``, ``name``, ``amount``, ``active``, six of them."""
        return sample_rows(6)

    def invalid_configs(self) -> dict[str, tuple[IngestionConfig, str]]:
        """Configs ``create_pipeline`` must reject: label -> (config, text the error must name).

        The default has one: an unknown key in the plugin's ``options`` block (a typo must
        never pass silently). Add the plugin's own cases with
        ``{**super().invalid_configs(), ...}``.
        """
        base = self.make_config()
        typo = "floe_kit_no_such_option"
        return {
            f"an unknown key {typo!r} in the plugin's options block": (
                _with(base, options={**base.options, typo: True}),
                typo,
            )
        }

    def canary_secret_refs(self, reference: str) -> dict[str, str]:
        """The ``secret_refs`` that make the plugin resolve secret ``reference``."""
        return {"token": reference}

    def dagster_resources(self) -> dict[str, Any]:
        """The resources Dagster assets are loaded with: floe's ``floe`` resource, as deployed."""
        from floe_core.dagster import RESOURCE_KEY, FloeProjectResource

        return {RESOURCE_KEY: FloeProjectResource()}

    # -- fixtures -------------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _floe_kit_setup(self) -> None:
        if not isinstance(getattr(type(self), "plugin_class", None), type):
            _fail(
                "setup",
                f"{type(self).__name__} must set `plugin_class = YourPlugin` (the IngestionPlugin "
                "subclass under test)",
            )
        self.namespace = f"kit_{uuid.uuid4().hex[:10]}"

    @pytest.fixture
    def plugin_settings(self) -> Mapping[str, Any]:
        """The plugin's platform settings (``plugins.ingestion.config``); empty by default."""
        return {}

    @pytest.fixture
    def plugin_context(
        self,
        tmp_path: Path,
        plugin_settings: Mapping[str, Any],
        request: pytest.FixtureRequest,
    ) -> PluginContext:
        """A context whose project folder is the test's tmp folder (embedded catalog there)."""
        catalog_uri = request.config.getoption(CATALOG_URI_OPTION, default=None)
        project = tmp_path / "project"
        project.mkdir(exist_ok=True)
        return make_context(project, settings=plugin_settings, catalog_uri=catalog_uri)

    @pytest.fixture
    def plugin(self, plugin_context: PluginContext) -> IngestionPlugin:
        """``plugin_class(plugin_context)``."""
        try:
            return self.plugin_class(plugin_context)
        except Exception as exc:
            _fail(
                "setup",
                f"{_qualified(self.plugin_class)}(context) raised {type(exc).__name__}: {exc}; "
                "a plugin must be constructible from its PluginContext alone",
            )

    @pytest.fixture
    def catalog(self, plugin_context: PluginContext) -> Catalog:
        """A catalog object of its own on the plugin's catalog (sees only committed data)."""
        return fresh_catalog(plugin_context)

    @pytest.fixture
    def ingestion_config(self) -> IngestionConfig:
        """``make_config()``."""
        return self.make_config()

    @pytest.fixture
    def mock_source(self) -> MockSource:
        """A :class:`MockSource` of :meth:`make_rows` (for the ADR's fluent style)."""
        return MockSource(self.make_rows(), name="kit_pipeline")

    @pytest.fixture
    def failure_scenarios(self) -> ScenarioDriver:
        """The scenario driver: mock sources, unless the plugin cannot take one."""
        if not self.supports_mock_source:
            _fail(
                "setup",
                f"{type(self).__name__} sets supports_mock_source = False, so it must override "
                "the `failure_scenarios` fixture with a ScenarioDriver that scripts the external "
                "service (see floe_core.testing.scenarios)",
            )
        return MockSourceScenarios()

    @pytest.fixture
    def floe_canary(self, monkeypatch: pytest.MonkeyPatch) -> Canary:
        """A secret whose value is set in the environment for this test only."""
        canary = Canary("floe-kit-canary-token", f"canary-{uuid.uuid4().hex}")
        monkeypatch.setenv(env_var_name(canary.reference), canary.value)
        return canary

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Runs the failure tests once per failure style and the success test per source shape."""
        cls = metafunc.cls
        assert cls is not None
        external = not cls.supports_mock_source
        if "failure_style" in metafunc.fixturenames:
            styles = ("external",) if external else cls.failure_styles
            unknown = [style for style in styles if style not in (*FAILURE_STYLES, "external")]
            if unknown or not styles:
                raise ValueError(
                    f"{cls.__name__}.failure_styles = {styles!r}: use some of {FAILURE_STYLES}"
                )
            metafunc.parametrize("failure_style", styles)
        if "source_shape" in metafunc.fixturenames:
            shapes = ("external",) if external else cls.source_shapes
            unknown = [shape for shape in shapes if shape not in (*SOURCE_SHAPES, "external")]
            if unknown or not shapes:
                raise ValueError(
                    f"{cls.__name__}.source_shapes = {shapes!r}: use some of {SOURCE_SHAPES}"
                )
            metafunc.parametrize("source_shape", shapes)

    # -- helpers --------------------------------------------------------------------------------

    def _expected_name(self) -> str:
        name = self.entry_point_name or getattr(self.plugin_class, "name", None)
        return name if isinstance(name, str) and name else "unnamed"

    def run_through_runner(
        self, plugin: IngestionPlugin, config: IngestionConfig, scenario: Scenario
    ) -> IngestionResult:
        """One attempt through :class:`IngestionRunner` (no retry, no sleeping)."""
        runner = IngestionRunner(plugin, retry=RetryPolicy.no_retry(), sleep=lambda _: None)
        try:
            return runner.run(config, **scenario.run_kwargs)
        except Exception as exc:  # the runner never raises for ingestion failures
            _fail(
                "runner",
                f"IngestionRunner.run raised {type(exc).__name__}: {exc}; this is a floe bug or "
                "the plugin raised something that is not an Exception",
            )

    def _failed(self, check: str, result: IngestionResult, scenario: Scenario) -> IngestionError:
        if result.success or result.error is None:
            _fail(
                check,
                f"a source that {scenario.description} must make the run fail, but the result "
                f"says success={result.success}, rows_loaded={result.rows_loaded}; the plugin "
                "must not swallow a source's exception",
            )
        assert result.error is not None
        return result.error

    def _expect(
        self,
        check: str,
        error: IngestionError,
        scenario: Scenario,
        category: ErrorCategory,
        code: ErrorCode,
        advice: str,
    ) -> None:
        if error.category is category and error.code is code:
            return
        got = f"{error.category.value}/{error.code.value} ({error.message})"
        if error.code is ErrorCode.UNKNOWN:
            raised = (error.details or {}).get("exception_type", "an exception")
            got += (
                f". UNKNOWN means the plugin let {raised} through unclassified: catch it and "
                "raise the floe exception that says what happened"
            )
        _fail(
            check,
            f"a source that {scenario.description} must end the run with "
            f"{category.value}/{code.value}; it ended with {got}. {advice}",
        )

    def _advice(self, style: str, floe_way: str, http_way: str) -> str:
        if style == "floe":
            return (
                f"The source raised {floe_way} itself: let floe exceptions propagate from run() "
                "(or return their .error) instead of wrapping them."
            )
        if style == "http":
            return http_way
        return f"Map the external service's answer to {floe_way}."

    def _create_pipeline(self, plugin: IngestionPlugin, config: IngestionConfig) -> Any:
        try:
            return plugin.create_pipeline(config)
        except Exception as exc:
            _fail(
                "create_pipeline",
                f"create_pipeline raised {type(exc).__name__} for a valid config "
                f"({config.model_dump(exclude_defaults=True)}): {exc}. If make_config() is "
                "missing an option your plugin needs, override make_config in the test class.\n"
                + traceback.format_exc(),
            )

    # -- the contract ---------------------------------------------------------------------------

    def test_metadata(self) -> None:
        """name, version, is_external, floe_api_version; name == entry point; run(source=)."""
        cls = self.plugin_class
        problems: list[str] = []
        try:
            validate_plugin_class(cls, name=self._expected_name())
        except PluginError as exc:
            problems.append(str(exc))
        declared = any(
            "floe_api_version" in vars(klass)
            for klass in cls.__mro__
            if klass is not IngestionPlugin and issubclass(klass, IngestionPlugin)
        )
        if not declared:
            problems.append(
                f"{_qualified(cls)} does not set floe_api_version; set it to the contract "
                f"version it was written for (floe_api_version = {FLOE_API_VERSION!r}), or it "
                "inherits every floe's own version and the compatibility check cannot protect "
                "your users"
            )
        if self.supports_mock_source:
            parameters = inspect.signature(cls.run).parameters.values()
            if not any(
                p.name == "source" or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters
            ):
                problems.append(
                    f"{_qualified(cls)}.run takes no `source` argument: accept "
                    "`run(self, pipeline, source=None, **kwargs)`, where a given source replaces "
                    "the configured one (or set supports_mock_source = False for an external "
                    "plugin)"
                )
        _fail_all("metadata", problems)

    def test_entry_point_resolves_to_plugin_class(self) -> None:
        """The ``floe.ingestion`` entry point loads exactly ``plugin_class``."""
        cls = self.plugin_class
        name = self._expected_name()
        registry = PluginRegistry()
        declare = (
            "declare it in your pyproject.toml:\n"
            f'    [project.entry-points."{ENTRY_POINT_GROUP}"]\n'
            f'    {name} = "{cls.__module__}:{cls.__qualname__}"\n'
            "and reinstall your distribution (pip install -e .)"
        )
        if name not in registry.names():
            _fail(
                "entry point",
                f"no {ENTRY_POINT_GROUP!r} entry point named {name!r} is installed "
                f"(installed: {', '.join(registry.names()) or 'none'}); {declare}",
            )
        try:
            loaded = registry.get(name)
        except PluginError as exc:
            _fail("entry point", f"the entry point {name!r} does not load: {exc}")
        if loaded is not cls:
            _fail(
                "entry point",
                f"the entry point {name!r} resolves to {_qualified(loaded)}, not "
                f"{_qualified(cls)}; {declare}",
            )

    def test_create_pipeline_rejects_invalid_config(
        self, plugin: IngestionPlugin, catalog: Catalog
    ) -> None:
        """Each of :meth:`invalid_configs` raises ConfigurationError naming the key."""
        problems: list[str] = []
        for label, (config, must_name) in self.invalid_configs().items():
            try:
                plugin.create_pipeline(config)
            except ConfigurationError as exc:
                if must_name not in str(exc):
                    problems.append(
                        f"{label}: the ConfigurationError does not name {must_name!r}, so the "
                        f"user cannot find the mistake; it says: {exc}"
                    )
            except Exception as exc:
                problems.append(
                    f"{label}: create_pipeline raised {type(exc).__name__}: {exc}; raise "
                    "floe_core.errors.ConfigurationError(ErrorCode.INVALID_CONFIG, ...) "
                    "naming the key and what is expected"
                )
            else:
                problems.append(
                    f"{label}: create_pipeline accepted it; reject it with "
                    "ConfigurationError(ErrorCode.INVALID_CONFIG, ...) naming the key and what "
                    "is expected"
                )
            if catalog.table_exists(config.destination_table):
                problems.append(f"{label}: table {config.destination_table} was written anyway")
        _fail_all("config validation", problems)

    def test_successful_run(
        self,
        plugin: IngestionPlugin,
        catalog: Catalog,
        failure_scenarios: ScenarioDriver,
        source_shape: str,
    ) -> None:
        """``plugin.run`` returns a complete result and the rows are in the Iceberg table."""
        config = self.make_config()
        scenario = failure_scenarios.success(config, self.make_rows(), shape=source_shape)
        pipeline = self._create_pipeline(plugin, config)
        call = f"plugin.run(pipeline, {', '.join(f'{k}=...' for k in scenario.run_kwargs)})"
        try:
            result = plugin.run(pipeline, **scenario.run_kwargs)
        except Exception as exc:
            _fail(
                "successful run",
                f"{call} raised {type(exc).__name__} for a source that {scenario.description}: "
                f"{exc}\n{traceback.format_exc()}",
            )
        if not isinstance(result, IngestionResult):
            _fail(
                "successful run",
                f"{call} returned {type(result).__name__}; it must return an IngestionResult",
            )
        expected = scenario.yielded_rows
        table = config.destination_table
        problems: list[str] = []
        if result.success is not True or result.error is not None:
            problems.append(f"success is {result.success!r} with error {result.error}")
        if isinstance(result.rows_loaded, bool) or result.rows_loaded != len(expected):
            problems.append(
                f"rows_loaded is {result.rows_loaded!r} but the source yielded {len(expected)} "
                "rows; report the rows committed to Iceberg"
            )
        if not isinstance(result.tables_created, list) or not all(
            isinstance(t, str) for t in result.tables_created
        ):
            problems.append(f"tables_created must be a list of str, got {result.tables_created!r}")
        elif table not in result.tables_created:
            problems.append(
                f"tables_created is {result.tables_created!r}; this run created {table!r}, so it "
                "must list it (as namespace.table)"
            )
        duration = result.duration_seconds
        if isinstance(duration, bool) or not isinstance(duration, int | float) or duration < 0:
            problems.append(f"duration_seconds must be a number >= 0, got {duration!r}")
        outputs = [t for t in result.tables if t.identifier == table]
        if not outputs:
            problems.append(
                f"result.tables has no TableOutput for {table!r} (got "
                f"{[t.identifier for t in result.tables]}); list every table written, with its "
                "rows, location and snapshot: lineage names output datasets from it"
            )
        elif outputs[0].rows != len(expected):
            problems.append(
                f"result.tables says {outputs[0].rows} rows for {table!r}; {len(expected)} "
                "were committed"
            )
        if self.verify_rows_in_catalog:
            rows = read_table_rows(catalog, table)
            if rows is None:
                problems.append(
                    f"table {table!r} does not exist in the catalog; write through "
                    "self.context.catalog (create the namespace and table, then append)"
                )
            else:
                if len(rows) != len(expected):
                    problems.append(f"the table holds {len(rows)} rows, expected {len(expected)}")
                problems.extend(compare_rows(expected, rows))
        _fail_all("successful run", problems, source=scenario.description)

    def test_auth_failure(
        self,
        plugin: IngestionPlugin,
        catalog: Catalog,
        failure_scenarios: ScenarioDriver,
        failure_style: str,
    ) -> None:
        """Refused credentials give PERMANENT/AUTH_FAILED, not retryable, nothing loaded."""
        config = self.make_config()
        scenario = failure_scenarios.auth_failure(config, style=failure_style)
        result = self.run_through_runner(plugin, config, scenario)
        error = self._failed("auth failure", result, scenario)
        advice = self._advice(
            failure_style,
            "PermanentError(ErrorCode.AUTH_FAILED)",
            "Map requests.HTTPError whose response.status_code is 401 or 403 to "
            "floe_core.errors.PermanentError(ErrorCode.AUTH_FAILED, ...), chained with `from exc`.",
        )
        self._expect(
            "auth failure", error, scenario, ErrorCategory.PERMANENT, ErrorCode.AUTH_FAILED, advice
        )
        problems = []
        if error.retryable:
            problems.append("the error says retryable=True; an auth failure is never retried")
        if result.rows_loaded != 0:
            problems.append(f"rows_loaded is {result.rows_loaded}; nothing was yielded")
        _fail_all("auth failure", problems)

    def test_rate_limit(
        self,
        plugin: IngestionPlugin,
        failure_scenarios: ScenarioDriver,
        failure_style: str,
    ) -> None:
        """A rate limit gives TRANSIENT/RATE_LIMITED with the source's retry-after."""
        config = self.make_config()
        scenario = failure_scenarios.rate_limit(
            config, retry_after=RETRY_AFTER_SECONDS, style=failure_style
        )
        result = self.run_through_runner(plugin, config, scenario)
        error = self._failed("rate limit", result, scenario)
        advice = self._advice(
            failure_style,
            "TransientError(ErrorCode.RATE_LIMITED, retry_after_seconds=...)",
            "Map requests.HTTPError whose response.status_code is 429 to "
            "floe_core.errors.TransientError(ErrorCode.RATE_LIMITED, ..., "
            "retry_after_seconds=int(response.headers['Retry-After'])).",
        )
        self._expect(
            "rate limit", error, scenario, ErrorCategory.TRANSIENT, ErrorCode.RATE_LIMITED, advice
        )
        if error.retry_after_seconds != RETRY_AFTER_SECONDS:
            _fail(
                "rate limit",
                f"a source that {scenario.description} gave retry_after_seconds="
                f"{error.retry_after_seconds!r}; it must be {RETRY_AFTER_SECONDS}, what the "
                "source asked for, so the runner waits that long before retrying. " + advice,
            )

    def test_failure_midway(
        self,
        plugin: IngestionPlugin,
        catalog: Catalog,
        failure_scenarios: ScenarioDriver,
        failure_style: str,
    ) -> None:
        """A source failing midway: PARTIAL with exactly the rows committed, or its own error."""
        config = self.make_config()
        rows = self.make_rows()
        after = max(1, len(rows) * 2 // 3)
        scenario = failure_scenarios.fail_after(config, rows, after, style=failure_style)
        result = self.run_through_runner(plugin, config, scenario)
        error = self._failed("failure midway", result, scenario)
        problems: list[str] = []
        if self.verify_rows_in_catalog:
            committed = read_table_rows(catalog, config.destination_table) or []
            if len(committed) != result.rows_loaded:
                problems.append(
                    f"rows_loaded is {result.rows_loaded} but the table holds {len(committed)} "
                    "rows; after a failure, report exactly the rows that were committed "
                    "(return an IngestionResult with success=False, the committed rows_loaded "
                    "and the error, rather than raising)"
                )
            yielded = {row["id"] for row in scenario.yielded_rows}
            strays = [row.get("id") for row in committed if row.get("id") not in yielded]
            if strays:
                problems.append(f"the table holds rows the source never yielded: ids {strays}")
            count = len(committed)
        else:
            count = result.rows_loaded
        if count > 0:
            if error.category is not ErrorCategory.PARTIAL or error.code not in (
                ErrorCode.PARTIAL_LOAD,
                ErrorCode.PARTIAL_SYNC,
            ):
                problems.append(
                    f"{count} rows were committed before the failure, so the error must be "
                    f"PARTIAL/PARTIAL_LOAD (or PARTIAL_SYNC); it is {error}. Return "
                    "IngestionError(category=PARTIAL, code=PARTIAL_LOAD, failed_records=...)"
                )
            if error.failed_records is not None and error.failed_records < 0:
                problems.append(f"failed_records is {error.failed_records}")
        else:
            if self.commits_incrementally:
                problems.append(
                    f"the class sets commits_incrementally = True, yet nothing was committed "
                    f"before the source failed after {after} rows; commit in smaller batches "
                    "(set the batch size in make_config)"
                )
            if error.category is ErrorCategory.PARTIAL:
                problems.append(
                    f"nothing was committed, so the error must not be PARTIAL (it is {error}); "
                    "report the source's own failure"
                )
            elif self.supports_mock_source and (
                error.category is not ErrorCategory.TRANSIENT
                or error.code is not ErrorCode.NETWORK_ERROR
            ):
                problems.append(
                    f"nothing was committed, so the error must be the source's own: a lost "
                    f"connection is TRANSIENT/NETWORK_ERROR, got {error}. "
                    + self._advice(
                        failure_style,
                        "TransientError(ErrorCode.NETWORK_ERROR)",
                        "Map requests.ConnectionError (and requests.Timeout) to "
                        "TransientError(ErrorCode.NETWORK_ERROR / TIMEOUT, ...).",
                    )
                )
            elif error.code is ErrorCode.UNKNOWN:
                problems.append(f"the error is unclassified: {error}")
        _fail_all("failure midway", problems, source=scenario.description)

    def test_missing_secret(self, plugin: IngestionPlugin, catalog: Catalog) -> None:
        """An unresolvable secret reference is CONFIGURATION/SECRET_MISSING naming it."""
        reference = f"floe-kit-missing-{uuid.uuid4().hex[:8]}"
        config = self.make_config(secret_refs=self.canary_secret_refs(reference))
        scenario = Scenario({}, "is never reached (a secret is missing)")
        if self.supports_mock_source:
            scenario = Scenario({"source": MockSource(self.make_rows())}, scenario.description)
        result = self.run_through_runner(plugin, config, scenario)
        problems: list[str] = []
        error = result.error
        if result.success or error is None:
            problems.append(
                f"the run succeeded although secret {reference!r} (secret_refs "
                f"{config.secret_refs}) cannot be resolved; resolve secret_refs in "
                "create_pipeline with self.context.secrets.resolve_all(config.secret_refs)"
            )
        else:
            if (error.category, error.code) != (
                ErrorCategory.CONFIGURATION,
                ErrorCode.SECRET_MISSING,
            ):
                problems.append(
                    f"the error is {error}; a missing secret is CONFIGURATION/SECRET_MISSING "
                    "(self.context.secrets.resolve_all raises exactly that: let it propagate)"
                )
            if reference not in error.message:
                problems.append(f"the message does not name the reference {reference!r}")
        if catalog.table_exists(config.destination_table):
            problems.append(f"table {config.destination_table} was written without the secret")
        _fail_all("missing secret", problems)

    def test_no_secret_in_outputs(
        self,
        plugin: IngestionPlugin,
        failure_scenarios: ScenarioDriver,
        floe_canary: Canary,
        failure_style: str,
        caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str],
    ) -> None:
        """A canary secret shows up in no result, error, log or output, even in a source error."""
        caplog.set_level(logging.DEBUG)
        config = self.make_config(secret_refs=self.canary_secret_refs(floe_canary.reference))
        success = failure_scenarios.success(config, self.make_rows(), shape=self._any_shape())
        ok = self.run_through_runner(plugin, config, success)
        if not ok.success:
            _fail(
                "secrets",
                f"with secret_refs {config.secret_refs} (the secret is set) the run failed: "
                f"{str(ok.error).replace(floe_canary.value, '<value of the secret>')}; a plugin "
                "must accept secret_refs and resolve them through "
                "self.context.secrets",
            )
        leak = failure_scenarios.leak_secret(
            config.model_copy(update={"name": "kit_pipeline_leak"}),
            floe_canary.value,
            style=failure_style,
        )
        failed = self.run_through_runner(
            plugin, config.model_copy(update={"name": "kit_pipeline_leak"}), leak
        )
        captured = capsys.readouterr()
        outputs = {
            "the successful result": _dump(ok),
            "the failed result": _dump(failed),
            "the error's str()": str(failed.error),
            "log records": caplog.text,
            "stdout": captured.out,
            "stderr": captured.err,
        }
        leaked = [where for where, text in outputs.items() if floe_canary.value in text]
        if leaked:
            _fail(
                "secrets",
                f"the value of secret {floe_canary.reference!r} appears in {', '.join(leaked)} "
                f"(the source {leak.description}, its message containing the secret). Resolve "
                "secrets with self.context.secrets.resolve()/resolve_all() (the runner masks "
                "every value resolved that way) and never put a value in a result, error, "
                "log or print.",
            )

    def test_destination_config_targets_iceberg(
        self, plugin: IngestionPlugin, floe_canary: Canary
    ) -> None:
        """``get_destination_config`` says Iceberg, names the catalog, holds no secret value."""
        catalog_config = CatalogConfig(
            type="rest",
            name="kit_rest",
            uri="http://127.0.0.1:8181/catalog",
            warehouse="s3://floe-kit-warehouse/bronze",
            secret_refs={"credential": floe_canary.reference},
        ).model_dump(mode="json")
        try:
            destination = plugin.get_destination_config(catalog_config)
        except Exception as exc:
            _fail(
                "destination config",
                f"get_destination_config({catalog_config}) raised {type(exc).__name__}: {exc}; "
                "it must describe the Iceberg destination for a REST catalog",
            )
        if not isinstance(destination, Mapping):
            _fail(
                "destination config",
                f"get_destination_config returned {type(destination).__name__}; return a dict",
            )
        text = json.dumps(destination, default=repr)
        shown = text.replace(floe_canary.value, "<value of the secret>")
        problems: list[str] = []
        if "iceberg" not in text.lower():
            problems.append(
                f"it does not say it targets Iceberg: {shown}; all plugins write Iceberg tables "
                "(e.g. 'table_format': 'iceberg' or 'destination_type': 'iceberg')"
            )
        if not any(str(catalog_config[key]) in text for key in ("uri", "warehouse")):
            problems.append(
                f"it names neither the catalog uri nor the warehouse of {catalog_config}: {shown}"
            )
        if floe_canary.value in text:
            problems.append(
                f"it contains the value of secret {floe_canary.reference!r}; keep the reference "
                "(secret_refs), never the value"
            )
        _fail_all("destination config", problems)

    def test_create_dagster_assets(self, plugin: IngestionPlugin, catalog: Catalog) -> None:
        """A list of Dagster asset definitions, loadable together, writing nothing."""
        try:
            import dagster
        except ModuleNotFoundError:
            _fail(
                "dagster assets",
                "dagster is not installed, so create_dagster_assets cannot be checked; install "
                "the dagster extra: pip install 'floe-core[dagster]'",
            )
        configs = [
            self.make_config(name="kit_assets_a", destination_table=f"{self.namespace}.a"),
            self.make_config(name="kit_assets_b", destination_table=f"{self.namespace}.b"),
        ]
        try:
            assets = plugin.create_dagster_assets(configs)
        except Exception as exc:
            _fail(
                "dagster assets",
                f"create_dagster_assets raised {type(exc).__name__}: {exc}\n"
                + traceback.format_exc(),
            )
        if not isinstance(assets, list) or not assets:
            _fail(
                "dagster assets",
                f"create_dagster_assets returned {assets!r}; return a non-empty list of Dagster "
                "asset definitions (dagster.AssetsDefinition, e.g. from @dagster.asset)",
            )
        problems: list[str] = []
        kinds = (dagster.AssetsDefinition, dagster.AssetSpec)
        wrong = [type(a).__name__ for a in assets if not isinstance(a, kinds)]
        if wrong:
            problems.append(f"items of types {wrong} are not Dagster asset definitions")
        else:
            keys = set(_asset_keys(assets))
            if len(keys) < len(configs):
                problems.append(
                    f"{len(configs)} configs gave only {len(keys)} asset key(s): {sorted(keys)}"
                )
            try:
                definitions = dagster.Definitions(assets=assets, resources=self.dagster_resources())
                dagster.Definitions.validate_loadable(definitions)
            except Exception as exc:
                problems.append(f"the assets do not load together: {type(exc).__name__}: {exc}")
        for config in configs:
            if catalog.table_exists(config.destination_table):
                problems.append(f"building assets wrote table {config.destination_table}")
        _fail_all("dagster assets", problems)

    def _any_shape(self) -> str:
        return self.source_shapes[0] if self.supports_mock_source else "external"


def _dump(result: IngestionResult) -> str:
    return json.dumps(result.to_dict(), default=repr) + repr(result)


def _asset_keys(assets: Sequence[Any]) -> Iterator[str]:
    for asset in assets:
        keys = getattr(asset, "keys", None)
        if keys is not None:
            yield from (key.to_user_string() for key in keys)
        else:
            yield asset.key.to_user_string()
