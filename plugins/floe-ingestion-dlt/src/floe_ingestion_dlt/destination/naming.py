"""Where a dlt table lands in the catalog.

Every dlt table of a load (one per resource, plus the child tables dlt's normaliser makes out of
nested lists) lands in ``<namespace>.<name>`` where ``name`` is ``table_names[dlt_table]`` when
the mapping names it, else the dlt table name itself. A child table of a renamed root keeps the
root's new name as prefix: with ``{"orders": "shop_orders"}`` the child ``orders__lines`` lands
in ``shop_orders__lines``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["TableNaming", "parse_namespace"]


def parse_namespace(namespace: tuple[str, ...] | str) -> tuple[str, ...]:
    """``"a.b"`` or ``("a", "b")`` -> ``("a", "b")``; an empty namespace is a ValueError."""
    parts = tuple(namespace.split(".")) if isinstance(namespace, str) else tuple(namespace)
    if not parts or any(not part for part in parts):
        raise ValueError(f"invalid Iceberg namespace {namespace!r}: use 'name' or 'parent.name'")
    return parts


@dataclass(frozen=True)
class TableNaming:
    """Maps dlt table names to Iceberg identifiers inside one namespace."""

    namespace: tuple[str, ...]
    table_names: Mapping[str, str] = field(default_factory=dict)

    def name(self, dlt_table: str) -> str:
        """The Iceberg table name (without namespace) of ``dlt_table``."""
        if dlt_table in self.table_names:
            return self.table_names[dlt_table]
        for root, mapped in self.table_names.items():
            if dlt_table.startswith(root + "__"):
                return mapped + dlt_table[len(root) :]
        return dlt_table

    def identifier(self, dlt_table: str) -> tuple[str, ...]:
        """The full Iceberg identifier of ``dlt_table``."""
        return (*self.namespace, self.name(dlt_table))

    def dotted(self, dlt_table: str) -> str:
        """``namespace.name`` of ``dlt_table``, as users and results spell it."""
        return ".".join(self.identifier(dlt_table))
