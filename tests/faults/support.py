"""Helpers of the fault-injection suite (not a test module).

* :class:`FaultLog` collects, per fault tried, whether floe survived it and how many rows were
  lost or duplicated; ``conftest.py`` prints it at the end of the session.
* :func:`compare_rows` compares a table with its source row by row.
* :class:`PrivatePostgres` is a PostgreSQL cluster of the test's own (initdb in a temporary
  folder, another port), which the catalog tests may restart and stop without disturbing the
  shared test server.
* :class:`S3FaultProxy` sits between pyiceberg and a moto S3 server and answers ``503 SlowDown``
  when told to; :class:`HangingServer` accepts connections and never answers.
"""

from __future__ import annotations

import glob
import http.client
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from observability.support import free_port

__all__ = [
    "FaultLog",
    "FaultRecord",
    "HangingServer",
    "PrivatePostgres",
    "RowDiff",
    "S3FaultProxy",
    "compare_rows",
    "table_rows",
]


# -- the summary ----------------------------------------------------------------------------------


@dataclass
class FaultRecord:
    """One fault tried: did floe survive it, and what happened to the rows."""

    group: str
    name: str
    survived: bool | None = None  # None: the test ended before it could tell
    rows_lost: int | None = None
    rows_duplicated: int | None = None
    note: str = ""


@dataclass
class FaultLog:
    """Every fault tried in the session, in order."""

    records: list[FaultRecord] = field(default_factory=list)

    def tried(self, group: str, name: str) -> FaultRecord:
        record = FaultRecord(group, name)
        self.records.append(record)
        return record

    def lines(self) -> list[str]:
        """The printed summary: one line per fault, then the totals."""
        if not self.records:
            return []
        width = max(len(f"{r.group}: {r.name}") for r in self.records)
        lines = [f"{'fault'.ljust(width)}  survived  rows lost  rows duplicated"]
        for r in self.records:
            survived = {True: "yes", False: "NO", None: "?"}[r.survived]
            lost = "?" if r.rows_lost is None else str(r.rows_lost)
            duplicated = "?" if r.rows_duplicated is None else str(r.rows_duplicated)
            note = f"  ({r.note})" if r.note else ""
            lines.append(
                f"{f'{r.group}: {r.name}'.ljust(width)}  {survived:<8}  {lost:>9}  "
                f"{duplicated:>15}{note}"
            )
        tried = len(self.records)
        survived_count = sum(1 for r in self.records if r.survived)
        lost_total = sum(r.rows_lost or 0 for r in self.records)
        duplicated_total = sum(r.rows_duplicated or 0 for r in self.records)
        unknown = sum(1 for r in self.records if r.rows_lost is None or r.survived is None)
        lines.append(
            f"faults tried: {tried}, survived: {survived_count}, rows lost: {lost_total}, "
            f"rows duplicated: {duplicated_total}" + (f", unfinished: {unknown}" if unknown else "")
        )
        return lines


# -- comparing rows -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowDiff:
    """How a table differs from its source, row by row."""

    lost: int  # source rows absent from the table (or present with other values)
    duplicated: int  # table rows beyond one per source row, and rows the source never had
    examples: tuple[str, ...] = ()

    @property
    def exact(self) -> bool:
        return self.lost == 0 and self.duplicated == 0


def compare_rows(
    source: Iterable[Mapping[str, Any]],
    table: Iterable[Mapping[str, Any]],
    key: Callable[[Mapping[str, Any]], Hashable],
) -> RowDiff:
    """Compare ``table`` with ``source`` on the source's columns, rows matched by ``key``."""
    wanted = {key(row): dict(row) for row in source}
    columns = {column for row in wanted.values() for column in row}
    got: dict[Hashable, list[dict[str, Any]]] = {}
    for row in table:
        got.setdefault(key(row), []).append({c: row.get(c) for c in columns})
    lost, duplicated, examples = 0, 0, []
    for k, row in wanted.items():
        copies = got.get(k, [])
        matching = sum(1 for copy in copies if copy == row)
        if matching == 0:
            lost += 1
            examples.append(f"lost {k}: want {row}, got {copies}")
        duplicated += max(0, len(copies) - 1)
        if len(copies) > 1:
            examples.append(f"{len(copies)} copies of {k}")
    for k, copies in got.items():
        if k not in wanted:
            duplicated += len(copies)
            examples.append(f"unexpected {k}: {copies}")
    return RowDiff(lost, duplicated, tuple(examples[:5]))


def table_rows(catalog: Any, identifier: str) -> list[dict[str, Any]]:
    """Every row of an Iceberg table (dlt's own columns dropped); [] when it does not exist."""
    if not catalog.table_exists(identifier):
        return []
    rows = catalog.load_table(identifier).scan().to_arrow().to_pylist()
    return [{k: v for k, v in row.items() if not k.startswith("_dlt")} for row in rows]


# -- a private PostgreSQL cluster -----------------------------------------------------------------


def _pg_bin() -> Path:
    def version(path: str) -> int:
        name = Path(path).parent.name
        return int(name) if name.isdigit() else 0

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version)
    if found:
        return Path(found[-1])
    initdb = shutil.which("initdb")
    assert initdb, "PostgreSQL is not installed (scripts/services.sh installs it)"
    return Path(initdb).parent


class PrivatePostgres:
    """A PostgreSQL cluster in a temporary folder on its own port, trusted local logins.

    initdb and postgres refuse to run as root, so as root they run as the ``postgres`` system
    user (as ``scripts/services.sh`` does). :meth:`restart`, :meth:`stop` and :meth:`start`
    are what the catalog fault tests do to it; :meth:`destroy` removes it.
    """

    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.dir = Path(tempfile.mkdtemp(prefix="floe-fault-pg-"))
        self.port = free_port()
        self.data = self.dir / "data"
        if os.getuid() == 0:
            os.chmod(self.dir, 0o755)
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "floe", "--auth=trust", "-E", "UTF8")
        self.start()

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the ``postgres`` database (the catalog lives there)."""
        return f"postgresql+psycopg2://floe@127.0.0.1:{self.port}/postgres"

    def _command(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin / tool), *args]
        return ["runuser", "-u", "postgres", "--", *command] if os.getuid() == 0 else command

    def _run(self, tool: str, *args: str) -> None:
        completed = subprocess.run(
            self._command(tool, *args),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert completed.returncode == 0, f"{tool} {args} failed: {completed.stderr[-2000:]}"

    def _ctl(self, *args: str) -> list[str]:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.dir} -c fsync=off"
        return [
            "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
            "-o", options, *args,
        ]  # fmt: skip

    def ctl_command(self, *args: str) -> list[str]:
        """The ``pg_ctl`` command line for ``args`` (``restart``...), for a source to run."""
        return self._command("pg_ctl", *self._ctl(*args))

    def start(self) -> None:
        self._run("pg_ctl", *self._ctl("start"))

    def stop(self) -> None:
        self._run("pg_ctl", *self._ctl("-m", "fast", "stop"))

    def restart(self) -> None:
        self._run("pg_ctl", *self._ctl("-m", "fast", "restart"))

    def destroy(self) -> None:
        subprocess.run(
            self._command("pg_ctl", "-D", str(self.data), "-m", "immediate", "stop"),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


# -- object storage -------------------------------------------------------------------------------


_SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message>"
    b"<RequestId>floe-fault-proxy</RequestId></Error>"
)
_HOP_BY_HOP = {"connection", "transfer-encoding", "keep-alive", "content-length"}


class S3FaultProxy:
    """An HTTP proxy to an S3 endpoint that answers ``503 SlowDown`` on demand.

    :meth:`fail` makes the next ``times`` requests whose method is in ``methods`` fail (after
    letting ``skip`` through); ``failed`` counts the 503s sent, ``forwarded`` the others.
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.removeprefix("http://").rstrip("/")
        self.failed = 0
        self.forwarded = 0
        self._plan: list[tuple[frozenset[str], int, int]] = []  # methods, skip, times
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, times: int, methods: Sequence[str] = ("PUT", "POST"), skip: int = 0) -> None:
        with self._lock:
            self._plan.append((frozenset(methods), skip, times))

    def _should_fail(self, method: str) -> bool:
        with self._lock:
            for index, (methods, skip, times) in enumerate(self._plan):
                if method not in methods or times <= 0:
                    continue
                if skip > 0:
                    self._plan[index] = (methods, skip - 1, times)
                    return False
                self._plan[index] = (methods, skip, times - 1)
                self.failed += 1
                return True
            self.forwarded += 1
            return False

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                        if size == 0:
                            self.rfile.readline()
                            return b"".join(chunks)
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def _relay(self) -> None:
                body = self._body()
                if proxy._should_fail(self.command):
                    payload = b"" if self.command == "HEAD" else _SLOW_DOWN
                    self.send_response(503)
                    self.send_header("Content-Type", "application/xml")
                    self.send_header("Content-Length", str(len(_SLOW_DOWN)))
                    self.end_headers()
                    self.wfile.write(payload)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                headers["Content-Length"] = str(len(body))
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=60)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    response = upstream.getresponse()
                    payload = response.read()
                    self.send_response(response.status, response.reason)
                    for key, value in response.getheaders():
                        if key.lower() not in _HOP_BY_HOP:
                            self.send_header(key, value)
                    length = response.getheader("Content-Length")
                    self.send_header(
                        "Content-Length",
                        length if self.command == "HEAD" and length else str(len(payload)),
                    )
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                finally:
                    upstream.close()

            do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _relay

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


class HangingServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (a backend that hangs)."""

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(64)
        self._accepted: list[socket.socket] = []
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    @property
    def connections(self) -> int:
        return len(self._accepted)

    def _accept(self) -> None:
        self._socket.settimeout(0.2)
        while not self._stopped.is_set():
            try:
                connection, _ = self._socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._accepted.append(connection)

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(5)
        for connection in self._accepted:
            connection.close()
        self._socket.close()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` every 50 ms until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
