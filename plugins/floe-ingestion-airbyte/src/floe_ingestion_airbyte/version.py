"""The distribution's version (kept apart so every module can import it cheaply)."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
