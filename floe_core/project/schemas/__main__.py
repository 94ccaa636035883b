"""Regenerate the shipped JSON schemas: ``python -m floe_core.project.schemas [--check]``.

Exit code 0 when the schemas were written (or, with ``--check``, are current), 1 when
``--check`` finds a stale one.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from floe_core.project.schemas import SCHEMA_DIR, stale_schemas, write_schemas


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m floe_core.project.schemas",
        description="Generate the JSON schemas of floe.yaml and platform-manifest.yaml.",
    )
    parser.add_argument("--check", action="store_true", help="only check they are current")
    parser.add_argument("--dir", type=Path, default=SCHEMA_DIR, help="target folder")
    args = parser.parse_args(argv)
    if args.check:
        stale = stale_schemas(args.dir)
        for name in stale:
            print(f"{args.dir / name} is out of date: run python -m floe_core.project.schemas")
        return 1 if stale else 0
    for path in write_schemas(args.dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
