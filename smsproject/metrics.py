"""``GET /metrics``: Prometheus' text format, for every process of this host, for a scraper we trust."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from common.errors import json_error
from common.metrics import PREFIX
from messaging.metrics import GatewayCollector
from messaging.services.limits import client_address
from smsproject.heartbeats import BEAT, WORKER, heartbeat_age


def metrics_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return json_error("method_not_allowed", f'Method "{request.method}" not allowed.', 405)
    if not settings.METRICS_ENABLED:
        return json_error("not_found", "Metrics are switched off (SMS_METRICS_ENABLED).", 404)
    refusal = _refusal(request)
    if refusal is not None:
        return refusal
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(GatewayCollector())
    registry.register(HeartbeatCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def _refusal(request: HttpRequest) -> HttpResponse | None:
    networks = _allowed_networks(tuple(settings.METRICS_ALLOWED_IPS))
    if networks:
        try:
            address = ipaddress.ip_address(client_address(meta=request.META))
        except ValueError:
            address = None
        if address is None or not any(address in network for network in networks):
            return json_error("permission_denied", "This address may not read the metrics.", 403)
    token = settings.METRICS_TOKEN
    if token:
        given = str(request.META.get("HTTP_AUTHORIZATION", ""))
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = json_error("not_authenticated", "A valid bearer token is required.", 401)
            response["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    return None


@cache
def _allowed_networks(entries: tuple[str, ...]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(entry, strict=False) for entry in entries]


class HeartbeatCollector(Collector):
    """Seconds since a worker and beat last beat (the same heartbeats /readyz reads); absent if never."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        age = GaugeMetricFamily(
            f"{PREFIX}_heartbeat_age_seconds",
            "Seconds since a worker or beat last beat.",
            labels=["role"],
        )
        for role in (WORKER, BEAT):
            try:
                seconds = heartbeat_age(role=role)
            except Exception:  # the cache is down: no reading, which the alert treats as missing
                seconds = None
            if seconds is not None:
                age.add_metric([role], seconds)
        yield age

    def describe(self) -> list[GaugeMetricFamily]:
        return []
