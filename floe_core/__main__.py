"""``python -m floe_core``: the ``floe`` command line (see :mod:`floe_core.cli`)."""

from __future__ import annotations

from floe_core.cli import main

if __name__ == "__main__":
    main()
