"""``python -m floe_ingestion_airbyte.testing`` / ``floe-airbyte-emulator``: run the emulator.

Prints the URLs and a ``plugins.ingestion.config`` block that points floe at it, then serves
until interrupted (Ctrl-C or SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from floe_ingestion_airbyte.testing.seed import CLIENT_ID, CLIENT_SECRET, WORKSPACE_ID
from floe_ingestion_airbyte.testing.server import AirbyteEmulator

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="floe-airbyte-emulator",
        description="An Airbyte API emulator on loopback, for testing floe Airbyte pipelines.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port (0: any free port)")
    parser.add_argument(
        "--seed", help="JSON or YAML seed file (workspaces, destinations, connections, plans...)"
    )
    parser.add_argument(
        "--step-seconds",
        type=float,
        default=None,
        help="move jobs one status every N seconds (default: one status per poll)",
    )
    parser.add_argument(
        "--token-ttl-seconds", type=float, default=None, help="lifetime of access tokens"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        emulator = AirbyteEmulator(
            args.seed,
            host=args.host,
            port=args.port,
            step_seconds=args.step_seconds,
            token_ttl_seconds=args.token_ttl_seconds,
        ).start()
    except (OSError, ValueError) as exc:
        print(f"floe-airbyte-emulator: {exc}", file=sys.stderr)
        return 2

    def _stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    example = {
        "workspace_url": emulator.url,
        "workspace_id": WORKSPACE_ID,
        "client_id": CLIENT_ID,
        "connection_secret_ref": "airbyte-client-secret",
    }
    lines = [
        f"Airbyte API emulator listening on {emulator.url}",
        f"  public API (self-managed): {emulator.public_url}",
        f"  public API (Cloud style):  {emulator.cloud_url}",
        f"  config API:                {emulator.config_url}",
        "platform-manifest.yaml plugins.ingestion.config for the default seed:",
        f"  {json.dumps(example)}",
        f"  with the secret: export AIRBYTE_CLIENT_SECRET={CLIENT_SECRET}",
    ]
    print("\n".join(lines), flush=True)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
