"""YAML documents that remember where every key is (for messages that name the line).

:func:`parse_yaml` composes the YAML node tree (``yaml.compose``-style, safe tags only) and
builds plain Python data from it while recording the position of every mapping key and list
item under its :data:`~floe_core.project.problems.KeyPath`. Validation errors are then mapped
back to ``file:line`` through :meth:`SourceDocument.position`.

Beyond YAML itself it reports, as problems, what YAML lets pass silently but a configuration
file must not: a key given twice (YAML keeps the last one) and keys that are not strings
(``on:``/``yes:``/``no:`` are read as booleans, ``1:`` as a number). Explicit tags other than
YAML's own (``!!python/object...``, ``!Ref``) are refused with their line, on mappings and lists
as well as on plain values.

Malformed YAML raises :class:`~floe_core.project.problems.ProjectError` naming the file, the
line and the column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from floe_core.errors import ErrorCategory, ErrorCode
from floe_core.project.problems import KeyPath, Problem, ProjectError

__all__ = ["Position", "SourceDocument", "parse_yaml", "read_yaml"]

_YAML_TAG = "tag:yaml.org,2002:"
_PLAIN_COLLECTION_TAGS = {f"{_YAML_TAG}map", f"{_YAML_TAG}seq"}


@dataclass(frozen=True)
class Position:
    """A 1-based line and column in a file."""

    line: int
    column: int


@dataclass
class SourceDocument:
    """The data of one YAML file, with the position of each key, and the problems found.

    ``data`` is ``None`` for an empty document (no content, or only comments).
    """

    file: str
    data: Any
    positions: dict[KeyPath, Position] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def position(self, path: KeyPath) -> Position:
        """Where ``path`` is written, or else its closest enclosing key (the file's start)."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found is not None:
                return found
        return Position(1, 1)

    def problem(
        self,
        path: KeyPath,
        message: str,
        *,
        code: ErrorCode = ErrorCode.INVALID_CONFIG,
        category: ErrorCategory | None = None,
    ) -> Problem:
        """A :class:`Problem` at ``path`` in this file (line of the key, or of its parent)."""
        return Problem(
            message,
            file=self.file,
            line=self.position(path).line,
            path=tuple(path),
            code=code,
            category=category,  # type: ignore[arg-type]  # None: derived from code
        )


def read_yaml(path: Path, *, display: str | None = None) -> SourceDocument:
    """Read and parse the YAML file at ``path``; ``display`` is how messages name it.

    Raises ProjectError when the file cannot be read or is not valid YAML.
    """
    shown = display or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectError(
            [Problem(f"is not UTF-8 text (byte {exc.start}): save it as UTF-8", file=shown)]
        ) from None
    except OSError as exc:
        raise ProjectError(
            [Problem(f"cannot be read: {exc.strerror or exc}", file=shown)]
        ) from None
    return parse_yaml(text, file=shown)


def parse_yaml(text: str, *, file: str) -> SourceDocument:
    """Parse ``text`` (one YAML document) into a :class:`SourceDocument` named ``file``."""
    loader = yaml.SafeLoader(text)
    document = SourceDocument(file=file, data=None)
    try:
        node = loader.get_single_node()
        if node is not None:
            document.positions[()] = _position(node)
            document.data = _Builder(loader, document).build(node, ())
    except yaml.MarkedYAMLError as exc:
        raise ProjectError([_syntax_problem(exc, file)]) from None
    except yaml.YAMLError as exc:
        raise ProjectError([Problem(f"malformed YAML: {exc}", file=file)]) from None
    finally:
        loader.dispose()
    return document


class _Builder:
    """Builds Python data from YAML nodes, recording positions and key problems."""

    def __init__(self, loader: yaml.SafeLoader, document: SourceDocument) -> None:
        self.loader = loader
        self.document = document

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self._check_tag(node, path)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                self.document.positions[(*path, index)] = _position(item)
                items.append(self.build(item, (*path, index)))
            return items
        return self.loader.construct_object(node, deep=True)

    def _check_tag(self, node: yaml.Node, path: KeyPath) -> None:
        """Refuse explicit tags a plain configuration file has no use for.

        The builder makes mappings and lists itself, so a tag on one (``!!python/object/apply``,
        ``!!set``, ``!Ref``) would otherwise be dropped silently; on a plain value only the
        safe loader's own tags are accepted.
        """
        if isinstance(node, yaml.CollectionNode):
            allowed = node.tag in _PLAIN_COLLECTION_TAGS
        else:
            allowed = node.tag in self.loader.yaml_constructors
        if allowed:
            return
        tag = node.tag.replace(_YAML_TAG, "!!", 1) if node.tag.startswith(_YAML_TAG) else node.tag
        where = _position(node)
        raise ProjectError(
            [
                Problem(
                    f"the YAML tag {tag!r} is not allowed: floe files hold plain values, "
                    "mappings and lists; remove the tag",
                    file=self.document.file,
                    line=where.line,
                    column=where.column,
                    path=path,
                )
            ]
        )

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[str, Any]:
        self.loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = self.loader.construct_object(key_node, deep=True)
            where = _position(key_node)
            if not isinstance(key, str):
                raw = getattr(key_node, "value", key)
                self.document.problems.append(
                    Problem(
                        f"key {raw!r} is read by YAML as {type(key).__name__} {key!r}, not as a "
                        f'name; quote it ("{raw}":) or fix it',
                        file=self.document.file,
                        line=where.line,
                        path=(*path, str(raw)),
                    )
                )
                continue
            key_path = (*path, key)
            if key in result:
                first = self.document.positions[key_path]
                self.document.problems.append(
                    Problem(
                        f"the key {key!r} is given twice (first at line {first.line}); YAML "
                        "would silently keep only the last one: remove one of them",
                        file=self.document.file,
                        line=where.line,
                        path=key_path,
                    )
                )
            else:
                self.document.positions[key_path] = where
            result[key] = self.build(value_node, key_path)
        return result


def _position(node: yaml.Node) -> Position:
    return Position(node.start_mark.line + 1, node.start_mark.column + 1)


def _syntax_problem(exc: yaml.MarkedYAMLError, file: str) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    what = exc.problem or "invalid syntax"
    if exc.context and exc.context_mark is not None and exc.problem_mark is not None:
        what = f"{what} ({exc.context} at line {exc.context_mark.line + 1})"
    elif exc.context:
        what = f"{what} ({exc.context})"
    hint = (
        "; check the indentation, and quote values that contain ': ' or start with a special "
        "character"
    )
    return Problem(
        f"malformed YAML: {what}{hint}",
        file=file,
        line=mark.line + 1 if mark is not None else None,
        column=mark.column + 1 if mark is not None else None,
    )
