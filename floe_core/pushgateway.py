"""A small client for one Prometheus Pushgateway group: read it, replace it, delete it.

Pushgateway groups are addressed by ``job`` plus a grouping key (``/metrics/job/<job>/<k>/<v>``).
Reads go through the gateway's JSON API (``GET /api/v1/metrics``, Pushgateway >= 1.0), which
returns every group; writes use :func:`prometheus_client.push_to_gateway` (``PUT``, replacing the
whole group) and :func:`prometheus_client.delete_from_gateway`.

Every call takes a ``timeout`` in seconds and raises :class:`PushgatewayError` for any failure
(refused connection, timeout, HTTP error, unreadable answer), with a message that names the
gateway (without credentials) and what to check. Callers decide whether that is fatal;
:class:`~floe_core.metrics.IngestionMetrics` turns it into a warning.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from prometheus_client import delete_from_gateway, push_to_gateway
from prometheus_client.registry import Collector

__all__ = [
    "GatewayFamily",
    "GatewaySeries",
    "PushgatewayClient",
    "PushgatewayError",
    "safe_url",
    "validate_grouping_key",
]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class PushgatewayError(Exception):
    """The Pushgateway could not be reached or gave an answer floe cannot use."""


@dataclass(frozen=True)
class GatewaySeries:
    """One series of a family held by the gateway.

    ``labels`` are the series' own labels (the group's ``job``/grouping labels and the
    gateway's empty ``instance`` label are included as the gateway reports them). Counters and
    gauges fill ``value``; histograms fill ``buckets`` (upper bound -> cumulative count,
    ``inf`` included), ``count`` and ``sum``.
    """

    labels: Mapping[str, str]
    value: float | None = None
    buckets: Mapping[float, float] | None = None
    count: float | None = None
    sum: float | None = None


@dataclass(frozen=True)
class GatewayFamily:
    """A metric family of a group: its type (``COUNTER``, ``GAUGE``, ``HISTOGRAM``...), series."""

    type: str
    series: list[GatewaySeries] = field(default_factory=list)


def validate_grouping_key(grouping_key: Mapping[str, str]) -> dict[str, str]:
    """Check a grouping key (label names, non-empty values, no ``job``); return it as a dict."""
    checked: dict[str, str] = {}
    for name, value in grouping_key.items():
        if not isinstance(name, str) or not _LABEL_NAME.match(name) or name.startswith("__"):
            raise ValueError(
                f"grouping key label {name!r} is not a valid Prometheus label name "
                "(letters, digits and underscores, not starting with a digit or '__')"
            )
        if name == "job":
            raise ValueError("the grouping key must not contain 'job': pass job= instead")
        if not isinstance(value, str) or not value:
            raise ValueError(f"grouping key label {name!r} needs a non-empty string value")
        checked[name] = value
    return checked


class PushgatewayClient:
    """Reads and writes groups of the Pushgateway at ``url`` (``http(s)://host:port[/path]``)."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                f"Pushgateway URL {safe_url(url)!r} must look like http://host:9091 "
                "(check the metrics pushgateway_url setting)"
            )
        if parts.username is not None or parts.password is not None:
            raise ValueError(
                f"Pushgateway URL {safe_url(url)!r} carries credentials; floe does not send them "
                "(put an authenticating proxy on loopback, or expose the gateway without auth "
                "inside the cluster)"
            )
        self.url = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))

    @property
    def display_url(self) -> str:
        """The URL without any user:password part, for messages and logs."""
        return safe_url(self.url)

    def read_group(
        self, job: str, grouping_key: Mapping[str, str], *, timeout: float
    ) -> dict[str, GatewayFamily]:
        """The families of the group ``job`` + ``grouping_key``; ``{}`` if the group is absent."""
        wanted = {"job": job, **grouping_key}
        request = urllib.request.Request(
            f"{self.url}/api/v1/metrics", headers={"Accept": "application/json"}, method="GET"
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            hint = " (the JSON API needs Pushgateway >= 1.0)" if exc.code == 404 else ""
            raise PushgatewayError(
                f"reading {self.display_url}/api/v1/metrics answered HTTP {exc.code}{hint}"
            ) from None
        except (OSError, ValueError) as exc:  # URLError, timeouts and resets are OSErrors
            raise PushgatewayError(
                f"could not read {self.display_url}/api/v1/metrics: {_describe(exc)}"
            ) from None
        try:
            payload = json.loads(body)
            groups = payload["data"]
            if payload.get("status") != "success" or not isinstance(groups, list):
                raise ValueError("status is not 'success'")
            for group in groups:
                if group.get("labels") == wanted:
                    return _parse_group(group)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PushgatewayError(
                f"unexpected answer from {self.display_url}/api/v1/metrics ({_describe(exc)}); "
                "is this a Prometheus Pushgateway >= 1.0?"
            ) from None
        return {}

    def replace_group(
        self,
        job: str,
        grouping_key: Mapping[str, str],
        registry: Collector,
        *,
        timeout: float,
    ) -> None:
        """Replace the whole group with the metrics of ``registry`` (HTTP ``PUT``)."""
        try:
            push_to_gateway(
                self.url, job, registry, grouping_key=dict(grouping_key), timeout=timeout
            )
        except Exception as exc:  # the library raises OSError subclasses and bare Exceptions
            raise PushgatewayError(
                f"could not push to {self.display_url}: {_describe(exc)}"
            ) from None

    def delete_group(self, job: str, grouping_key: Mapping[str, str], *, timeout: float) -> None:
        """Delete the group (HTTP ``DELETE``); deleting a missing group is not an error."""
        try:
            delete_from_gateway(self.url, job, grouping_key=dict(grouping_key), timeout=timeout)
        except Exception as exc:
            raise PushgatewayError(
                f"could not delete a group on {self.display_url}: {_describe(exc)}"
            ) from None


def safe_url(url: str) -> str:
    """``url`` without user information, query or fragment (safe to log)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return url.split("@")[-1]
    host = parts.hostname if parts.port is None else f"{parts.hostname}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _describe(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None)
    detail = reason if reason is not None else exc
    return f"{type(exc).__name__}: {detail}" if str(detail) else type(exc).__name__


def _parse_group(group: Mapping[str, Any]) -> dict[str, GatewayFamily]:
    families: dict[str, GatewayFamily] = {}
    for name, entry in group.items():
        if not isinstance(entry, dict) or "metrics" not in entry:
            continue  # "labels", "last_push_successful"
        family = GatewayFamily(type=str(entry.get("type", "")).upper())
        for metric in entry["metrics"]:
            labels = {str(k): str(v) for k, v in metric.get("labels", {}).items()}
            if "buckets" in metric:
                family.series.append(
                    GatewaySeries(
                        labels=labels,
                        buckets={float(le): float(n) for le, n in metric["buckets"].items()},
                        count=float(metric["count"]),
                        sum=float(metric["sum"]),
                    )
                )
            elif "value" in metric:
                family.series.append(GatewaySeries(labels=labels, value=float(metric["value"])))
        families[name] = family
    return families
