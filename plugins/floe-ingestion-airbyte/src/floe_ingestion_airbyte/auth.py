"""How the client proves who it is to Airbyte: one of three methods, secrets kept masked.

* :class:`ClientCredentials`: an Airbyte application's ``client_id`` and ``client_secret``,
  exchanged at ``POST /applications/token`` for a short-lived bearer token (Airbyte Cloud and
  self-managed with applications). The client refreshes it before ``expires_in`` runs out and
  once more when a request answers 401.
* :class:`BearerToken`: a static access token (sent as ``Authorization: Bearer ...``).
* :class:`BasicAuth`: username and password (self-managed deployments behind basic auth).

Secret parts are :class:`~floe_core.secrets.Secret` values: they print as a mask and are
revealed only when the header is built.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from floe_core.secrets import Secret

__all__ = ["AuthMethod", "BasicAuth", "BearerToken", "ClientCredentials", "as_secret"]


def as_secret(value: Secret | str, reference: str = "") -> Secret:
    """``value`` as a :class:`Secret` (plain strings are wrapped)."""
    return value if isinstance(value, Secret) else Secret(value, reference)


@dataclass(frozen=True, init=False)
class ClientCredentials:
    """An Airbyte application: exchanged for bearer tokens at ``POST /applications/token``."""

    client_id: str
    client_secret: Secret

    def __init__(self, client_id: str, client_secret: Secret | str) -> None:
        object.__setattr__(self, "client_id", client_id)
        object.__setattr__(self, "client_secret", as_secret(client_secret))


@dataclass(frozen=True, init=False)
class BearerToken:
    """A static API token."""

    token: Secret

    def __init__(self, token: Secret | str) -> None:
        object.__setattr__(self, "token", as_secret(token))

    def header(self) -> str:
        return f"Bearer {self.token.reveal()}"


@dataclass(frozen=True, init=False)
class BasicAuth:
    """Username and password (HTTP basic authentication)."""

    username: str
    password: Secret

    def __init__(self, username: str, password: Secret | str) -> None:
        object.__setattr__(self, "username", username)
        object.__setattr__(self, "password", as_secret(password))

    def header(self) -> str:
        raw = f"{self.username}:{self.password.reveal()}".encode()
        return f"Basic {base64.b64encode(raw).decode('ascii')}"


AuthMethod = ClientCredentials | BearerToken | BasicAuth
"""Any of the three authentication methods."""
