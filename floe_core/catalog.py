"""The Iceberg catalog every plugin writes through (ARCHITECTURE.md, decision 4).

One :class:`CatalogConfig` block (the ``catalog:`` section of ``platform-manifest.yaml``)
describes it; :func:`load_catalog` turns it into a pyiceberg catalog:

* no block at all -> the **embedded default**: a SQLite ``SqlCatalog`` at
  ``<project>/.floe/catalog.db`` and a warehouse folder ``<project>/.floe/warehouse``, both
  created on first use, no service needed;
* ``type: sql`` with a ``postgresql+psycopg2://`` URI -> the same catalog schema on PostgreSQL
  (Iceberg's JDBC catalog layout, readable by Spark and Trino);
* ``type: rest`` -> a REST catalog (Polaris, Lakekeeper, Nessie, Gravitino);
* ``type: glue`` -> AWS Glue.

Credentials are never written in the block: ``secret_refs`` maps a pyiceberg property name
(``uri``, ``credential``, ``token``, ``s3.secret-access-key``...) to a secret reference that
is resolved when the catalog is loaded. pyiceberg is imported only when a catalog is loaded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from floe_core.errors import (
    ConfigurationError,
    ErrorCode,
    IngestionException,
    PermanentError,
    TransientError,
)
from floe_core.secrets import SecretResolver

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

__all__ = ["EMBEDDED_DIR", "CatalogConfig", "load_catalog"]

EMBEDDED_DIR = ".floe"
"""Folder, relative to the project, of the embedded catalog database and warehouse."""


class CatalogConfig(BaseModel):
    """The ``catalog:`` block of the platform manifest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["sql", "rest", "glue"] = "sql"
    name: str = Field(default="floe", min_length=1)
    uri: str | None = Field(
        default=None,
        description="sql: SQLAlchemy URL (sqlite:///..., postgresql+psycopg2://...); "
        "rest: the catalog's base URL. Relative sqlite paths are relative to the project.",
    )
    warehouse: str | None = Field(
        default=None,
        description="Warehouse location (a folder, file://, s3://...) or, for REST, the "
        "warehouse name the server knows.",
    )
    properties: dict[str, str] = Field(
        default_factory=dict, description="Further pyiceberg catalog properties."
    )
    secret_refs: dict[str, str] = Field(
        default_factory=dict,
        description="pyiceberg property -> secret reference, resolved when the catalog loads.",
    )

    @model_validator(mode="after")
    def _rest_needs_uri(self) -> CatalogConfig:
        if self.type == "rest" and not (self.uri or "uri" in self.secret_refs):
            raise ValueError("a rest catalog needs a uri (the catalog server's base URL)")
        return self

    @classmethod
    def embedded(cls) -> CatalogConfig:
        """The embedded default: SQLite catalog and local warehouse under ``.floe/``."""
        return cls(
            type="sql",
            name="floe",
            uri=f"sqlite:///{EMBEDDED_DIR}/catalog.db",
            warehouse=f"{EMBEDDED_DIR}/warehouse",
        )

    def resolved_properties(
        self, project_dir: Path, secrets: SecretResolver | None = None, *, create: bool = False
    ) -> dict[str, str]:
        """pyiceberg properties with paths made absolute and secrets resolved (never logged).

        ``create`` makes the local folders of a SQLite catalog and a local warehouse (only
        :func:`load_catalog` does: describing or validating a project writes nothing).
        """
        embedded = CatalogConfig.embedded()
        uri = self.uri
        if uri is None and self.type == "sql" and "uri" not in self.secret_refs:
            uri = embedded.uri
        warehouse = self.warehouse
        if warehouse is None and self.type == "sql":
            warehouse = embedded.warehouse
        props: dict[str, str] = {"type": self.type, **self.properties}
        if uri:
            props["uri"] = _absolute_sqlite_uri(uri, project_dir, create)
        if warehouse is not None and self.type == "rest":
            props["warehouse"] = warehouse  # a name the server knows, not a path
        elif warehouse is not None:
            props["warehouse"] = _absolute_warehouse(warehouse, project_dir, create)
        if self.secret_refs:
            resolver = secrets or SecretResolver()
            for prop, reference in self.secret_refs.items():
                props[prop] = resolver.resolve(reference, purpose=f"catalog {prop}").reveal()
        return props

    def describe(self, project_dir: Path, secrets: SecretResolver | None = None) -> dict[str, str]:
        """A printable description (no credentials): type, name, uri, warehouse.

        A uri or warehouse taken from a secret is shown as a mask, unless ``secrets`` resolves
        it: then it is shown without user info and query (scheme, host, port and path are what
        lineage names the catalog by). A missing secret is masked, not raised.
        """
        props = self.resolved_properties(project_dir, _NoSecrets())
        if secrets is not None and self.secret_refs.keys() & {"uri", "warehouse"}:
            try:
                resolved = self.resolved_properties(project_dir, secrets)
            except IngestionException:
                resolved = {}
            for key in ("uri", "warehouse"):
                if key in self.secret_refs and key in resolved:
                    props[key] = _without_credentials(resolved[key])
        return {
            "type": self.type,
            "name": self.name,
            "uri": safe_uri(props.get("uri", "")),
            "warehouse": props.get("warehouse", ""),
        }


class _NoSecrets(SecretResolver):
    """Resolves every reference to a mask: for descriptions that must not touch secrets."""

    def __init__(self) -> None:
        super().__init__(environ={})

    def resolve(self, reference: str, *, purpose: str | None = None) -> Any:
        from floe_core.secrets import MASK, Secret

        return Secret(MASK, reference)


def _without_credentials(uri: str) -> str:
    """``uri`` without ``user:password@``, query and fragment (where drivers take passwords)."""
    return re.sub(r"//[^/@]*@", "//", uri.split("?", 1)[0].split("#", 1)[0])


def safe_uri(uri: str) -> str:
    """``uri`` with any ``user:password@`` reduced to ``user:***@``."""
    return re.sub(r"(//[^:/@]+):[^@/]*@", r"\1:***@", uri)


def _absolute_sqlite_uri(uri: str, project_dir: Path, create: bool) -> str:
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or ":memory:" in uri:
        return uri
    path = Path(uri[len(prefix) :])
    if not path.is_absolute():
        path = (project_dir / path).resolve()
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return f"{prefix}{path}"


def _absolute_warehouse(warehouse: str, project_dir: Path, create: bool) -> str:
    if "://" in warehouse and not warehouse.startswith("file://"):
        return warehouse
    path = Path(warehouse.removeprefix("file://"))
    if not path.is_absolute():
        path = (project_dir / path).resolve()
    if create:
        path.mkdir(parents=True, exist_ok=True)
    return f"file://{path}"


def load_catalog(
    config: CatalogConfig | None,
    *,
    project_dir: str | Path = ".",
    secrets: SecretResolver | None = None,
) -> Catalog:
    """Load the pyiceberg catalog described by ``config`` (``None``: the embedded default).

    Raises ConfigurationError(``DESTINATION_CONFIG_ERROR``) for a block pyiceberg rejects or a
    missing driver, ConfigurationError(``SECRET_MISSING``) for a missing secret,
    PermanentError(``AUTH_FAILED``) when a REST catalog refuses the credentials (HTTP 401/403,
    or its OAuth token endpoint refuses the client), and TransientError(``CATALOG_UNAVAILABLE``)
    when the catalog server cannot be reached or answers 429/5xx. Messages name the catalog by
    its credential-free description.
    """
    config = config or CatalogConfig.embedded()
    project = Path(project_dir)
    props = config.resolved_properties(project, secrets, create=True)
    where = f"catalog {config.name!r} ({config.type}, {safe_uri(props.get('uri', ''))})"
    from pyiceberg.catalog import load_catalog as pyiceberg_load_catalog

    try:
        return pyiceberg_load_catalog(config.name, **props)
    except Exception as exc:
        missing = _missing_module(exc)
        if missing is None:
            raise _load_failure(exc, where, config, props) from None
        hint = (
            "pip install 'floe-core[postgres]'"
            if missing == "psycopg2"
            else f"pip install {missing} (the driver the catalog uri names)"
        )
        raise ConfigurationError(
            ErrorCode.DESTINATION_CONFIG_ERROR,
            f"{where} needs the Python package {missing!r}, which is not installed; install it: "
            f"{hint}",
        ) from None


def _missing_module(exc: BaseException) -> str | None:
    """The module whose absence caused ``exc``, looking through its causes.

    pyiceberg wraps a missing database driver in its own ``NotInstalledError`` whose text
    names pyiceberg's extras, not the driver: the driver is only in the chained cause.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ModuleNotFoundError) and current.name:
            return current.name.split(".")[0]
        current = current.__cause__ or current.__context__
    return None


def _load_failure(
    exc: Exception, where: str, config: CatalogConfig, props: dict[str, str]
) -> IngestionException:
    """The floe error for a catalog pyiceberg could not load (see :func:`load_catalog`)."""
    if isinstance(exc, ValueError | TypeError):
        return ConfigurationError(
            ErrorCode.DESTINATION_CONFIG_ERROR,
            f"{where} is misconfigured: {_scrub(str(exc), props)}",
        )
    first_line = _scrub(str(exc).splitlines()[0] if str(exc) else "", props)
    refusal = _database_refusal(exc)
    if refusal == "login":
        refs = ", ".join(sorted(config.secret_refs)) or "none"
        return PermanentError(
            ErrorCode.AUTH_FAILED,
            f"{where}: the database refused the login: {first_line}. Check the user and "
            f"password of catalog.uri (secrets behind catalog.secret_refs: {refs}); retrying "
            "will not help.",
        )
    if refusal == "database":
        return ConfigurationError(
            ErrorCode.DESTINATION_CONFIG_ERROR,
            f"{where}: {first_line}. Create the database (the catalog makes its own tables in "
            "it) or fix the database name at the end of catalog.uri.",
        )
    if _is_refused(exc):
        refs = ", ".join(sorted(config.secret_refs)) or "none"
        return PermanentError(
            ErrorCode.AUTH_FAILED,
            f"{where} refused the credentials: {type(exc).__name__}: {first_line}. Check the "
            f"secrets behind catalog.secret_refs (set: {refs}) and what they may access.",
        )
    if _is_unreachable(exc):
        return TransientError(
            ErrorCode.CATALOG_UNAVAILABLE,
            f"{where} cannot be reached: {type(exc).__name__}: {first_line}. "
            "Check that the server runs and the uri/credentials are right.",
        )
    return ConfigurationError(
        ErrorCode.DESTINATION_CONFIG_ERROR,
        f"{where} could not be loaded: {type(exc).__name__}: {_scrub(str(exc), props)}",
    )


def _is_refused(exc: BaseException) -> bool:
    """A REST catalog's 401/403 (or its OAuth endpoint's refusal), by pyiceberg's types."""
    from pyiceberg import exceptions as rest

    refused = (
        rest.UnauthorizedError,
        rest.ForbiddenError,
        rest.AuthorizationExpiredError,
        rest.OAuthError,
    )
    return isinstance(exc, refused)


# SQLSTATE classes of a server that answered but refused (PostgreSQL: 28xxx invalid
# authorization, 3D000 invalid catalog name). Drivers that give no code at connect time (psycopg2)
# are recognised by the server's FATAL message, stable across PostgreSQL releases in English.
_LOGIN_STATES = {"28000", "28P01"}
_DATABASE_STATES = {"3D000"}
_LOGIN_TEXT = re.compile(
    r'password authentication failed|role "[^"]*" does not exist|no pg_hba\.conf entry|'
    r"Access denied for user",
    re.IGNORECASE,
)
_DATABASE_TEXT = re.compile(r'database "[^"]*" does not exist|Unknown database', re.IGNORECASE)


def _database_refusal(exc: BaseException) -> Literal["login", "database"] | None:
    """How a SQL catalog's database refused the connection, if it answered at all."""
    try:
        from sqlalchemy.exc import DBAPIError
    except ModuleNotFoundError:  # pragma: no cover - sqlalchemy comes with pyiceberg[sql-*]
        return None
    if not isinstance(exc, DBAPIError):
        return None
    state = getattr(exc.orig, "pgcode", None) or getattr(exc.orig, "sqlstate", None)
    if state in _LOGIN_STATES or (state is None and _LOGIN_TEXT.search(str(exc))):
        return "login"
    if state in _DATABASE_STATES or (state is None and _DATABASE_TEXT.search(str(exc))):
        return "database"
    return None


def _is_unreachable(exc: BaseException) -> bool:
    from pyiceberg import exceptions as rest

    if isinstance(exc, OSError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, rest.ServiceUnavailableError | rest.ServerError | rest.TooManyRequestsError):
        return True
    try:
        from sqlalchemy.exc import OperationalError
    except ModuleNotFoundError:  # pragma: no cover - sqlalchemy comes with pyiceberg[sql-*]
        return False
    if isinstance(exc, OperationalError):
        return True
    import requests

    return isinstance(exc, requests.ConnectionError | requests.Timeout)


def _scrub(text: str, props: dict[str, str]) -> str:
    for key, value in props.items():
        if value and key not in {"type", "warehouse"} and len(value) >= 4 and value in text:
            text = text.replace(value, safe_uri(value) if key == "uri" else "***")
    return safe_uri(text)
