"""Fixtures of the production-path tests: a real S3 server on loopback and fresh buckets.

``s3_server`` is moto's standalone S3 server in a subprocess on 127.0.0.1, started once per
session with authentication enforced (:mod:`.s3server`); ``s3_bucket`` is a new bucket per
test. PostgreSQL comes from the root conftest (``postgres_url``: a fresh database per test).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from .s3server import S3Server, start_s3_server


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1; only :attr:`S3Server.access_key_id` and its secret pass."""
    with start_s3_server(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    """A new, empty bucket on the S3 server."""
    name = f"lake-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=name)
    return name
