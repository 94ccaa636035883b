"""Secret references, resolved at run time, and values that never print.

A *reference* (``github-api-token``) is what ``floe.yaml`` and the platform manifest hold; the
*value* is looked up when a run needs it, in this order:

1. the environment variable named after the reference, upper-cased with every character that
   is not a letter or digit turned into ``_`` (``github-api-token`` -> ``GITHUB_API_TOKEN``);
2. the secrets directory, laid out as Kubernetes mounts secrets: the file
   ``<dir>/<reference>`` (a reference may contain ``/`` to reach ``<dir>/<secret>/<key>``).
   Trailing newlines are stripped.

A missing or empty secret raises :class:`~floe_core.errors.ConfigurationError` with code
``SECRET_MISSING`` that names the reference and where it was looked for, never a value.

Values come wrapped in :class:`Secret`, whose ``repr``/``str`` are masked and which refuses to
be pickled; only :meth:`Secret.reveal` gives the value. Every value revealed through a
resolver is remembered by its :class:`Redactor`, which the runner uses to scrub messages,
results, lineage events and log records.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from floe_core.errors import ConfigurationError, ErrorCode

__all__ = [
    "MASK",
    "RedactingFilter",
    "Redactor",
    "Secret",
    "SecretResolver",
    "env_var_name",
    "is_valid_reference",
]

MASK = "**********"
SECRETS_DIR_ENV = "FLOE_SECRETS_DIR"
_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?$")


class Secret:
    """A secret value that does not show itself in repr, str, f-strings, logs or pickles."""

    __slots__ = ("_value", "reference")

    def __init__(self, value: str, reference: str = "") -> None:
        self._value = value
        self.reference = reference

    def reveal(self) -> str:
        """The value itself: call only where it is handed to the system that needs it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.reference!r}, {MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, format_spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> NoReturn:
        raise TypeError("a floe Secret cannot be pickled; resolve it where it is used")

    def __bool__(self) -> bool:
        return bool(self._value)


def env_var_name(reference: str) -> str:
    """The environment variable for ``reference``: ``github-api-token`` -> ``GITHUB_API_TOKEN``."""
    return re.sub(r"[^A-Za-z0-9]", "_", reference).upper()


def is_valid_reference(reference: str) -> bool:
    """Whether ``reference`` is well formed: letters, digits, ``-``, ``_``, ``.``, one ``/``."""
    return bool(_REFERENCE.match(reference))


class Redactor:
    """Replaces known secret values with :data:`MASK` in text and nested data."""

    _MIN_LENGTH = 4  # shorter values would mask innocent text everywhere; refuse them instead

    def __init__(self, values: Iterable[str] = ()) -> None:
        self._values: set[str] = set()
        for value in values:
            self.add(value)

    def add(self, value: str) -> None:
        if value and len(value) >= self._MIN_LENGTH:
            self._values.add(value)

    def __len__(self) -> int:
        return len(self._values)

    def redact(self, text: str) -> str:
        # Longest first, so a secret that contains another is masked whole.
        for value in sorted(self._values, key=len, reverse=True):
            if value in text:
                text = text.replace(value, MASK)
        return text

    def redact_data(self, data: Any) -> Any:
        """A copy of ``data`` (dicts, lists, tuples, strings) with secrets masked."""
        if not self._values:
            return data
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, Secret):
            return MASK
        if isinstance(data, Mapping):
            return {self.redact_data(k): self.redact_data(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return type(data)(self.redact_data(item) for item in data)
        return data


class RedactingFilter(logging.Filter):
    """A logging filter that masks known secrets in a record's message and arguments."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if len(self.redactor):
            message = record.getMessage()
            record.msg = self.redactor.redact(message)
            record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                # Render the traceback now, redacted, so handlers never format the raw one.
                formatted = logging.Formatter().formatException(record.exc_info)
                record.exc_text = self.redactor.redact(formatted)
                record.exc_info = None
        return True


class SecretResolver:
    """Resolves secret references from the environment and a mounted secrets directory."""

    def __init__(
        self,
        *,
        environ: Mapping[str, str] | None = None,
        secrets_dir: str | os.PathLike[str] | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        directory = secrets_dir or self._environ.get(SECRETS_DIR_ENV)
        self.secrets_dir = Path(directory) if directory else None
        self.redactor = Redactor() if redactor is None else redactor

    def locations(self, reference: str) -> list[str]:
        """Where ``reference`` is looked for, in order (for messages and ``floe validate``)."""
        places = [f"environment variable {env_var_name(reference)}"]
        if self.secrets_dir is not None:
            places.append(f"file {self.secrets_dir / reference}")
        return places

    def resolve(self, reference: str, *, purpose: str | None = None) -> Secret:
        """The value of ``reference``; ConfigurationError(SECRET_MISSING) if absent or empty."""
        if not _REFERENCE.match(reference):
            raise ConfigurationError(
                ErrorCode.SECRET_MISSING,
                f"secret reference {reference!r} is not valid: use letters, digits, '-', '_', "
                "'.' and at most one '/' (secret/key)",
                details={"reference": reference},
            )
        value = self._lookup(reference)
        if value is None or not value.strip():
            state = "is empty" if value is not None else "is not set"
            for_what = f" (needed for {purpose})" if purpose else ""
            raise ConfigurationError(
                ErrorCode.SECRET_MISSING,
                f"secret {reference!r}{for_what} {state}: set "
                + " or create ".join(self.locations(reference)),
                details={"reference": reference, "looked_in": self.locations(reference)},
            )
        self.redactor.add(value)
        return Secret(value, reference)

    def resolve_all(self, references: Mapping[str, str] | None) -> dict[str, Secret]:
        """``{argument: reference}`` -> ``{argument: Secret}``; every missing one is reported."""
        resolved: dict[str, Secret] = {}
        missing: list[str] = []
        for argument, reference in (references or {}).items():
            try:
                resolved[argument] = self.resolve(reference, purpose=argument)
            except ConfigurationError as exc:
                missing.append(exc.error.message)
        if missing:
            raise ConfigurationError(
                ErrorCode.SECRET_MISSING,
                "; ".join(missing),
                details={"references": sorted(set((references or {}).values()))},
            )
        return resolved

    def _lookup(self, reference: str) -> str | None:
        value = self._environ.get(env_var_name(reference))
        if value is not None:
            return value
        if self.secrets_dir is not None:
            path = self.secrets_dir / reference
            if path.is_file():
                return path.read_text(encoding="utf-8").rstrip("\r\n")
        return None
