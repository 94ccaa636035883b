"""The S3 Data Lake destination floe expects, and the check against the real one."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from airbyte_helpers import PluginFactory, pipeline
from airbyte_spec import s3_data_lake_spec
from floe_core.catalog import CatalogConfig
from floe_core.errors import ConfigurationError, ErrorCode

from floe_ingestion_airbyte.destination import compare_destination, destination_config
from floe_ingestion_airbyte.testing import (
    ICEBERG_CONNECTION_ID,
    POSTGRES_CONNECTION_ID,
    AirbyteEmulator,
)

REST = CatalogConfig(
    type="rest",
    name="lake",
    uri="http://127.0.0.1:8181/catalog",
    warehouse="s3://floe-lake/warehouse",
    properties={"s3.region": "us-east-1", "s3.endpoint": "http://127.0.0.1:9000"},
    secret_refs={"s3.access-key-id": "lake-key-id", "s3.secret-access-key": "lake-secret-key"},
)


def assert_valid_destination(config: dict[str, Any]) -> None:
    """``config`` is a valid destination-s3-data-lake configuration."""
    jsonschema.Draft7Validator(s3_data_lake_spec()["destination-s3-data-lake"]).validate(config)


def test_rest_catalog() -> None:
    config = destination_config(REST, namespace="bronze")
    assert_valid_destination(config)
    assert config == {
        "destinationType": "s3-data-lake",
        "table_format": "iceberg",  # floe's marker, not a connector field
        "s3_bucket_name": "floe-lake",
        "s3_bucket_region": "us-east-1",
        "warehouse_location": "s3://floe-lake/warehouse",
        "main_branch_name": "main",
        "catalog_type": {
            "catalog_type": "REST",
            "server_uri": "http://127.0.0.1:8181/catalog",
            "namespace": "bronze",
        },
        "s3_endpoint": "http://127.0.0.1:9000",
        "access_key_id": "secret_ref:lake-key-id",
        "secret_access_key": "secret_ref:lake-secret-key",
    }


def test_glue_catalog() -> None:
    glue = CatalogConfig(
        type="glue",
        warehouse="s3://lake/wh",
        properties={"glue.id": "123456789012", "glue.region": "eu-west-1"},
    )
    config = destination_config(glue, {"role_arn": "arn:aws:iam::1:role/x"}, namespace="raw")
    assert_valid_destination(config)
    assert config["catalog_type"] == {
        "catalog_type": "GLUE",
        "glue_id": "123456789012",
        "database_name": "raw",
        "role_arn": "arn:aws:iam::1:role/x",
    }
    assert config["s3_bucket_region"] == "eu-west-1"


def test_nessie_catalog() -> None:
    nessie = CatalogConfig(
        type="rest",
        uri="http://nessie:19120/api/v2",
        warehouse="s3://lake/wh",
        secret_refs={"token": "nessie-token"},
    )
    config = destination_config(nessie, {"catalog_type": "NESSIE"})
    assert_valid_destination(config)
    assert config["catalog_type"] == {
        "catalog_type": "NESSIE",
        "server_uri": "http://nessie:19120/api/v2",
        "namespace": "default",
        "access_token": "secret_ref:nessie-token",
    }


def test_polaris_catalog() -> None:
    polaris = CatalogConfig(
        type="rest",
        uri="http://polaris:8181/api/catalog",
        warehouse="analytics",
        secret_refs={"credential": "polaris-credential"},
    )
    settings = {"catalog_type": "POLARIS", "warehouse_location": "s3://lake/analytics"}
    config = destination_config(polaris, settings, namespace="bronze")
    assert_valid_destination(config)
    assert config["catalog_type"] == {
        "catalog_type": "POLARIS",
        "server_uri": "http://polaris:8181/api/catalog",
        "catalog_name": "analytics",
        "client_id": "secret_ref:polaris-credential#client_id",
        "client_secret": "secret_ref:polaris-credential#client_secret",
        "namespace": "bronze",
    }


def test_secrets_are_references_never_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAKE_SECRET_KEY", "the-real-secret-value")
    text = json.dumps(destination_config(REST))
    assert "the-real-secret-value" not in text
    assert "secret_ref:lake-secret-key" in text


@pytest.mark.parametrize(
    ("catalog", "settings", "words"),
    [
        (CatalogConfig.embedded(), {}, "REST (Polaris, Nessie, Lakekeeper...) or Glue"),
        (CatalogConfig(type="rest", uri="http://c", warehouse="wh"), {}, "warehouse_location"),
        (CatalogConfig(type="glue", warehouse="s3://b/w"), {}, "glue_id"),
        (
            CatalogConfig(type="rest", uri="http://c", warehouse="s3://b/w"),
            {"catalog_type": "POLARIS"},
            "client_id_ref",
        ),
    ],
)
def test_what_airbyte_cannot_use_is_explained(
    catalog: CatalogConfig, settings: dict[str, Any], words: str
) -> None:
    with pytest.raises(ConfigurationError) as raised:
        destination_config(catalog, settings)
    assert raised.value.error.code is ErrorCode.DESTINATION_CONFIG_ERROR
    assert words in raised.value.error.message


def test_compare_ignores_masked_secrets_and_reports_differences() -> None:
    expected = destination_config(REST, namespace="bronze")
    actual = json.loads(json.dumps(expected))
    actual["access_key_id"] = actual["secret_access_key"] = "**********"
    response = {"name": "lake", "destinationType": "s3-data-lake", "configuration": actual}
    assert compare_destination(expected, response) == []
    actual["warehouse_location"] = "s3://floe-lake/other/"
    actual["catalog_type"]["server_uri"] = "http://127.0.0.1:8181/catalog/"  # same, with a slash
    del actual["s3_endpoint"]
    differences = compare_destination(expected, response)
    assert len(differences) == 2
    assert "warehouse_location = 's3://floe-lake/other/'" in differences[0]
    assert "does not set s3_endpoint" in differences[1]
    actual["catalog_type"] = {"catalog_type": "GLUE", "glue_id": "1", "database_name": "x"}
    assert any("uses a GLUE catalog" in d for d in compare_destination(expected, response))
    postgres = {"name": "pg", "destinationType": "postgres", "configuration": {}}
    assert "not 's3-data-lake'" in compare_destination(expected, postgres)[0]


def test_check_destination_against_the_emulator(make_plugin: PluginFactory) -> None:
    plugin = make_plugin(catalog=REST.model_copy(update={"properties": {"s3.region": "us-east-1"}}))
    assert plugin.check_destination(pipeline(destination_table="bronze.orders")) == []
    assert plugin.validate_pipeline(pipeline(destination_table="bronze.orders")) == []
    other = make_plugin(catalog=REST.model_copy(update={"uri": "http://other:8181/catalog"}))
    differences = other.check_destination(pipeline(destination_table="silver.orders"))
    assert any("silver.orders is not among the tables" in d for d in differences)
    assert any("catalog_type.server_uri" in d and "http://other:8181" in d for d in differences)
    assert any("s3_endpoint" in d for d in differences)


def test_validate_reports_a_destination_that_is_not_iceberg(make_plugin: PluginFactory) -> None:
    problems = make_plugin(catalog=REST).validate_pipeline(pipeline(POSTGRES_CONNECTION_ID))
    assert len(problems) == 1
    assert "does not write Iceberg" in problems[0]
    assert "'postgres'" in problems[0]


def test_validate_with_floes_embedded_catalog(make_plugin: PluginFactory) -> None:
    problems = make_plugin().validate_pipeline(pipeline(ICEBERG_CONNECTION_ID))
    assert len(problems) == 1
    assert "Airbyte's S3 Data Lake destination writes through a REST" in problems[0]


def test_plugin_uses_the_destination_settings(
    make_plugin: PluginFactory, airbyte: AirbyteEmulator
) -> None:
    plugin = make_plugin(destination={"catalog_type": "NESSIE", "main_branch_name": "dev"})
    config = plugin.get_destination_config(REST)
    assert config["main_branch_name"] == "dev"
    assert config["catalog_type"]["catalog_type"] == "NESSIE"
    with pytest.raises(ConfigurationError, match=r"unknown key 'destination\.colour'"):
        make_plugin(destination={"colour": "red"}).get_destination_config(REST)
