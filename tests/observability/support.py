"""Helpers of the end-to-end observability and fault tests (not a test module).

* :func:`write_project` writes a floe project (``floe.yaml``, ``platform-manifest.yaml``, source
  modules) into a folder; :func:`run_floe` / :func:`start_floe` run ``floe run -p <project>
  --json`` as a real subprocess, as a Kubernetes job would, and :class:`FloeRun` holds what it
  printed and when it ran.
* :class:`ScriptedApi` is a real HTTP API on 127.0.0.1 that serves paginated JSON collections
  and, on demand, misbehaves: status answers (429 with ``Retry-After``, 5xx, 401), connection
  resets, slow answers.
* :class:`Prometheus` and :class:`Pushgateway` talk to the real servers of the test services.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = [
    "Answer",
    "FloeProcess",
    "FloeRun",
    "Prometheus",
    "Pushgateway",
    "ScriptedApi",
    "floe_env",
    "free_port",
    "moto_server",
    "run_floe",
    "serve_api",
    "start_floe",
    "write_project",
]

# Variables of the machine that would change what a floe subprocess does.
_LEAKY_ENV_PREFIXES = ("OPENLINEAGE", "FLOE_TEST_KILL", "FLOE_FAULT_")
_LEAKY_ENV = {"FLOE_SECRETS_DIR"}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (closed again at once)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_project(
    root: Path,
    floe_yaml: str,
    manifest: str | None = None,
    modules: Mapping[str, str] | None = None,
) -> Path:
    """Write a floe project into ``root``: ``floe.yaml``, the manifest, ``<name>.py`` modules."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "floe.yaml").write_text(textwrap.dedent(floe_yaml), encoding="utf-8")
    if manifest is not None:
        (root / "platform-manifest.yaml").write_text(textwrap.dedent(manifest), encoding="utf-8")
    for name, code in (modules or {}).items():
        (root / f"{name}.py").write_text(textwrap.dedent(code), encoding="utf-8")
    return root


def floe_env(extra: Mapping[str, str] | None = None, *, home: Path | None = None) -> dict[str, str]:
    """The environment of a floe subprocess: this one without lineage/kill/secret variables."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(_LEAKY_ENV_PREFIXES) and key not in _LEAKY_ENV
    }
    env["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    env["PYTHONUNBUFFERED"] = "1"
    if home is not None:  # no ~/.openlineage/openlineage.yml of the machine
        home.mkdir(parents=True, exist_ok=True)
        env["HOME"] = str(home)
    env.update(extra or {})
    return env


@dataclass
class FloeRun:
    """A finished ``floe run`` subprocess: exit code, output, wall-clock window (Unix time)."""

    project: Path
    names: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    started: float
    finished: float

    @property
    def wall_seconds(self) -> float:
        return self.finished - self.started

    @property
    def results(self) -> list[dict[str, Any]]:
        """The ``--json`` results (one per pipeline); fails with the output when unreadable."""
        try:
            data = json.loads(self.stdout)
        except json.JSONDecodeError:
            raise AssertionError(
                f"floe run -p {self.project} printed no JSON (exit {self.returncode}):\n"
                f"stdout: {self.stdout[-2000:]}\nstderr: {self.stderr[-4000:]}"
            ) from None
        assert isinstance(data, list), data
        return data

    def result(self, name: str) -> dict[str, Any]:
        """The result of pipeline ``name``."""
        found = [result for result in self.results if result["pipeline"] == name]
        assert len(found) == 1, f"no single result for {name} in {self.results}"
        return found[0]

    def describe(self) -> str:
        return (
            f"floe run -p {self.project} {' '.join(self.names)} exited {self.returncode} "
            f"after {self.wall_seconds:.1f} s\nstderr (tail): {self.stderr[-3000:]}"
        )


class FloeProcess:
    """A running ``floe run`` subprocess (:func:`start_floe`)."""

    def __init__(self, project: Path, names: tuple[str, ...], env: Mapping[str, str]) -> None:
        self.project = project
        self.names = names
        self.started = time.time()
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "floe_core", "run", "-p", str(project), *names, "--json"],
            env=dict(env),
            cwd=project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait(self, timeout: float = 300) -> FloeRun:
        """Wait for the exit (killing the process if it outlives ``timeout``)."""
        try:
            stdout, stderr = self.popen.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            stdout, stderr = self.popen.communicate()
            raise AssertionError(
                f"floe run -p {self.project} did not finish in {timeout} s:\n{stderr[-3000:]}"
            ) from None
        return FloeRun(
            self.project,
            self.names,
            self.popen.returncode,
            stdout,
            stderr,
            self.started,
            time.time(),
        )


def start_floe(project: Path, *names: str, env: Mapping[str, str] | None = None) -> FloeProcess:
    """Start ``floe run -p project [names] --json`` (environment: :func:`floe_env` + ``env``)."""
    return FloeProcess(project, names, env if env is not None else floe_env())


def run_floe(
    project: Path, *names: str, env: Mapping[str, str] | None = None, timeout: float = 300
) -> FloeRun:
    """Run ``floe run -p project [names] --json`` to its end."""
    return start_floe(project, *names, env=env).wait(timeout)


# -- a scriptable HTTP API ------------------------------------------------------------------------


@dataclass
class Answer:
    """What the API does with one request instead of serving it.

    ``status``: answer that status (``headers``, ``body``) without serving; ``reset``: close
    the connection with a TCP RST, no answer; ``delay``: wait that long first (with neither
    ``status`` nor ``reset``, the request is then served normally, late).
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = '{"message": "scripted answer"}'
    delay: float = 0.0
    reset: bool = False

    @classmethod
    def rate_limited(cls, retry_after: str = "1") -> Answer:
        return cls(429, {"Retry-After": retry_after}, '{"message": "slow down"}')

    @classmethod
    def server_error(cls, status: int = 503) -> Answer:
        return cls(status, {}, '{"message": "the service failed"}')

    @classmethod
    def connection_reset(cls) -> Answer:
        return cls(reset=True)

    @classmethod
    def slow(cls, seconds: float) -> Answer:
        return cls(delay=seconds)


@dataclass
class _Rule:
    answer: Answer
    times: int | None  # None: until cleared
    path: str | None  # None: any collection
    page: int | None  # None: any page
    skip: int = 0
    seen: int = 0
    applied: int = 0

    def take(self, path: str, page: int) -> bool:
        if (self.path is not None and self.path != path) or (
            self.page is not None and self.page != page
        ):
            return False
        self.seen += 1
        if self.seen <= self.skip or (self.times is not None and self.applied >= self.times):
            return False
        self.applied += 1
        return True


class ScriptedApi:
    """A paginated JSON API: ``GET /<collection>?page=N`` -> ``{"data": [...], "next": url}``.

    ``collections`` maps a name to its items (mutable: tests add rows between runs);
    ``page_size`` items per page. Scripted misbehaviour: :meth:`fail` queues a rule (an
    :class:`Answer` for the next ``times`` matching requests, optionally only for one path or
    page, after letting ``skip`` of them through); :meth:`recover` clears every rule.
    ``requests`` records ``(path, page, outcome)`` of every request.
    """

    def __init__(
        self, collections: Mapping[str, list[dict[str, Any]]] | None = None, page_size: int = 10
    ) -> None:
        self.collections: dict[str, list[dict[str, Any]]] = {
            name: list(items) for name, items in (collections or {}).items()
        }
        self.page_size = page_size
        self.url = ""
        self.requests: list[tuple[str, int, str]] = []
        self._rules: list[_Rule] = []
        self._lock = threading.Lock()

    def fail(
        self,
        answer: Answer,
        *,
        times: int | None = 1,
        path: str | None = None,
        page: int | None = None,
        skip: int = 0,
    ) -> None:
        with self._lock:
            self._rules.append(_Rule(answer, times, path, page, skip))

    def recover(self) -> None:
        with self._lock:
            self._rules.clear()

    def outcomes(self, path: str | None = None) -> list[str]:
        with self._lock:
            return [outcome for p, _, outcome in self.requests if path is None or p == path]

    def _decide(self, path: str, page: int) -> Answer | None:
        with self._lock:
            for rule in self._rules:
                if rule.take(path, page):
                    return rule.answer
        return None

    def _page(self, name: str, page: int) -> tuple[int, str]:
        items = self.collections.get(name)
        if items is None:
            return 404, '{"message": "Not Found"}'
        start = (page - 1) * self.page_size
        chunk = items[start : start + self.page_size]
        more = start + self.page_size < len(items)
        body = {"data": chunk, "next": f"{self.url}/{name}?page={page + 1}" if more else None}
        return 200, json.dumps(body)

    def handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                parts = urllib.parse.urlsplit(self.path)
                name = parts.path.strip("/")
                query = urllib.parse.parse_qs(parts.query)
                page = int(query.get("page", ["1"])[0])
                answer = api._decide(name, page)
                if answer is not None and answer.delay:
                    time.sleep(answer.delay)
                if answer is not None and answer.reset:
                    api._record(name, page, "reset")
                    # SO_LINGER 0: close() sends RST, the client sees "connection reset by peer"
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.close_connection = True
                    self.connection.close()
                    return
                if answer is not None and answer.status is not None:
                    status, body, headers = answer.status, answer.body, answer.headers
                else:
                    status, body = api._page(name, page)
                    headers = {"Content-Type": "application/json"}
                api._record(name, page, f"{status}{' late' if answer and answer.delay else ''}")
                payload = body.encode()
                try:
                    self.send_response(status)
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client timed out and left

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def _record(self, path: str, page: int, outcome: str) -> None:
        with self._lock:
            self.requests.append((path, page, outcome))


@contextmanager
def serve_api(api: ScriptedApi) -> Iterator[ScriptedApi]:
    """Serve ``api`` on 127.0.0.1 (a free port) for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), api.handler())
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="scripted-api", daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def moto_server() -> Iterator[str]:
    """A moto S3 server on 127.0.0.1 for the block; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


# -- Prometheus and the Pushgateway ---------------------------------------------------------------


def _get_json(url: str, timeout: float = 10) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


SeriesKey = tuple[str, tuple[tuple[str, str], ...]]


class Prometheus:
    """The HTTP query API of a Prometheus server (``/api/v1/query``)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query; the ``result`` list of a vector (raises on a non-vector answer)."""
        url = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        payload = _get_json(url)
        assert payload["status"] == "success", payload
        data = payload["data"]
        assert data["resultType"] == "vector", f"{expr} gave a {data['resultType']}"
        return list(data["result"])

    def values(self, expr: str, *, drop: Iterable[str] = ()) -> dict[SeriesKey, float]:
        """``{(metric name, sorted labels without drop): value}`` of an instant query."""
        dropped = set(drop)
        found: dict[SeriesKey, float] = {}
        for sample in self.query(expr):
            labels = dict(sample["metric"])
            name = labels.pop("__name__", "")
            key = tuple(sorted((k, v) for k, v in labels.items() if k not in dropped))
            found[(name, key)] = float(sample["value"][1])
        return found

    def wait_for(
        self,
        expr: str,
        done: Callable[[dict[SeriesKey, float]], bool],
        *,
        drop: Iterable[str] = (),
        timeout: float = 30,
    ) -> dict[SeriesKey, float]:
        """Query ``expr`` until ``done(values)`` (scrapes come every second); the last values."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.values(expr, drop=drop)
            if done(found) or time.monotonic() > deadline:
                return found
            time.sleep(0.5)


class Pushgateway:
    """The groups and exposition of a Prometheus Pushgateway."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")

    def exposition(self) -> str:
        """``GET /metrics``: the text format Prometheus scrapes."""
        with urllib.request.urlopen(f"{self.url}/metrics", timeout=10) as response:
            return str(response.read().decode())

    def groups(self, job: str) -> list[dict[str, str]]:
        """The label sets of the groups of ``job``."""
        payload = _get_json(f"{self.url}/api/v1/metrics")
        return [group["labels"] for group in payload["data"] if group["labels"].get("job") == job]

    def delete_job(self, job: str) -> None:
        """Delete every group of ``job`` (what a test pushed), group by group."""
        for labels in self.groups(job):
            path = "/".join(
                f"{name}/{urllib.parse.quote(value, safe='')}"
                for name, value in labels.items()
                if name != "job"
            )
            request = urllib.request.Request(
                f"{self.url}/metrics/job/{urllib.parse.quote(job, safe='')}/{path}",
                method="DELETE",
            )
            with urllib.request.urlopen(request, timeout=10):
                pass
