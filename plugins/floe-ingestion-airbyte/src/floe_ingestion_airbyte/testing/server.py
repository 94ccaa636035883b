"""`AirbyteEmulator`: the emulated Airbyte as a real HTTP server on loopback.

Endpoints, served under both public API base paths (``/api/public/v1``, self-managed, and
``/v1``, Cloud style) as ``reference/airbyte/airbyte-public-api.yaml`` defines them:

=====================================  ============================================
``GET /health``                        200, no credentials needed
``POST /applications/token``           ``PublicAccessTokenResponse`` (JSON or form)
``GET /workspaces[/{workspaceId}]``    ``WorkspacesResponse`` / ``WorkspaceResponse``
``GET /connections[/{connectionId}]``  ``ConnectionsResponse`` / ``ConnectionResponse``
``GET /destinations[/{destinationId}]`` ``DestinationsResponse`` / ``DestinationResponse``
``GET /jobs``, ``POST /jobs``          ``JobsResponse`` / ``JobResponse``
``GET``/``DELETE /jobs/{jobId}``       ``JobResponse``
=====================================  ============================================

and the config API's ``POST /api/v1/jobs/get`` (``JobInfoRead``, per ``config-api.yaml``).
Errors are RFC 9457 problem bodies (``api-problems.yaml``).

A small control API for tests driving an emulator in another process (no credentials):
``GET /_emulator/requests`` (the request log), ``POST /_emulator/faults`` (a fault, as in
:class:`~floe_ingestion_airbyte.testing.faults.Fault`), ``POST /_emulator/plans/{connectionId}``
(a job plan or a list of them), ``POST /_emulator/expire-tokens``, ``POST /_emulator/reset-log``.

From Python::

    with AirbyteEmulator() as airbyte:          # default seed, a free port on 127.0.0.1
        airbyte.plan_jobs(ICEBERG_CONNECTION_ID, JobPlan.failed(FailureSpec.auth()))
        ...  # point floe at airbyte.public_url
        assert airbyte.request_count("POST /jobs") == 1

Time: the emulator reads ``clock`` (default ``time.time``) for token expiry, timestamps and
clock-mode jobs. Fault delays are real time (they exist to trip HTTP timeouts).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from floe_ingestion_airbyte.testing.faults import Fault
from floe_ingestion_airbyte.testing.jobs import JobPlan, plans_from
from floe_ingestion_airbyte.testing.problems import status_problem
from floe_ingestion_airbyte.testing.seed import DEFAULT_SEED, apply_seed, load_seed
from floe_ingestion_airbyte.testing.state import AirbyteState, Principal, Reply, _problem_reply

__all__ = ["AirbyteEmulator", "RecordedRequest"]

logger = logging.getLogger("floe_ingestion_airbyte.testing")

PUBLIC_BASES = ("/api/public/v1", "/v1")
CONFIG_BASE = "/api"
CONTROL_BASE = "/_emulator"

_PUBLIC_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/health"),
    ("POST", "/applications/token"),
    ("GET", "/workspaces"),
    ("GET", "/workspaces/{workspaceId}"),
    ("GET", "/connections"),
    ("GET", "/connections/{connectionId}"),
    ("GET", "/destinations"),
    ("GET", "/destinations/{destinationId}"),
    ("GET", "/jobs"),
    ("POST", "/jobs"),
    ("GET", "/jobs/{jobId}"),
    ("DELETE", "/jobs/{jobId}"),
)
_CONFIG_ROUTES: tuple[tuple[str, str], ...] = (("POST", "/v1/jobs/get"),)
_CONTROL_ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", "/requests"),
    ("POST", "/faults"),
    ("POST", "/plans/{connectionId}"),
    ("POST", "/expire-tokens"),
    ("POST", "/reset-log"),
)


def _pattern(template: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template) + "$")


_COMPILED = {
    group: [(method, template, _pattern(template)) for method, template in routes]
    for group, routes in (
        ("public", _PUBLIC_ROUTES),
        ("config", _CONFIG_ROUTES),
        ("control", _CONTROL_ROUTES),
    )
}


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator received (credentials are never recorded)."""

    method: str
    path: str
    route: str
    query: dict[str, list[str]]
    status: int
    auth: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class _Resolved:
    group: str  # public | config | control | unknown
    route: str  # "GET /jobs/{jobId}" (config API: "POST /v1/jobs/get")
    base: str
    params: dict[str, str]
    match: str  # "route" (method and path known), "path" (path known, not the method), "none"


def _resolve(method: str, path: str) -> _Resolved:
    candidates: list[tuple[str, str, str]] = []
    if path.startswith(CONTROL_BASE + "/"):
        candidates.append(("control", CONTROL_BASE, path[len(CONTROL_BASE) :]))
    for base in PUBLIC_BASES:
        if path == base or path.startswith(base + "/"):
            candidates.append(("public", base, path[len(base) :] or "/"))
            break
    else:
        if path.startswith(CONFIG_BASE + "/v1/"):
            candidates.append(("config", CONFIG_BASE, path[len(CONFIG_BASE) :]))
    for group, base, rest in candidates:
        known_path = False
        for route_method, template, pattern in _COMPILED[group]:
            match = pattern.match(rest)
            if match is None:
                continue
            known_path = True
            if route_method == method:
                return _Resolved(group, f"{method} {template}", base, match.groupdict(), "route")
        return _Resolved(group, f"{method} {rest}", base, {}, "path" if known_path else "none")
    return _Resolved("unknown", f"{method} {path}", "", {}, "none")


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"
    server_version = "AirbyteEmulator/1"

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("emulator: " + format, *args)

    def _handle(self, method: str) -> None:
        emulator = self.server.emulator
        url = urlsplit(self.path)
        resolved = _resolve(method, url.path)
        query = parse_qs(url.query, keep_blank_values=True)
        raw = self._read_body()
        fault = emulator._take_fault(resolved.route) if resolved.group != "control" else None
        auth_kind = (self.headers.get("Authorization") or "none").split(" ")[0].lower()

        if fault is not None and fault.expire_tokens:
            emulator.state.expire_tokens()
        if fault is not None and fault.status is not None:
            if fault.delay:
                time.sleep(fault.delay)
            headers = {}
            if fault.retry_after is not None:
                headers["Retry-After"] = str(fault.retry_after)
            reply = Reply(
                fault.status,
                status_problem(fault.status, fault.detail),
                headers,
                "application/problem+json",
            )
            # Record before answering: a client that got the answer must find it in the log.
            emulator._record(method, url.path, resolved.route, query, reply.status, auth_kind)
            self._send(reply)
            return
        if fault is not None and fault.delay and not fault.handle:
            time.sleep(fault.delay)
        if fault is not None and fault.disconnect and not fault.handle:
            emulator._record(method, url.path, resolved.route, query, 0, auth_kind)
            self.close_connection = True
            return
        reply = emulator._dispatch(
            resolved,
            query,
            raw,
            self.headers.get("Content-Type"),
            self.headers.get("Authorization"),
            self._base_url(resolved.base),
        )
        emulator._record(method, url.path, resolved.route, query, reply.status, auth_kind)
        if fault is not None and fault.disconnect:
            self.close_connection = True
            return
        if fault is not None and fault.delay and fault.handle:
            time.sleep(fault.delay)
        self._send(reply)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _base_url(self, base: str) -> str:
        address = self.server.server_address
        host = self.headers.get("Host") or f"{address[0]!s}:{address[1]}"
        return f"http://{host}{base}"

    def _send(self, reply: Reply) -> None:
        payload = b"" if reply.body is None else json.dumps(reply.body).encode()
        try:
            self.send_response(reply.status)
            if payload:
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if payload:
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout)
            logger.debug("emulator: client went away before the answer")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: AirbyteEmulator) -> None:
        self.emulator = emulator
        super().__init__(address, _Handler)


class AirbyteEmulator:
    """An emulated Airbyte (public API + config API job details) on ``host:port``.

    ``seed``: a mapping or a JSON/YAML file (see :mod:`floe_ingestion_airbyte.testing.seed`);
    None loads the default seed, ``{}`` starts empty. ``port=0`` picks a free port.
    ``clock`` (epoch seconds) drives token expiry, timestamps and clock-mode jobs;
    ``step_seconds`` puts every job in clock mode; ``token_ttl_seconds`` is the lifetime of
    issued tokens. Use as a context manager, or call :meth:`start` / :meth:`stop`.
    """

    def __init__(
        self,
        seed: Mapping[str, Any] | str | Path | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] | None = None,
        token_ttl_seconds: float | None = None,
        step_seconds: float | None = None,
    ) -> None:
        self.clock: Callable[[], float] = clock or time.time
        self.state = AirbyteState(clock=self.clock)
        data = (
            DEFAULT_SEED
            if seed is None
            else (load_seed(seed) if isinstance(seed, str | Path) else seed)
        )
        self._faults: list[Fault] = apply_seed(self.state, data)
        if token_ttl_seconds is not None:
            self.state.token_ttl_seconds = token_ttl_seconds
        if step_seconds is not None:
            self.state.step_seconds = step_seconds
        self._requests: list[RecordedRequest] = []
        self._log_lock = threading.Lock()
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> AirbyteEmulator:
        if self._server is None:
            self._server = _Server((self._host, self._port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"airbyte-emulator:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._server = None
            self._thread = None

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (used by the command)."""
        self.start()
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> AirbyteEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- addresses --------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the emulator is not running; use it as a context manager")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT`` (the self-managed host: a floe ``workspace_url``)."""
        return f"http://{self._host}:{self.port}"

    @property
    def public_url(self) -> str:
        """The self-managed public API base: ``<url>/api/public/v1``."""
        return f"{self.url}/api/public/v1"

    @property
    def cloud_url(self) -> str:
        """The same API at the Cloud-style base path: ``<url>/v1``."""
        return f"{self.url}/v1"

    @property
    def config_url(self) -> str:
        """The config API base: ``<url>/api/v1``."""
        return f"{self.url}/api/v1"

    # --- seeding and scripting --------------------------------------------------------------

    def add_workspace(self, workspace_id: str | None = None, name: str = "Workspace") -> str:
        return str(self.state.add_workspace(workspace_id, name)["workspaceId"])

    def add_destination(self, **kwargs: Any) -> str:
        """See :meth:`AirbyteState.add_destination`; returns the id."""
        return str(self.state.add_destination(**kwargs)["destinationId"])

    def add_connection(self, **kwargs: Any) -> str:
        """See :meth:`AirbyteState.add_connection`; returns the id."""
        return str(self.state.add_connection(**kwargs)["connectionId"])

    def add_application(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        workspace_ids: Iterable[str] | None = None,
    ) -> tuple[str, str]:
        """An application for client-credentials auth; returns ``(client_id, secret)``."""
        return self.state.add_application(client_id, client_secret, workspace_ids)

    def add_api_token(self, token: str, workspace_ids: Iterable[str] | None = None) -> None:
        self.state.add_api_token(token, workspace_ids)

    def add_basic_user(
        self, username: str, password: str, workspace_ids: Iterable[str] | None = None
    ) -> None:
        self.state.add_basic_user(username, password, workspace_ids)

    def plan_jobs(self, connection_id: str, *plans: JobPlan | Mapping[str, Any]) -> None:
        """Queue how the next sync jobs of ``connection_id`` behave, in order."""
        self.state.plan_jobs(connection_id, plans_from(plans))

    def set_default_plan(self, plan: JobPlan) -> None:
        with self.state.lock:
            self.state.default_plan = plan

    def add_fault(self, fault: Fault | Mapping[str, Any]) -> Fault:
        item = fault if isinstance(fault, Fault) else Fault.from_dict(fault)
        with self.state.lock:
            self._faults.append(item)
        return item

    def clear_faults(self) -> None:
        with self.state.lock:
            self._faults.clear()

    def expire_tokens(self) -> int:
        """Every issued token stops working now (the next request answers 401)."""
        return self.state.expire_tokens()

    def set_connection_status(
        self, connection_id: str, status: str, reason: str | None = None
    ) -> None:
        with self.state.lock:
            connection = self.state.connections[connection_id]
            connection["status"] = status
            if reason is not None:
                connection["statusReason"] = reason

    def start_job(self, connection_id: str) -> int:
        """Start a sync as Airbyte's scheduler would (floe then finds it running: 409)."""
        return self.state.start_job(connection_id).job_id

    def advance_job(self, job_id: int, steps: int = 1) -> None:
        """Move a poll-mode job ``steps`` statuses forward without a poll."""
        with self.state.lock:
            self.state.jobs[job_id].advance(self.clock(), steps)

    # --- inspection -------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order."""
        with self._log_lock:
            return list(self._requests)

    def request_count(self, route: str | None = None) -> int:
        """Requests received, all or for one route (``"GET /jobs/{jobId}"``)."""
        return sum(1 for item in self.requests if route is None or item.route == route)

    def reset_log(self) -> None:
        with self._log_lock:
            self._requests.clear()

    def job(self, job_id: int) -> dict[str, Any]:
        """A job as ``GET /jobs/{jobId}`` shows it (without moving it)."""
        with self.state.lock:
            return self.state.jobs[job_id].to_public(self.clock())

    def jobs(self, connection_id: str | None = None) -> list[dict[str, Any]]:
        with self.state.lock:
            now = self.clock()
            return [
                job.to_public(now)
                for job in self.state.jobs.values()
                if connection_id is None or job.connection_id == connection_id
            ]

    @property
    def tokens_issued(self) -> int:
        return self.state.tokens_issued

    # --- request handling (called by the server threads) ------------------------------------

    def _take_fault(self, route: str) -> Fault | None:
        with self.state.lock:
            for fault in self._faults:
                if fault.matches(route) and fault.take():
                    if fault.used_up:
                        self._faults.remove(fault)
                    return fault
        return None

    def _record(
        self,
        method: str,
        path: str,
        route: str,
        query: dict[str, list[str]],
        status: int,
        auth: str,
    ) -> None:
        with self._log_lock:
            self._requests.append(
                RecordedRequest(method, path, route, query, status, auth, self.clock())
            )

    def _dispatch(
        self,
        resolved: _Resolved,
        query: dict[str, list[str]],
        raw: bytes,
        content_type: str | None,
        authorization: str | None,
        base_url: str,
    ) -> Reply:
        if resolved.match == "none":
            return _problem_reply("resource-not-found", resourceId=resolved.route)
        if resolved.match == "path":
            return Reply(
                405,
                status_problem(405, f"{resolved.route} is not allowed"),
                content_type="application/problem+json",
            )
        try:
            body = _parse_body(raw, content_type)
        except ValueError as exc:
            if resolved.group == "config":
                return Reply(422, {"message": str(exc), "validationErrors": []})
            return _problem_reply("bad-request", message=str(exc))
        if resolved.group == "control":
            return self._control(resolved, body)
        route = resolved.route
        state = self.state
        with state.lock:
            if route == "GET /health":
                return Reply(200, None)
            if route == "POST /applications/token":
                return state.create_token(body)
            who = state.authenticate(authorization)
            if who is None:
                if resolved.group == "config":
                    return Reply(401, {"message": "Unauthorized"})
                return _problem_reply("invalid-api-key")
            return self._endpoint(route, who, query, body, resolved.params, base_url)

    def _endpoint(
        self,
        route: str,
        who: Principal,
        query: dict[str, list[str]],
        body: Any,
        params: dict[str, str],
        base_url: str,
    ) -> Reply:
        state = self.state
        handlers: dict[str, Callable[[], Reply]] = {
            "GET /workspaces": lambda: state.list_workspaces(who, query, base_url),
            "GET /workspaces/{workspaceId}": lambda: state.get_workspace(
                who, params.get("workspaceId", "")
            ),
            "GET /connections": lambda: state.list_connections(who, query, base_url),
            "GET /connections/{connectionId}": lambda: state.get_connection(
                who, params.get("connectionId", "")
            ),
            "GET /destinations": lambda: state.list_destinations(who, query, base_url),
            "GET /destinations/{destinationId}": lambda: state.get_destination(
                who, params.get("destinationId", "")
            ),
            "GET /jobs": lambda: state.list_jobs(who, query, base_url),
            "POST /jobs": lambda: state.create_job(who, body),
            "GET /jobs/{jobId}": lambda: state.get_job(who, params.get("jobId", "")),
            "DELETE /jobs/{jobId}": lambda: state.cancel_job(who, params.get("jobId", "")),
            "POST /v1/jobs/get": lambda: state.job_info(who, body),
        }
        return handlers[route]()

    def _control(self, resolved: _Resolved, body: Any) -> Reply:
        route = resolved.route
        if route == "GET /requests":
            return Reply(200, {"requests": [item.to_dict() for item in self.requests]})
        if route == "POST /reset-log":
            self.reset_log()
            return Reply(200, {"ok": True})
        if route == "POST /expire-tokens":
            return Reply(200, {"expired": self.expire_tokens()})
        try:
            if route == "POST /faults":
                if not isinstance(body, Mapping):
                    raise ValueError("the body must be a fault object")
                return Reply(200, self.add_fault(body).to_dict())
            if route == "POST /plans/{connectionId}":
                items = body if isinstance(body, list) else [body]
                self.plan_jobs(resolved.params["connectionId"], *items)
                return Reply(200, {"planned": len(items)})
        except (TypeError, ValueError) as exc:
            return _problem_reply("bad-request", message=str(exc))
        return _problem_reply("resource-not-found", resourceId=route)


def _parse_body(raw: bytes, content_type: str | None) -> Any:
    if not raw:
        return None
    kind = (content_type or "").split(";")[0].strip().lower()
    text = raw.decode("utf-8")
    if kind == "application/x-www-form-urlencoded":
        return {key: values[-1] for key, values in parse_qs(text).items()}
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the body is not valid JSON: {exc.msg}") from None
