"""Catalog configuration: embedded default, PostgreSQL, errors."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from floe_core.catalog import CatalogConfig, load_catalog, safe_uri
from floe_core.errors import ConfigurationError, TransientError
from floe_core.secrets import SecretResolver


def _roundtrip(catalog, identifier: str = "bronze.events") -> pa.Table:  # type: ignore[no-untyped-def]
    data = pa.table({"id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]})
    catalog.create_namespace_if_not_exists("bronze")
    table = catalog.create_table(identifier, schema=data.schema)
    table.append(data)
    return catalog.load_table(identifier).scan().to_arrow().sort_by("id")


def test_embedded_default_is_created_on_first_use(tmp_path: Path) -> None:
    catalog = load_catalog(None, project_dir=tmp_path)
    assert (tmp_path / ".floe" / "catalog.db").is_file()
    back = _roundtrip(catalog)
    assert back.column("id").to_pylist() == [1, 2, 3]
    location = catalog.load_table("bronze.events").location()
    assert location.startswith(f"file://{tmp_path.resolve()}/.floe/warehouse")
    # A second load sees the same table: the catalog persists in the project.
    assert load_catalog(None, project_dir=tmp_path).table_exists("bronze.events")


@pytest.mark.postgres
def test_sql_catalog_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    config = CatalogConfig(type="sql", uri=postgres_url, warehouse=str(tmp_path / "wh"))
    back = _roundtrip(load_catalog(config, project_dir=tmp_path))
    assert back.num_rows == 3
    import sqlalchemy

    engine = sqlalchemy.create_engine(postgres_url)
    with engine.connect() as connection:  # Iceberg's JDBC catalog layout, readable by Spark/Trino
        rows = connection.execute(
            sqlalchemy.text("SELECT table_namespace, table_name FROM iceberg_tables")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("bronze", "events")]


@pytest.mark.postgres
def test_catalog_uri_from_secret_reference(tmp_path: Path, postgres_url: str) -> None:
    config = CatalogConfig(type="sql", secret_refs={"uri": "catalog-uri"}, warehouse="wh")
    resolver = SecretResolver(environ={"CATALOG_URI": postgres_url})
    assert _roundtrip(load_catalog(config, project_dir=tmp_path, secrets=resolver)).num_rows == 3


def test_unreachable_postgres_is_transient_and_hides_the_password(tmp_path: Path) -> None:
    uri = "postgresql+psycopg2://floe:hunter2-secret@127.0.0.1:1/nowhere"
    with pytest.raises(TransientError) as caught:
        load_catalog(CatalogConfig(uri=uri, warehouse="wh"), project_dir=tmp_path)
    error = caught.value.error
    assert error.code == "CATALOG_UNAVAILABLE"
    assert "hunter2-secret" not in error.message
    assert "127.0.0.1:1" in error.message


def test_missing_catalog_secret_is_configuration_error(tmp_path: Path) -> None:
    config = CatalogConfig(secret_refs={"uri": "catalog-uri"})
    with pytest.raises(ConfigurationError) as caught:
        load_catalog(config, project_dir=tmp_path, secrets=SecretResolver(environ={}))
    assert caught.value.error.code == "SECRET_MISSING"


def test_rest_catalog_needs_uri() -> None:
    with pytest.raises(ValueError, match="rest catalog needs a uri"):
        CatalogConfig(type="rest")


def test_unreachable_rest_catalog_is_transient(tmp_path: Path) -> None:
    config = CatalogConfig(type="rest", uri="http://127.0.0.1:1/catalog", warehouse="wh")
    with pytest.raises(TransientError) as caught:
        load_catalog(config, project_dir=tmp_path)
    assert caught.value.error.code == "CATALOG_UNAVAILABLE"


def test_describe_hides_credentials(tmp_path: Path) -> None:
    config = CatalogConfig(
        uri="postgresql+psycopg2://u:pw-123456@db:5432/cat", warehouse="s3://b/w"
    )
    described = config.describe(tmp_path)
    assert described["uri"] == "postgresql+psycopg2://u:***@db:5432/cat"
    assert described["warehouse"] == "s3://b/w"
    assert safe_uri("sqlite:////x/y.db") == "sqlite:////x/y.db"


def test_describe_a_uri_held_in_a_secret(tmp_path: Path) -> None:
    from floe_core.lineage import catalog_namespace

    config = CatalogConfig(secret_refs={"uri": "catalog-url"}, warehouse="s3://b/w")
    secret = "postgresql+psycopg2://u:pw-123456@db:5432/cat?sslpassword=k-987"
    resolver = SecretResolver(environ={"CATALOG_URL": secret})
    # without the resolver (floe validate's listing): a mask, the secret is not touched
    assert config.describe(tmp_path)["uri"] == "**********"
    # with it (lineage names the catalog by it): host and database, no credentials
    described = config.describe(tmp_path, resolver)
    assert described["uri"] == "postgresql+psycopg2://db:5432/cat"
    assert catalog_namespace(described) == "postgresql://db:5432/cat"
    # a missing secret is masked, not raised
    missing = config.describe(tmp_path, SecretResolver(environ={}))
    assert missing["uri"] == "**********"
