"""Test services shared by the core, plugin and example tests.

``make test`` starts the services (``scripts/services.sh start``) and exports their
``FLOE_TEST_*`` URLs; a bare ``pytest`` run starts them itself on first use through the same
script, so both paths test against the same real servers.
"""

from __future__ import annotations

import http.server
import os
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent
_SERVICES_SCRIPT = ROOT / "scripts" / "services.sh"
REFERENCE_DIR = Path(os.environ.get("FLOE_REFERENCE_DIR", ROOT.parent / "shared" / "reference"))
"""Public specifications the tests check against (OpenLineage JSON schema, Airbyte OpenAPI).

They are read from the platform's shared reference folder beside the checkout, never copied
into the repository; FLOE_REFERENCE_DIR points elsewhere."""


def _service_env() -> dict[str, str]:
    keys = ("FLOE_TEST_POSTGRES_URL", "FLOE_TEST_PUSHGATEWAY_URL", "FLOE_TEST_PROMETHEUS_URL")
    if all(os.environ.get(key) for key in keys):
        return {key: os.environ[key] for key in keys}
    completed = subprocess.run(
        ["bash", str(_SERVICES_SCRIPT), "start"], capture_output=True, text=True, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"test services did not start:\n{completed.stderr}")
    env = dict(line.split("=", 1) for line in completed.stdout.split() if "=" in line)
    os.environ.update(env)
    return env


@pytest.fixture(scope="session")
def service_env() -> dict[str, str]:
    """URLs of the running test services (started on first use)."""
    return _service_env()


@pytest.fixture(scope="session")
def postgres_server_url(service_env: dict[str, str]) -> str:
    """SQLAlchemy URL of the server's maintenance database (do not write to it)."""
    return service_env["FLOE_TEST_POSTGRES_URL"]


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """SQLAlchemy URL of a fresh, empty PostgreSQL database, dropped after the test."""
    import sqlalchemy

    name = f"floe_test_{uuid.uuid4().hex[:12]}"
    admin = sqlalchemy.create_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sqlalchemy.text(f'CREATE DATABASE "{name}"'))
    try:
        yield postgres_server_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as connection:
            connection.execute(sqlalchemy.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def pushgateway_url(service_env: dict[str, str]) -> str:
    """Base URL of the real Prometheus Pushgateway."""
    return service_env["FLOE_TEST_PUSHGATEWAY_URL"]


@pytest.fixture(scope="session")
def prometheus_url(service_env: dict[str, str]) -> str:
    """Base URL of the real Prometheus server that scrapes the Pushgateway every second."""
    return service_env["FLOE_TEST_PROMETHEUS_URL"]


@pytest.fixture
def lineage_receiver() -> Iterator[tuple[str, list[tuple[str, bytes]]]]:
    """An OpenLineage HTTP endpoint on loopback: its URL and what it was sent.

    Every POST is answered 201 and kept as ``(Authorization header, body)``.
    """
    received: list[tuple[str, bytes]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            received.append((self.headers.get("Authorization", ""), body))
            self.send_response(201)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
