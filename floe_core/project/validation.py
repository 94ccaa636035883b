"""Pydantic validation errors, told as :class:`~floe_core.project.problems.Problem` records.

:func:`validate_document` validates a :class:`~floe_core.project.source.SourceDocument`'s data
against a model. Each pydantic error becomes a problem at the right line, with the key path of
the YAML file (pydantic's union and validator tags are dropped from the location) and a message
that says what was expected and what was found, e.g.
``expected one of append, replace, merge, got 'upsert'`` or
``unknown key 'destnation'; did you mean 'destination'? Allowed keys: ...``.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from floe_core.project.problems import KeyPath, Problem
from floe_core.project.source import SourceDocument

__all__ = ["describe_value", "validate_document", "validation_problems"]

ModelT = TypeVar("ModelT", bound=BaseModel)

_TYPE_WORDS = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping (indented `key: value` lines)",
    "model_type": "a mapping (indented `key: value` lines)",
    "model_attributes_type": "a mapping (indented `key: value` lines)",
    "list_type": "a list (`- item` lines or [a, b])",
    "tuple_type": "a list (`- item` lines or [a, b])",
    "set_type": "a list (`- item` lines or [a, b])",
    "frozen_set_type": "a list (`- item` lines or [a, b])",
}
_BOUNDS = {
    "greater_than": ">",
    "greater_than_equal": ">=",
    "less_than": "<",
    "less_than_equal": "<=",
}
_BOUND_CTX = {
    "greater_than": "gt",
    "greater_than_equal": "ge",
    "less_than": "lt",
    "less_than_equal": "le",
}


def validate_document(
    document: SourceDocument,
    model: type[ModelT],
    *,
    context: Mapping[str, Any] | None = None,
) -> tuple[ModelT | None, list[Problem]]:
    """``(model instance, [])`` when the data is valid, else ``(None, problems)``."""
    try:
        return model.model_validate(document.data, context=dict(context or {})), []
    except ValidationError as exc:
        return None, validation_problems(exc, document, model, context=context)


def validation_problems(
    exc: ValidationError,
    document: SourceDocument,
    model: type[BaseModel],
    *,
    context: Mapping[str, Any] | None = None,
    base: KeyPath = (),
) -> list[Problem]:
    """One problem per pydantic error, located in ``document``.

    ``base`` is where the validated data sits in the document (when validating a part).
    """
    data = _at(document.data, base)
    problems = []
    for error in exc.errors(include_url=False):
        path = _data_path(data, error)
        message = _message(error, model, path, data, context)
        problems.append(document.problem((*base, *path), message))
    return problems


def _at(data: Any, path: KeyPath) -> Any:
    for part in path:
        data = data[part]
    return data


def describe_value(value: Any) -> str:
    """A short description of a value found in a file (for "got ..." in messages)."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    if isinstance(value, str):
        return text
    return f"{type(value).__name__} {text}"


def _data_path(data: Any, error: ErrorDetails) -> KeyPath:
    """The YAML key path of an error: pydantic's location without its internal tags."""
    loc = error["loc"]
    path: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        in_mapping = isinstance(current, Mapping) and isinstance(part, str) and part in current
        in_list = (
            isinstance(current, list)
            and isinstance(part, int)
            and not isinstance(part, bool)
            and 0 <= part < len(current)
        )
        if in_mapping or in_list:
            path.append(part)
            current = current[part]
        elif (
            index == len(loc) - 1
            and error["type"] == "missing"
            and isinstance(part, str)
            and isinstance(current, Mapping)
        ):
            path.append(part)
        # anything else is a tag pydantic adds (union members, validators): not in the file
    return tuple(path)


def _message(
    error: ErrorDetails,
    model: type[BaseModel],
    path: KeyPath,
    data: Any,
    context: Mapping[str, Any] | None,
) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = describe_value(error.get("input"))
    if kind == "missing":
        name = path[-1] if path else "?"
        field = _field_doc(model, path)
        return f"missing required key {name!r}" + (f" ({field})" if field else "")
    if kind == "extra_forbidden":
        return _unknown_key(model, path, _parent_data(data, path), context)
    if kind in ("enum", "literal_error"):
        choices = re.findall(r"'([^']*)'", str(ctx.get("expected", ""))) or [
            str(ctx.get("expected", ""))
        ]
        return f"expected one of {', '.join(choices)}, got {got}"
    if kind in _TYPE_WORDS:
        return f"expected {_TYPE_WORDS[kind]}, got {got}"
    if kind in _BOUNDS:
        bound = ctx.get(_BOUND_CTX[kind])
        return f"expected a number {_BOUNDS[kind]} {bound}, got {got}"
    if kind == "string_too_short":
        return f"expected a non-empty string, got {got}"
    if kind == "too_short":
        return f"expected at least {ctx.get('min_length', 1)} item(s), got {got}"
    if kind == "string_pattern_mismatch":
        return f"expected a value matching {ctx.get('pattern')}, got {got}"
    if kind in ("value_error", "assertion_error"):
        return re.sub(r"^(Value|Assertion) error, ", "", error["msg"])
    message = error["msg"]
    if message.startswith("Input should be "):
        message = "expected " + message[len("Input should be ") :]
    return f"{message}, got {got}"


def _parent_data(data: Any, path: KeyPath) -> Any:
    try:
        return _at(data, path[:-1])
    except (KeyError, IndexError, TypeError):
        return None


def _unknown_key(
    model: type[BaseModel], path: KeyPath, parent_data: Any, context: Mapping[str, Any] | None
) -> str:
    """Name the unknown key, suggest the closest allowed one and list the allowed keys.

    A model may define ``key_candidates(data, context)`` when its allowed keys depend on the
    data (a pipeline allows a block named after its type).
    """
    key = str(path[-1]) if path else "?"
    parent = _model_at(model, path[:-1])
    message = f"unknown key {key!r}"
    if parent is None:
        return message
    candidates = getattr(parent, "key_candidates", None)
    if callable(candidates):
        allowed: list[str] = list(candidates(parent_data, context))
    else:
        allowed = [name for name, field in parent.model_fields.items() if not field.exclude]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        message += f"; did you mean {close[0]!r}?"
    return message + f" Allowed keys here: {', '.join(allowed)}"


def _field_doc(model: type[BaseModel], path: KeyPath) -> str | None:
    parent = _model_at(model, path[:-1])
    if parent is None or not path or not isinstance(path[-1], str):
        return None
    field = parent.model_fields.get(path[-1])
    if field is None or not field.description:
        return None
    return field.description.split(". ")[0].rstrip(".")


def _model_at(model: type[BaseModel], path: Sequence[str | int]) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``path``, if one does."""
    current: Any = model
    for part in path:
        current = _descend(current, part)
        if current is None:
            return None
    current = _strip(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _descend(annotation: Any, part: str | int) -> Any:
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        field = annotation.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field is not None else None
    origin = get_origin(annotation)
    args = get_args(annotation)
    if origin in (list, tuple, set, frozenset) and isinstance(part, int) and args:
        return args[0]
    if origin is dict and isinstance(part, str) and len(args) == 2:
        return args[1]
    return None


def _strip(annotation: Any) -> Any:
    """Remove ``Annotated`` and ``Optional``; of a union, keep its model member if any."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        members = [arg for arg in get_args(annotation) if arg is not type(None)]
        models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
        if models:
            return models[0]
        if len(members) == 1:
            return _strip(members[0])
    return annotation
