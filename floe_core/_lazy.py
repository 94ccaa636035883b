"""Lazy package exports: a package's public names, each imported from its module on first use.

floe's packages (and the first-party plugins) keep ``import <package>`` light: dlt, dagster
and pyiceberg load only when a name that needs them is used. A package lists ``name -> module``
and installs the pair this module builds::

    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], public: Sequence[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``.

    ``__getattr__(name)`` imports ``exports[name]``, caches the value in the package (later
    lookups are plain attribute reads) and returns it; a name not in ``exports`` raises
    AttributeError as Python's own lookup does. ``__dir__`` lists ``public``.
    """
    namespace = vars(sys.modules[package])

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return list(public)

    return __getattr__, __dir__
