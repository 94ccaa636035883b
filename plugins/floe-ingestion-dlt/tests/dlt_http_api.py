"""A real HTTP API on 127.0.0.1 for the rest_api tests: pages, rate limits and failures.

``GET /<collection>?page=N`` answers ``{"data": [...], "next": "<url of page N+1>" | null}``
with ``page_size`` items per page. Tests script it:

* ``api.fail_next(status, headers=..., times=n)``: the next ``n`` requests get that answer
  (e.g. 429 with ``Retry-After``), then normal service resumes;
* ``api.fail_always(status, ...)`` / ``api.recover()``: every request fails until recovered;
* ``api.fail_on_page(page, status)``: that page fails (a source that breaks midway);
* ``api.delay = seconds``: answers come late (for timeouts);
* ``api.token = "..."``: requests without ``Authorization: Bearer <token>`` get 401.

``api.requests`` records ``(path, query, headers)`` of every request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Answer:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = '{"message": "scripted failure"}'


class HttpApi:
    """The server's state; collections map a name to its items."""

    def __init__(self, collections: Mapping[str, list[dict[str, Any]]], page_size: int = 10):
        self.collections = {name: list(items) for name, items in collections.items()}
        self.page_size = page_size
        self.token: str | None = None
        self.delay = 0.0
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self._next: list[Answer] = []
        self._always: Answer | None = None
        self._page_failures: dict[int, Answer] = {}
        self._lock = threading.Lock()
        self.url = ""

    def fail_next(self, status: int, *, headers: Mapping[str, str] | None = None, times: int = 1):
        with self._lock:
            self._next.extend(Answer(status, dict(headers or {})) for _ in range(times))

    def fail_always(self, status: int, *, headers: Mapping[str, str] | None = None) -> None:
        self._always = Answer(status, dict(headers or {}))

    def fail_on_page(self, page: int, status: int) -> None:
        self._page_failures[page] = Answer(status)

    def recover(self) -> None:
        with self._lock:
            self._next.clear()
            self._always = None
            self._page_failures.clear()

    def answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> Answer:
        with self._lock:
            self.requests.append((path, query, headers))
            if self._next:
                return self._next.pop(0)
        if self._always is not None:
            return self._always
        if self.token is not None and headers.get("authorization") != f"Bearer {self.token}":
            return Answer(401, {"WWW-Authenticate": "Bearer"}, '{"message": "Bad credentials"}')
        name = path.strip("/")
        if name not in self.collections:
            return Answer(404, {}, '{"message": "Not Found"}')
        page = int(query.get("page", ["1"])[0])
        if page in self._page_failures:
            return self._page_failures[page]
        items = self.collections[name]
        start = (page - 1) * self.page_size
        chunk = items[start : start + self.page_size]
        more = start + self.page_size < len(items)
        body = {"data": chunk, "next": f"{self.url}/{name}?page={page + 1}" if more else None}
        return Answer(200, {"Content-Type": "application/json"}, json.dumps(body))


def _handler(api: HttpApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            headers = {key.lower(): value for key, value in self.headers.items()}
            answer = api.answer(parts.path, parse_qs(parts.query), headers)
            if api.delay:
                time.sleep(api.delay)
            payload = answer.body.encode()
            try:
                self.send_response(answer.status)
                for key, value in answer.headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@contextmanager
def serve(api: HttpApi) -> Iterator[HttpApi]:
    """Serve ``api`` on 127.0.0.1 (a free port) in a thread for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(api))
    server.daemon_threads = True
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="floe-test-http-api", daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def rest_api_args(api: HttpApi, *collections: str) -> dict[str, Any]:
    """dlt REST API config for ``collections`` of ``api`` (json_link pagination)."""
    return {
        "client": {
            "base_url": api.url,
            "paginator": {"type": "json_link", "next_url_path": "next"},
        },
        "resources": [
            {"name": name, "endpoint": {"path": name, "data_selector": "data"}}
            for name in collections
        ],
    }
