"""Error bodies the emulator answers with: RFC 9457 problems as ``api-problems.yaml`` defines
them (``status``, ``type``, ``title``, ``detail`` and the problem's ``data``), plus the config
API's ``KnownExceptionInfo`` shapes.

Statuses that ``api-problems.yaml`` has no problem for (429, 502, 504: they come from Airbyte's
gateway) use the RFC's ``about:blank`` type with the HTTP reason as title.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["PROBLEMS", "config_api_error", "problem", "status_problem"]

_ERRORS = "https://reference.airbyte.com/reference/errors"

PROBLEMS: Mapping[str, tuple[int, str, str, str]] = {
    # kind: (status, type, title, default detail), as in api-problems.yaml
    "invalid-api-key": (
        401,
        f"{_ERRORS}#invalid-api-key",
        "invalid-api-key",
        "The API key in the Authorization header is invalid.",
    ),
    "forbidden": (403, f"{_ERRORS}#forbidden", "forbidden", "The request is forbidden."),
    "resource-not-found": (
        404,
        f"{_ERRORS}#resource-not-found",
        "resource-not-found",
        "The requested resource could not be found.",
    ),
    "bad-request": (
        400,
        f"{_ERRORS}#bad-request",
        "bad-request",
        "The request could not be understood by the server due to malformed syntax.",
    ),
    "value-not-found": (400, _ERRORS, "value-not-found", "The submitted value could not be found."),
    "unprocessable-entity": (
        422,
        f"{_ERRORS}#unprocessable-entity",
        "unprocessable-entity",
        "The body of the request was not understood",
    ),
    "state-conflict": (409, f"{_ERRORS}#409-state-conflict", "state-conflict", "State conflict"),
    "connection-locked": (
        409,
        "error:connection/locked",
        "Connection is locked",
        "The connection is locked and cannot be modified.",
    ),
    "try-again-later": (
        409,
        f"{_ERRORS}#try-again-later",
        "try-again-later",
        "Please try again later.",
    ),
    "request-timeout": (
        408,
        "error:request-timeout-exceeded",
        "Request timeout exceeded",
        "The request has exceeded the timeout associated with this endpoint.",
    ),
    "unexpected-problem": (
        500,
        _ERRORS,
        "unexpected-problem",
        "An unexpected problem has occurred. If this is an error that needs to be addressed, "
        "please submit a pull request or github issue.",
    ),
    "not-implemented-in-oss": (
        501,
        "error:implementation/not-implemented-in-oss",
        "API not implemented in Airbyte OSS",
        "The requested API isn't implemented in the Airbyte OSS version.",
    ),
    "service-unavailable": (
        503,
        _ERRORS,
        "service-unavailable",
        "The server is currently unable to handle the request.",
    ),
}

_REASONS = {
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}
_KIND_BY_STATUS = {
    401: "invalid-api-key",
    403: "forbidden",
    404: "resource-not-found",
    400: "bad-request",
    408: "request-timeout",
    409: "state-conflict",
    422: "unprocessable-entity",
    500: "unexpected-problem",
    501: "not-implemented-in-oss",
    503: "service-unavailable",
}


def problem(
    kind: str, detail: str | None = None, data: Mapping[str, Any] | None = None
) -> tuple[int, dict[str, Any]]:
    """``(status, body)`` of the named problem (a key of :data:`PROBLEMS`)."""
    status, type_, title, default_detail = PROBLEMS[kind]
    body: dict[str, Any] = {
        "status": status,
        "type": type_,
        "title": title,
        "detail": detail or default_detail,
    }
    if data is not None:
        body["data"] = dict(data)
    return status, body


def status_problem(status: int, detail: str | None = None) -> dict[str, Any]:
    """The body for an arbitrary status: the matching problem, else ``about:blank``."""
    kind = _KIND_BY_STATUS.get(status)
    if kind is not None:
        return problem(kind, detail)[1]
    title = _REASONS.get(status, "Error")
    body: dict[str, Any] = {"status": status, "type": "about:blank", "title": title}
    if detail:
        body["detail"] = detail
    return body


def config_api_error(message: str, *, resource_id: str | None = None) -> dict[str, Any]:
    """A config API error body (``KnownExceptionInfo`` / ``NotFoundKnownExceptionInfo``)."""
    body: dict[str, Any] = {"message": message}
    if resource_id is not None:
        body["id"] = resource_id
    return body
