"""Sources declared in ``floe.yaml``: what a pipeline extracts, built fresh for every run.

A pipeline's ``source`` is either one of dlt's three core sources, configured declaratively,
or the dotted path of any dlt source or resource function. The ``dlt:`` block of the pipeline
(``IngestionConfig.options``, the block minus the keys lifted into the config) takes::

    source: rest_api | sql_database | filesystem | package.module.function
    resource: issues            # or a list: select resources of a multi-resource source
    args: {...}                 # keyword arguments of the source function
    http: {max_attempts: 5, backoff_factor: 1, max_retry_delay: 300, timeout: 60}
                                # rest_api only; default: dlt's RUNTIME__REQUEST_* settings

* ``rest_api``: ``args`` is dlt's REST API config (``client``, ``resources``,
  ``resource_defaults``), passed as is (``dlt.rest_api`` is accepted in its place). dlt's
  client retries 429 and 5xx answers itself, honouring ``Retry-After``, up to
  ``http.max_attempts`` times; what still fails reaches floe's runner as ``RATE_LIMITED`` /
  ``SERVICE_UNAVAILABLE``.
* ``sql_database``: ``args`` are dlt's ``sql_database`` arguments (``table_names``, ``schema``,
  ``chunk_size``...); ``backend`` defaults to ``pyarrow`` (8-12x faster than row dicts) and,
  when ``table_names`` is given, reflection is deferred to extraction (so building the source
  needs no database connection). The connection string comes from ``secret_refs.credentials``.
* ``filesystem``: ``args`` take ``bucket_url`` (a URL, or a path relative to the project),
  ``file_glob`` (default ``*``), ``reader`` (``csv``, ``jsonl`` or ``parquet``) and
  ``reader_args``; CSV and Parquet are read as Arrow batches. Other ``filesystem`` arguments
  (``credentials``, ``kwargs``, ``client_kwargs``) pass through.
* a dotted path (``my_sources.github.issues``): the module is imported (the project folder is
  put on ``sys.path`` for this) and the function called with ``args``.

``secret_refs`` maps an argument of the source function to a secret reference; the value is
resolved when the run starts and passed with ``.reveal()`` (``api_key: github-token`` sets
the argument ``api_key``; ``credentials: pg-url`` gives ``sql_database`` its connection
string). For ``rest_api``, whose arguments are the config's keys, a plain name goes into the
client's auth config: ``token: github-token`` sets ``client.auth.token`` (auth type bearer
unless ``client.auth.type`` says otherwise); ``api_key``, ``username``, ``password``... fill
the other auth types the same way. A dotted key is a path into the arguments
(``client.headers.X-Key``; numbers index lists). Secret values never reach logs, results or
error messages.

Errors in the declaration (unknown keys, a module that cannot be imported, a missing
function) are ``CONFIGURATION``/``INVALID_CONFIG`` and raised when the pipeline is created,
before anything runs.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from floe_core.config import IncrementalConfig, IngestionConfig
from floe_core.errors import ConfigurationError, ErrorCode
from floe_core.secrets import Secret

if TYPE_CHECKING:
    from dlt.extract.resource import DltResource

__all__ = [
    "CORE_SOURCES",
    "DeclaredSource",
    "SelectedData",
    "declare_source",
    "select_resources",
]

CORE_SOURCES = ("rest_api", "sql_database", "filesystem")
OPTION_KEYS = ("source", "resource", "args", "rest_api", "http")
READERS = ("csv", "jsonl", "parquet")
_REST_API_ARGS = ("client", "resources", "resource_defaults")
_HTTP_KEYS = {
    "max_attempts": "request_max_attempts",
    "backoff_factor": "request_backoff_factor",
    "max_retry_delay": "request_max_retry_delay",
    "timeout": "request_timeout",
}


@dataclass(frozen=True)
class DeclaredSource:
    """A validated source declaration; :meth:`build` makes a fresh dlt object per run.

    Holds secret *references* only. ``function`` is the imported object for a dotted path.
    """

    pipeline: str
    reference: str
    kind: str
    args: Mapping[str, Any] = field(default_factory=dict)
    resources: tuple[str, ...] = ()
    secret_refs: Mapping[str, str] = field(default_factory=dict)
    http: Mapping[str, Any] = field(default_factory=dict)
    project_dir: Path = field(default_factory=Path.cwd)
    function: Any = None

    @property
    def takes_incremental(self) -> bool:
        """Whether :meth:`build` places the cursor itself (``rest_api``: in its config)."""
        return self.kind == "rest_api"

    def build(
        self, secrets: Mapping[str, Secret], incremental: IncrementalConfig | None = None
    ) -> Any:
        """A new dlt source, resource or iterable, with ``secrets`` placed into its arguments.

        ``secrets`` is ``context.secrets.resolve_all(config.secret_refs)``: argument path ->
        Secret. ``incremental`` is used when :attr:`takes_incremental`; otherwise the caller
        applies it to the resources. Whatever the source function raises propagates (the
        plugin maps it).
        """
        kwargs = copy.deepcopy(dict(self.args))
        for path, secret in secrets.items():
            if self.kind == "rest_api" and "." not in path and path not in _REST_API_ARGS:
                path = f"client.auth.{path}"
            _set_path(kwargs, path, secret.reveal(), self.pipeline)
        if self.kind == "rest_api":
            if incremental is not None:
                _rest_api_cursor(kwargs, incremental, self.resources)
            return _build_rest_api(kwargs, self.http)
        if self.kind == "sql_database":
            return _build_sql_database(kwargs)
        if self.kind == "filesystem":
            return _build_filesystem(kwargs, self.project_dir)
        return _call_python_source(self.function, kwargs, self.reference)


@dataclass(frozen=True)
class SelectedData:
    """What to hand ``pipeline.run``, and the resources it will extract (hints go on these)."""

    data: Any
    resources: list[DltResource]


def declare_source(config: IngestionConfig, project_dir: Path) -> DeclaredSource:
    """Validate ``config.source`` and ``config.options`` into a :class:`DeclaredSource`.

    Imports a dotted-path module now, so a wrong path fails when the pipeline is created.
    """
    options = dict(config.options)
    where = f"pipeline {config.name!r}"
    unknown = sorted(set(options) - set(OPTION_KEYS))
    if unknown:
        raise _invalid(
            f"{where}: unknown key(s) {', '.join(unknown)} in its dlt block; allowed: "
            f"{', '.join(OPTION_KEYS)} (write_disposition, incremental, primary_key and "
            "secret_refs belong to the pipeline itself)",
        )
    reference = config.source
    if options.get("source") not in (None, reference):
        raise _invalid(
            f"{where}: dlt.source {options['source']!r} differs from the pipeline's source "
            f"{reference!r}; keep one"
        )
    args = _mapping(options.get("args"), f"{where}: dlt.args")
    resources = _resource_names(options.get("resource"), where)
    http = _mapping(options.get("http"), f"{where}: dlt.http")
    bad_http = sorted(set(http) - set(_HTTP_KEYS))
    if bad_http:
        raise _invalid(f"{where}: dlt.http accepts {', '.join(_HTTP_KEYS)}, not {bad_http}")
    secret_refs = dict(config.secret_refs or {})
    common: dict[str, Any] = {
        "pipeline": config.name,
        "reference": reference,
        "resources": resources,
        "secret_refs": secret_refs,
        "project_dir": project_dir,
    }
    if reference == "rest_api":
        rest_config = _mapping(options.get("rest_api"), f"{where}: dlt.rest_api")
        if rest_config and args:
            raise _invalid(f"{where}: give the REST API config in dlt.args or dlt.rest_api")
        rest_config = rest_config or args
        if not rest_config.get("client") or not rest_config.get("resources"):
            raise _invalid(
                f"{where}: source rest_api needs dlt's REST API config in dlt.args: "
                "client: {base_url: ...} and resources: [...]"
            )
        return DeclaredSource(kind="rest_api", args=rest_config, http=http, **common)
    for key in ("rest_api", "http"):
        if key in options:
            raise _invalid(f"{where}: dlt.{key} applies only to source rest_api")
    if reference == "sql_database":
        if "credentials" not in secret_refs and "credentials" not in args:
            raise _invalid(
                f"{where}: source sql_database needs a connection string: add "
                "secret_refs: {credentials: <secret reference>} (the secret holds e.g. "
                "postgresql+psycopg2://user:password@host/db)"
            )
        return DeclaredSource(kind="sql_database", args=args, **common)
    if reference == "filesystem":
        if not args.get("bucket_url"):
            raise _invalid(
                f"{where}: source filesystem needs dlt.args.bucket_url (a folder, file:// or "
                "s3:// URL)"
            )
        if args.get("reader") not in READERS:
            raise _invalid(
                f"{where}: source filesystem needs dlt.args.reader, one of {', '.join(READERS)}"
            )
        return DeclaredSource(kind="filesystem", args=args, **common)
    function = import_source(reference, project_dir, where)
    return DeclaredSource(kind="python", args=args, function=function, **common)


def import_source(reference: str, project_dir: Path, where: str) -> Any:
    """Import ``package.module.attribute``; ConfigurationError(INVALID_CONFIG) says what failed."""
    module_path, _, attribute = reference.rpartition(".")
    if not module_path or not attribute:
        raise _invalid(
            f"{where}: source {reference!r} is neither a core source ({', '.join(CORE_SOURCES)}) "
            "nor a dotted path to a dlt source or resource function (package.module.function)"
        )
    project = str(project_dir.resolve())
    if project not in sys.path:
        sys.path.insert(0, project)  # a project's own source modules sit next to floe.yaml
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_path == missing or module_path.startswith(missing + "."):
            raise _invalid(
                f"{where}: source {reference!r}: no module named {missing!r}; check the dotted "
                f"path, and that the package is installed or the module is in {project}"
            ) from None
        raise _invalid(
            f"{where}: source {reference!r}: module {module_path!r} imports {missing!r}, which "
            "is not installed; install it"
        ) from None
    except Exception as exc:
        raise _invalid(
            f"{where}: source {reference!r}: importing module {module_path!r} raised "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    try:
        found = getattr(module, attribute)
    except AttributeError:
        if hasattr(module, "__path__") and importlib.util.find_spec(reference) is not None:
            raise _invalid(
                f"{where}: source {reference!r} is a module; name the source or resource "
                "function inside it"
            ) from None
        raise _invalid(
            f"{where}: module {module_path!r} has no {attribute!r}; it defines "
            f"{', '.join(_public_callables(module)) or 'no functions'}"
        ) from None
    if isinstance(found, ModuleType):
        raise _invalid(
            f"{where}: source {reference!r} is a module; name the source or resource function "
            "inside it"
        )
    return found


def select_resources(data: Any, names: tuple[str, ...], default_name: str) -> SelectedData:
    """Normalise ``data`` for ``pipeline.run`` and list the resources it extracts.

    A dlt source keeps its selected resources (narrowed to ``names`` if given; an unknown name
    raises dlt's ``ResourcesNotFoundError``, mapped to ``SOURCE_NOT_FOUND``); a resource is
    used as is; a list of resources becomes those resources; anything else (rows, a generator,
    Arrow tables, a function returning them) becomes one resource named ``default_name``.
    """
    import dlt
    from dlt.extract.resource import DltResource
    from dlt.extract.source import DltSource

    if isinstance(data, DltSource):
        source = data.with_resources(*names) if names else data
        return SelectedData(source, list(source.selected_resources.values()))
    if isinstance(data, DltResource):
        _check_names([data], names)
        return SelectedData(data, [data])
    if isinstance(data, list | tuple) and data and all(isinstance(r, DltResource) for r in data):
        chosen = [r for r in data if not names or r.name in names]
        _check_names(list(data), names)
        return SelectedData(chosen, chosen)
    resource = dlt.resource(data, name=default_name)
    return SelectedData(resource, [resource])


def _check_names(resources: list[DltResource], names: tuple[str, ...]) -> None:
    from dlt.extract.exceptions import ResourcesNotFoundError

    available = {resource.name for resource in resources}
    if set(names) - available:
        source_name = resources[0].source_name if resources else "?"
        raise ResourcesNotFoundError(source_name, available, set(names))


def _call_python_source(function: Any, kwargs: dict[str, Any], reference: str) -> Any:
    from dlt.extract.resource import DltResource
    from dlt.extract.source import DltSource

    if isinstance(function, DltSource):
        if kwargs:
            raise _invalid(f"source {reference!r} is a source object; it takes no dlt.args")
        return function.clone()
    if isinstance(function, DltResource):
        if not function.args_bound:
            return function(**kwargs)
        if kwargs:
            raise _invalid(f"source {reference!r} is a bound resource; it takes no dlt.args")
        return function.with_name(function.name)  # a copy: hints floe applies stay per run
    if callable(function):
        return function(**kwargs)
    if kwargs:
        raise _invalid(f"source {reference!r} is not callable; it takes no dlt.args")
    return function


def _build_rest_api(config: dict[str, Any], http: Mapping[str, Any]) -> Any:
    from dlt.sources.helpers.requests import Client
    from dlt.sources.rest_api import rest_api_source

    client = config.setdefault("client", {})
    if isinstance(client, dict) and "session" not in client:
        client["session"] = Client(raise_for_status=False, **_http_settings(http)).session
    return rest_api_source(config)  # type: ignore[arg-type]


def _rest_api_cursor(
    config: dict[str, Any], incremental: IncrementalConfig, selected: tuple[str, ...]
) -> None:
    """Put floe's cursor in the ``incremental`` of each selected endpoint of ``config``."""
    from floe_ingestion_dlt.incremental import rest_api_incremental

    resources = config.get("resources")
    if not isinstance(resources, list):
        return
    for index, entry in enumerate(resources):
        if isinstance(entry, str):  # dlt's shorthand: the name is the path
            entry = {"name": entry, "endpoint": {"path": entry}}
        if not isinstance(entry, dict) or (selected and entry.get("name") not in selected):
            continue
        endpoint = entry.get("endpoint") or {}
        endpoint = {"path": endpoint} if isinstance(endpoint, str) else dict(endpoint)
        endpoint["incremental"] = rest_api_incremental(incremental, endpoint.get("incremental"))
        resources[index] = {**entry, "endpoint": endpoint}


def _http_settings(http: Mapping[str, Any]) -> dict[str, Any]:
    """dlt's request retry settings (``RUNTIME__REQUEST_*``), overridden by ``dlt.http``.

    dlt's REST client otherwise ignores the runtime settings and always uses its defaults.
    """
    from dlt.common.configuration import resolve_configuration
    from dlt.common.configuration.specs import RuntimeConfiguration

    runtime = resolve_configuration(RuntimeConfiguration())
    settings = {name: getattr(runtime, name) for name in _HTTP_KEYS.values()}
    settings.update({_HTTP_KEYS[key]: value for key, value in http.items()})
    return settings


def _build_sql_database(kwargs: dict[str, Any]) -> Any:
    from dlt.sources.sql_database import sql_database

    kwargs.setdefault("backend", "pyarrow")
    kwargs.setdefault("detect_precision_hints", None)  # dlt's default value warns (deprecated)
    if kwargs.get("table_names"):
        kwargs.setdefault("defer_table_reflect", True)
    return sql_database(**kwargs)


def _build_filesystem(kwargs: dict[str, Any], project_dir: Path) -> Any:
    import dlt
    from dlt.sources.filesystem import filesystem, read_jsonl, read_parquet

    reader = kwargs.pop("reader")
    reader_args = dict(kwargs.pop("reader_args", None) or {})
    kwargs["bucket_url"] = _bucket_url(str(kwargs["bucket_url"]), project_dir)
    files = filesystem(**kwargs)
    if reader == "csv":
        return files | dlt.transformer(name="read_csv")(_read_csv_arrow)(**reader_args)
    if reader == "parquet":
        reader_args.setdefault("use_pyarrow", True)
        return files | read_parquet(**reader_args).with_name("read_parquet")
    return files | read_jsonl(**reader_args).with_name("read_jsonl")


def _bucket_url(value: str, project_dir: Path) -> str:
    if "://" in value:
        return value
    path = Path(value)
    return (path if path.is_absolute() else project_dir / path).resolve().as_uri()


def _read_csv_arrow(
    items: Any,
    delimiter: str = ",",
    block_size: int = 4 << 20,
    column_types: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """Stream CSV files as Arrow record batches (no pandas; types inferred per file).

    ``column_types`` pins types by name (``{"amount": "double"}``) where inference from the
    first block of a file could guess too narrow a type.
    """
    import pyarrow as pa
    from pyarrow import csv

    types = {name: pa.type_for_alias(alias) for name, alias in (column_types or {}).items()}
    for file_item in items:
        with file_item.open() as handle:
            reader = csv.open_csv(
                handle,
                read_options=csv.ReadOptions(block_size=block_size),
                parse_options=csv.ParseOptions(delimiter=delimiter),
                convert_options=csv.ConvertOptions(column_types=types),
            )
            for batch in reader:
                if batch.num_rows:
                    yield batch


def _set_path(target: dict[str, Any], path: str, value: Any, pipeline: str) -> None:
    """Set ``value`` at dotted ``path`` in ``target``, creating dicts on the way."""
    parts = path.split(".")
    node: Any = target
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise _invalid(
                    f"pipeline {pipeline!r}: secret_refs path {path!r}: {part!r} is not an "
                    f"index of a list of {len(node)}"
                )
            index = int(part)
            if last:
                node[index] = value
            else:
                node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
        else:
            raise _invalid(
                f"pipeline {pipeline!r}: secret_refs path {path!r} goes through "
                f"{'.'.join(parts[:depth])!r}, which is not a mapping or list"
            )


def _mapping(value: Any, what: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _invalid(f"{what} must be a mapping, not {type(value).__name__}")
    return dict(value)


def _resource_names(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _invalid(f"{where}: dlt.resource must be a resource name or a list of names")


def _public_callables(module: ModuleType) -> list[str]:
    return sorted(
        name
        for name, value in vars(module).items()
        if not name.startswith("_") and callable(value) and not isinstance(value, type)
    )[:20]


def _invalid(message: str) -> ConfigurationError:
    return ConfigurationError(ErrorCode.INVALID_CONFIG, message)
