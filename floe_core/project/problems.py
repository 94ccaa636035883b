"""`Problem` and `ProjectError`: what is wrong with a project, and where.

Every check of a project (parsing, validation, plugins, secrets, catalog) reports
:class:`Problem` records. A problem names the file, the line (and, for YAML syntax errors, the
column), the key path inside the file (``ingestion[0].dlt.write_disposition``) and says what was
expected; it prints as ``floe.yaml:14: ingestion[0].dlt.write_disposition: expected ...``.

:class:`ProjectError` is the :class:`~floe_core.errors.ConfigurationError` raised when a project
cannot be used. It carries every problem found (``.problems``, and ``details["problems"]`` as
plain dicts) so callers list them all at once. Its code is the problems' common code
(``SECRET_MISSING`` when only secrets are missing), else ``INVALID_CONFIG``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from floe_core.errors import CODE_CATEGORIES, ConfigurationError, ErrorCategory, ErrorCode

__all__ = ["KeyPath", "Problem", "ProjectError", "format_path"]

KeyPath = tuple[str | int, ...]
"""A location inside a YAML document: mapping keys and list indexes, outermost first."""

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def format_path(path: Sequence[str | int]) -> str:
    """``("ingestion", 0, "dlt", "source")`` -> ``ingestion[0].dlt.source``.

    Keys that are not plain names are quoted: ``catalog.properties["s3.endpoint"]``.
    """
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{part!r}]".replace("'", '"')
    return text


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a project: where it is and what was expected.

    ``file`` is the file as the user named it (``None`` for problems outside the files, such as
    an unknown pipeline name on the command line); ``line`` and ``column`` are 1-based;
    ``path`` is the key path. ``code``/``category`` classify the problem with the error
    taxonomy (``category`` follows from ``code`` unless given).
    """

    message: str
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: KeyPath = ()
    code: ErrorCode = ErrorCode.INVALID_CONFIG
    category: ErrorCategory = None  # type: ignore[assignment]  # from code in __post_init__

    def __post_init__(self) -> None:
        if self.category is None:
            object.__setattr__(self, "category", CODE_CATEGORIES[self.code][0])

    @property
    def key(self) -> str:
        """The key path as text (``ingestion[0].dlt.source``); empty for the whole file."""
        return format_path(self.path)

    @property
    def where(self) -> str:
        """``file:line:column`` as far as known (``floe.yaml:14``)."""
        parts = [self.file or "<command line>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)

    def __str__(self) -> str:
        key = f" {self.key}:" if self.key else ""
        return f"{self.where}:{key} {self.message}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (``file``, ``line``, ``column``, ``key``, ``message``, ``code``...)."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "key": self.key,
            "message": self.message,
            "code": self.code.value,
            "category": self.category.value,
            "text": str(self),
        }


class ProjectError(ConfigurationError):
    """The project cannot be used: one or more :class:`Problem` records (``.problems``).

    The message is the problem itself when there is one, else ``summary`` (default
    "N problems found") followed by one indented line per problem.
    """

    def __init__(self, problems: Iterable[Problem], *, summary: str | None = None) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        if not self.problems:
            raise ValueError("a ProjectError needs at least one problem")
        codes = {problem.code for problem in self.problems}
        code = codes.pop() if len(codes) == 1 else ErrorCode.INVALID_CONFIG
        if len(self.problems) == 1:
            message = str(self.problems[0])
        else:
            head = summary or f"{len(self.problems)} problems found"
            message = head + ":\n" + "\n".join(f"  {problem}" for problem in self.problems)
        super().__init__(
            code,
            message,
            details={"problems": [problem.to_dict() for problem in self.problems]},
        )
