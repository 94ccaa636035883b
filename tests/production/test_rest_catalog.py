"""REST catalogs: ``floe validate`` tells an unreachable catalog from one that refuses us.

No Iceberg REST catalog server can be installed here from the package registries (see
docs/operations/catalogs.md), so these tests check floe's side of the REST protocol against
what can run on loopback: a closed port, and a small HTTP server that answers the first call
every pyiceberg REST client makes (``GET /v1/config``) with what a real catalog answers when
it is down (503), when it refuses the token (401, Iceberg's ``ErrorModel`` body), or with a
configuration, followed by ``GET /v1/{prefix}/namespaces``. ``Project.validate`` is what
``floe validate`` reports; one test runs the ``floe`` CLI in a subprocess, as an operator would.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from floe_core.project import Project

FLOE = str(Path(sys.executable).with_name("floe"))
TOKEN = "rest-token-canary-7f3e9a"  # must never be printed
CONFIG_PATH = "/v1/config"


class CatalogStub:
    """Answers ``GET /v1/config`` with ``status`` (and, when 200, the namespaces call)."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.requests: list[tuple[str, str | None]] = []  # (path, Authorization header)
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stub.requests.append((self.path, self.headers.get("Authorization")))
                if self.path.startswith(CONFIG_PATH) and stub.status != 200:
                    self._answer(stub.status, _error(stub.status))
                elif self.path.startswith(CONFIG_PATH):
                    overrides = {"prefix": "lakehouse"}
                    self._answer(200, {"defaults": {}, "overrides": overrides})
                elif self.path.startswith("/v1/lakehouse/namespaces"):
                    self._answer(200, {"namespaces": [["bronze"], ["silver"]]})
                else:
                    self._answer(404, _error(404))

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> CatalogStub:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _error(status: int) -> dict[str, Any]:
    kinds = {401: "NotAuthorizedException", 404: "NoSuchNamespaceException"}
    kind = kinds.get(status, "ServiceUnavailableException")
    return {"error": {"message": f"stub says {status}", "type": kind, "code": status}}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket is closed


def _project(root: Path, uri: str) -> Path:
    root.mkdir()
    (root / "rest_rows.py").write_text("def rows():\n    return [{'id': 1}]\n")
    (root / "floe.yaml").write_text(
        yaml.safe_dump(
            {
                "ingestion": [
                    {
                        "name": "rows",
                        "destination": "bronze.rows",
                        "dlt": {"source": "rest_rows.rows"},
                    }
                ]
            }
        )
    )
    manifest = {
        "catalog": {
            "type": "rest",
            "name": "lakehouse",
            "uri": uri,
            "warehouse": "lakehouse",
            "secret_refs": {"token": "rest-catalog-token"},
        }
    }
    (root / "platform-manifest.yaml").write_text(yaml.safe_dump(manifest))
    return root


def _validate(root: Path) -> dict[str, Any]:
    """``floe validate``'s report (in-process: the CLI prints this, see test_cli_...)."""
    report = Project.load(root, environ={"REST_CATALOG_TOKEN": TOKEN}).validate().to_dict()
    assert TOKEN not in json.dumps(report)
    return report


def _validate_cli(root: Path) -> tuple[int, dict[str, Any], str]:
    completed = subprocess.run(
        [FLOE, "validate", "--project", str(root), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "REST_CATALOG_TOKEN": TOKEN},
        check=False,
    )
    output = completed.stdout + completed.stderr
    assert TOKEN not in output
    return completed.returncode, json.loads(completed.stdout), output


def _catalog_problem(report: dict[str, Any]) -> dict[str, Any]:
    [problem] = [p for p in report["problems"] if p["key"] == "catalog"]
    return problem


@pytest.fixture
def stub(request: pytest.FixtureRequest) -> Iterator[CatalogStub]:
    with CatalogStub(request.param) as running:
        yield running


def test_unreachable_rest_catalog_is_reported_as_transient(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/iceberg"
    root = _project(tmp_path / "project", url)

    report = _validate(root)

    assert not report["valid"]
    problem = _catalog_problem(report)
    assert (problem["category"], problem["code"]) == ("TRANSIENT", "CATALOG_UNAVAILABLE")
    assert url in problem["message"]
    assert "cannot be reached" in problem["message"]
    assert problem["file"].endswith("platform-manifest.yaml")
    assert problem["line"] is not None


@pytest.mark.parametrize("stub", [401], indirect=True)
def test_rest_catalog_refusing_the_token_is_auth_failed(tmp_path: Path, stub: CatalogStub) -> None:
    root = _project(tmp_path / "project", stub.url)

    code, report, output = _validate_cli(root)

    assert code == 2, output
    problem = _catalog_problem(report)
    assert (problem["category"], problem["code"]) == ("PERMANENT", "AUTH_FAILED")
    assert stub.url in problem["message"]
    assert "refused the credentials" in problem["message"]
    assert "token" in problem["message"]  # names the secret_refs entry to check
    # the secret did reach the server, from the reference, and nowhere else
    assert (CONFIG_PATH + "?warehouse=lakehouse", f"Bearer {TOKEN}") in stub.requests


@pytest.mark.parametrize("stub", [503], indirect=True)
def test_rest_catalog_answering_503_is_unavailable(tmp_path: Path, stub: CatalogStub) -> None:
    root = _project(tmp_path / "project", stub.url)

    report = _validate(root)

    assert not report["valid"]
    problem = _catalog_problem(report)
    assert (problem["category"], problem["code"]) == ("TRANSIENT", "CATALOG_UNAVAILABLE")
    assert stub.url in problem["message"]


@pytest.mark.parametrize("stub", [200], indirect=True)
def test_answering_rest_catalog_passes_the_catalog_check(tmp_path: Path, stub: CatalogStub) -> None:
    root = _project(tmp_path / "project", stub.url)

    report = _validate(root)

    assert not [p for p in report["problems"] if p["key"] == "catalog"], report["problems"]
    assert "catalog 'lakehouse' (rest) answers (2 namespace(s))" in report["checked"]
    # the warehouse went to /v1/config, the server's prefix was used for the namespaces
    paths = [path for path, _ in stub.requests]
    assert paths[:2] == [CONFIG_PATH + "?warehouse=lakehouse", "/v1/lakehouse/namespaces"]
