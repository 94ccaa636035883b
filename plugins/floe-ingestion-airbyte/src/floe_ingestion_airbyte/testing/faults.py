"""Scripted faults: what the emulator does instead of (or besides) answering normally.

A :class:`Fault` matches requests by route (``"POST /jobs"``, ``"GET /jobs/{jobId}"``,
``"POST /applications/token"``, ``"POST /v1/jobs/get"`` for the config API, or ``"*"``),
lets the first ``skip`` matches through, then applies to the next ``times`` matches (``None``:
all of them) and is used up. What it does, in this order:

* ``expire_tokens``: every access token issued so far stops working (a token that expires
  mid-sync), then the request is handled normally (and answers 401);
* ``status``: answer that status with its problem body (and ``Retry-After`` when
  ``retry_after`` is set) without handling the request; ``delay`` waits first;
* ``disconnect``: close the connection without an answer (after handling the request when
  ``handle`` is true);
* ``delay`` with ``handle=True``: handle the request for real, then wait ``delay`` seconds of
  real time before answering: a slow ``POST /jobs`` that still creates the job while the
  client times out; with ``handle=False`` the wait comes first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Fault"]


@dataclass
class Fault:
    """One scripted fault (see module doc)."""

    route: str = "*"
    status: int | None = None
    retry_after: float | str | None = None
    times: int | None = 1
    skip: int = 0
    delay: float = 0.0
    handle: bool = False
    disconnect: bool = False
    expire_tokens: bool = False
    detail: str | None = None
    applied: int = field(default=0, init=False)
    seen: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.route != "*":
            method, _, path = self.route.partition(" ")
            if not path.startswith("/") or method != method.upper():
                raise ValueError(
                    f"route {self.route!r} must look like 'POST /jobs' or 'GET /jobs/{{jobId}}'"
                )

    @classmethod
    def rate_limit(
        cls,
        route: str = "*",
        retry_after: float | str | None = 1,
        times: int | None = 1,
        **kwargs: Any,
    ) -> Fault:
        """429 Too Many Requests with ``Retry-After``."""
        return cls(route=route, status=429, retry_after=retry_after, times=times, **kwargs)

    @classmethod
    def server_errors(
        cls, route: str = "*", status: int = 503, times: int | None = 2, **kwargs: Any
    ) -> Fault:
        """A burst of 5xx answers."""
        return cls(route=route, status=status, times=times, **kwargs)

    @classmethod
    def slow(cls, route: str = "POST /jobs", delay: float = 1.0, times: int | None = 1) -> Fault:
        """Handle the request, then answer only after ``delay`` seconds."""
        return cls(route=route, delay=delay, handle=True, times=times)

    @classmethod
    def token_expiry(cls, route: str = "GET /jobs/{jobId}", skip: int = 1) -> Fault:
        """Expire every issued token when the ``skip + 1``-th matching request arrives."""
        return cls(route=route, skip=skip, expire_tokens=True, times=1)

    @classmethod
    def disconnects(cls, route: str = "*", times: int | None = 1, handle: bool = False) -> Fault:
        """Close the connection without answering."""
        return cls(route=route, disconnect=True, times=times, handle=handle)

    @classmethod
    def auth_failure(cls, status: int = 401, route: str = "*", times: int | None = None) -> Fault:
        """Credentials refused (401) or not allowed (403) from now on."""
        return cls(route=route, status=status, times=times)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Fault:
        """From a seed file or the control endpoint: the fields of this class."""
        return cls(**dict(data))

    def matches(self, route: str) -> bool:
        return self.route == "*" or self.route == route

    def take(self) -> bool:
        """Count a matching request; True when the fault applies to it."""
        self.seen += 1
        if self.seen <= self.skip:
            return False
        if self.times is not None and self.applied >= self.times:
            return False
        self.applied += 1
        return True

    @property
    def used_up(self) -> bool:
        return self.times is not None and self.applied >= self.times

    def to_dict(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "status": self.status,
            "retry_after": self.retry_after,
            "times": self.times,
            "skip": self.skip,
            "delay": self.delay,
            "handle": self.handle,
            "disconnect": self.disconnect,
            "expire_tokens": self.expire_tokens,
            "applied": self.applied,
        }
