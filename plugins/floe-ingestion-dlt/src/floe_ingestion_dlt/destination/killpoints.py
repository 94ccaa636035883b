"""Named points where a test can SIGKILL the loading process (test-only).

The exactly-once tests prove their claim by killing a real loader at chosen moments. The
destination calls :func:`checkpoint` at these named points:

* ``after_extract``: the load step starts (extract and normalize are done, nothing committed);
* ``before_commit:<dlt table>``: the table's Iceberg transaction is staged, not yet committed;
* ``after_commit:<dlt table>``: the table's commit landed in the catalog, dlt does not know yet;
* ``before_complete``: every table is committed, dlt has not marked the package loaded.

Set ``FLOE_TEST_KILL_AT`` to one point or a comma-separated list (for example
``FLOE_TEST_KILL_AT=after_commit:orders``) and the process kills itself with ``SIGKILL`` when it
reaches one of them: no cleanup, no ``finally`` blocks, exactly like an OOM kill. The variable is
for tests only; nothing in floe sets it, and an unset or empty variable costs one dict lookup.
"""

from __future__ import annotations

import logging
import os
import signal

__all__ = ["KILL_ENV", "checkpoint"]

KILL_ENV = "FLOE_TEST_KILL_AT"


def checkpoint(point: str, table: str | None = None) -> None:
    """Kill this process with SIGKILL if ``FLOE_TEST_KILL_AT`` names ``point`` (test-only)."""
    spec = os.environ.get(KILL_ENV)
    if not spec:
        return
    name = f"{point}:{table}" if table is not None else point
    if name in {part.strip() for part in spec.split(",")}:
        logging.shutdown()
        os.kill(os.getpid(), signal.SIGKILL)
